"""Per-layer latency model for TFLite Micro on Cortex-M: kernel path, instructions, cycles.

Two steps, kept apart because they are checked against different measurements:

1. **Instructions.** Each layer is mapped to the kernel TFLM runs for it (`kernel_path`: the choices
   CMSIS-NN's wrappers make from the shapes, checked against the kernels the profiler saw run). A
   path's instructions are a sum of the layer's shape features (`features`: the op itself, MACs,
   output elements, output pixels, filter taps, ...) times per-path coefficients, fitted by least
   squares to executed instructions of the real kernels, counted per operator of a TFLM Invoke under
   QEMU on each core (dadarts/costmodel/data/, benchmarks/measure_op_counts.py). Every operator type
   has a path of its own, so RELU, QUANTIZE, MIRROR_PAD ... are measured like the convolutions.
2. **Cycles.** Instructions x cycles per instruction of (core, library): calibrated on published board
   latencies of the same model (data/latency_calibration.json), or assumed from a calibrated pair
   with the reason stated.

`coefficients.json` holds both, written by benchmarks/fit_cost_model.py (dadarts.costmodel.fit) from
the data files; it is never edited by hand. This module sits below the search (dadarts.costmodel
imports nothing above dadarts.frontend), so that the search, mcu-eval and export read one model.
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from functools import lru_cache
from importlib import resources

from .layer import Layer
from .targets import Target

# Kernel libraries: what the firmware links (target.kernels) combined with what the core can run.
REFERENCE = "reference"         # TFLM portable C kernels
CMSIS_DSP = "cmsis-dsp"         # CMSIS-NN with the DSP extension (SMLAD: two 16-bit MACs per instruction)
CMSIS_MVE = "cmsis-mve"         # CMSIS-NN with Helium (M55): 16 int8 lanes per vector instruction
CMSIS_SCALAR = "cmsis-scalar"   # CMSIS-NN's plain-C fallback (M0+, or an M33 built without DSP)
LIBRARY_LABELS = {REFERENCE: "TFLM reference", CMSIS_DSP: "CMSIS-NN DSP", CMSIS_MVE: "CMSIS-NN Helium",
                  CMSIS_SCALAR: "CMSIS-NN plain C"}

COEFFICIENTS_FILE = "coefficients.json"

# A path no sweep measures, costed with the coefficients of a measured path that runs the same loop:
# CMSIS-NN's depthwise_conv_s8_generic serves a channel multiplier of 2 or 3 as it serves a dilation.
PATH_STAND_IN = {"dw_generic": "dw_dilated"}

# The CMSIS-NN int8 kernel each path runs (the profiler reports these names; a test checks the match).
CMSIS_KERNELS = {
    "conv_1x1": "arm_convolve_1x1_s8_fast", "conv_1x1_strided": "arm_convolve_1x1_s8",
    "conv_1xn": "arm_convolve_1_x_n_s8", "conv": "arm_convolve_s8",
    "dw_3x3": "arm_depthwise_conv_3x3_s8", "dw_opt": "arm_depthwise_conv_s8_opt", "dw_generic": "arm_depthwise_conv_s8",
    "dw_dilated": "arm_depthwise_conv_s8", "dw_mult4": "arm_depthwise_conv_s8",
    "fc": "arm_fully_connected_s8",
}


@lru_cache(maxsize=1)
def coefficients() -> dict:
    return json.loads(resources.files(__package__).joinpath(COEFFICIENTS_FILE).read_text())


def _valid_taps(size: int, out: int, kernel: int, stride: int, dilation: int, pad: int) -> int:
    """Filter taps that land inside the input on one axis, summed over the output positions."""
    return sum(0 <= o * stride - pad + k * dilation < size for o in range(out) for k in range(kernel))


def valid_taps(layer: Layer) -> tuple[float, float]:
    """(output pixels x filter taps inside the input, output pixels x filter rows inside the input):
    a 'same' border skips the taps and rows that fall in the padding."""
    if len(layer.input_shape) != 4 or len(layer.output_shape) != 4 or len(layer.kernel) != 2:
        return 0.0, 0.0
    stride = layer.stride or [1, 1]
    dilation = layer.dilation or [1, 1]
    axes = []
    for axis in (0, 1):
        size, out = layer.input_shape[1 + axis], layer.output_shape[1 + axis]
        k, st, d = layer.kernel[axis], stride[axis], dilation[axis]
        pad = _same_pad(size, k, st, d) if layer.padding == "same" else 0
        axes.append(_valid_taps(size, out, k, st, d, pad))
    return float(axes[0] * axes[1]), float(axes[0] * layer.output_shape[2])


def features(layer: Layer) -> dict[str, float]:
    """The shape quantities the instruction models are linear in.

    op: 1 per operator (TFLM dispatch, tensor look-ups, kernel set-up); mac: multiply-accumulates;
    vmac: the MACs of taps inside the input (kernels that skip a 'same' border's padding); out / in:
    output / first-input elements; weights: filter weights (MACs per output pixel: a pass over every
    weight once per operator); px: output pixels (out / output channels); tap, vtap: output pixels
    x filter taps, all or inside the input (im2col copies, per-tap calls, bounds checks); vrow: output
    elements x filter rows inside the input (a kernel's row loop); tap_oc: tap x
    output channels (the reference convolution's per-tap check for every output channel); vwin:
    output channels x window elements inside the input (pooling); copies: output pixels x inputs (one
    copy per pixel and input of a concatenation). Helium (M55) works on vectors of 16 int8 lanes and
    CMSIS-NN's depthwise 'opt' kernel on blocks of 124 channels: vwin16 and px16 count window
    elements and pixels per 16 channels, tap124 taps per block of 124 channels.

    copies of a concatenation whose axis is known: one copy per input and index before the axis (TFLM
    copies each input's block below the axis in one go): output pixels x inputs along channels, only
    the inputs' count along time (a streaming step's buffer). Without the axis: as along channels.
    """
    kh, kw = (layer.kernel + [1, 1])[:2] if layer.kernel else (1, 1)
    channels = layer.out_ch or (layer.output_shape[-1] if layer.output_shape else 1) or 1
    px = layer.out_elems / channels
    vtap, vrow = valid_taps(layer)
    per_tap_macs = layer.macs / (px * kh * kw) if px else 0.0     # in_ch x out_ch (conv), out_ch (depthwise)
    return {"op": 1.0, "mac": float(layer.macs), "vmac": vtap * per_tap_macs, "out": float(layer.out_elems),
            "in": float(layer.in_elems), "px": px, "tap": px * kh * kw, "vtap": vtap, "tap_oc": px * kh * kw * channels,
            "weights": per_tap_macs * kh * kw, "vrow": vrow * channels, "vwin": vtap * channels,
            "copies": _concat_copies(layer, px), "vwin16": vtap * math.ceil(channels / 16),
            "px16": px * math.ceil(channels / 16), "tap124": px * kh * kw * math.ceil(channels / 124)}


def _concat_copies(layer: Layer, px: float) -> float:
    if layer.axis is None or not layer.n_inputs or len(layer.output_shape) < 2:
        return px * layer.out_elems / max(layer.in_elems, 1)
    outer = 1
    for d in layer.output_shape[:layer.axis]:
        outer *= int(d)
    return float(outer * layer.n_inputs)


def _same_pad(size: int, kernel: int, stride: int, dilation: int) -> int:
    """Padding before the data on one axis of a TFLite 'same' operator (TFLM's ComputePaddingHeightWidth)."""
    out = -(-size // stride)
    span = (kernel - 1) * dilation + 1
    return max((out - 1) * stride + span - size, 0) // 2


def kernel_path(layer: Layer, library: str) -> str:
    """The kernel TFLM runs for this layer with this library (CMSIS-NN's wrapper rules, this commit)."""
    op = layer.op
    if op in ("FULLY_CONNECTED", "BATCH_MATMUL"):
        return "fc"
    if op not in ("CONV_2D", "DEPTHWISE_CONV_2D"):
        return op.lower()
    if library == REFERENCE:
        return "conv" if op == "CONV_2D" else "dw"
    kernel = layer.kernel or [1, 1]
    stride = layer.stride or [1, 1]
    dilation = layer.dilation or [1, 1]
    h, w = (layer.input_shape[1:3] + [1, 1])[:2] if len(layer.input_shape) == 4 else (1, 1)
    pads = [_same_pad(s, k, st, d) if layer.padding == "same" else 0
            for s, k, st, d in zip((h, w), kernel, stride, dilation)]
    if op == "DEPTHWISE_CONV_2D":
        if library == CMSIS_MVE and layer.in_ch == 1 and layer.out_ch > 1:
            return "conv"       # arm_depthwise_conv_to_conv_s8: Helium runs it as a convolution
        if dilation != [1, 1]:
            return "dw_dilated"     # arm_depthwise_conv_s8's generic loop, bounds by division
        if layer.multiplier % 4 == 0:
            return "dw_mult4"       # arm_depthwise_conv_s8's multiplier-of-4 loop
        if layer.multiplier != 1:
            return "dw_generic"
        if kernel == [3, 3] and max(pads) <= 1 and library != CMSIS_MVE:
            return "dw_3x3"
        return "dw_opt"
    if kernel == [1, 1] and max(pads) == 0 and dilation == [1, 1]:
        return "conv_1x1" if stride == [1, 1] else "conv_1x1_strided"
    if h == 1 and kernel[0] == 1 and dilation[1] == 1 and (stride[1] * layer.in_ch) % 4 == 0:
        return "conv_1xn"
    return "conv"


def instruction_table(core: str | None, library: str) -> tuple[str, dict]:
    """(key, {path: {feature: coefficient}}) measured for (core, library); for a pair not measured, the
    library's stand-in named in coefficients.json 'stand_in' (e.g. CMSIS-NN plain C on the M0+: the
    M4F's CMSIS-NN counts, its extra instructions left to the assumed cycles per instruction)."""
    table = coefficients()["instructions"]
    key = f"{core}/{library}"
    if key not in table:
        key = coefficients()["stand_in"][library]
    return key, table[key]


def layer_instructions(layer: Layer, library: str, core: str | None = None) -> tuple[str, float, bool]:
    """(path, instructions, modelled) for one layer on `core` (default: the library's stand-in).

    modelled is False for an operator no measurement covers: it is costed as a generic elementwise op
    (coefficients 'unmodelled') and flagged in the output.
    """
    path = kernel_path(layer, library)
    _, table = instruction_table(core, library)
    model = table.get(path, table.get(PATH_STAND_IN.get(path, "")))
    modelled = model is not None
    if model is None:
        model = coefficients()["unmodelled"]
    f = features(layer)
    return path, sum(c * f[name] for name, c in model.items()), modelled


def library_for(target: Target) -> str:
    if target.kernels == "reference":
        return REFERENCE
    if target.mve:
        return CMSIS_MVE
    return CMSIS_DSP if target.dsp else CMSIS_SCALAR


def cycles_per_instr(core: str, library: str) -> tuple[float, str]:
    """(factor, provenance) for a core and kernel library: calibrated, or assumed with the reason."""
    calibrated = coefficients()["cycles_per_instruction"]
    key = f"{core}/{library}"
    if key in calibrated:
        return calibrated[key]["value"], "calibrated: " + calibrated[key]["provenance"]
    assumed = coefficients()["assumed_cycles_per_instruction"]
    if key in assumed:
        a = assumed[key]
        return calibrated[a["from"]]["value"] * a["ratio"], f"assumed: {a['why']}"
    # A core/library pair nobody thought of: this core's CMSIS-NN factor, else the M4F's.
    for fallback in (f"{core}/{CMSIS_DSP}", f"M4F/{CMSIS_DSP}"):
        if fallback in calibrated:
            return calibrated[fallback]["value"], f"assumed: as {fallback} (no figure for {key})"
    raise KeyError(key)


def plain_c_cycles_per_instr(core: str) -> float:
    """Cycles per instruction for scalar C of our own build on `core` (the front-end)."""
    library = CMSIS_MVE if core == "M55" else (CMSIS_SCALAR if core == "M0+" else CMSIS_DSP)
    return cycles_per_instr(core, library)[0]


@dataclass
class LayerCost:
    index: int
    op: str
    path: str
    macs: int
    instructions: float
    cycles: float
    ms: float
    modelled: bool = True

    def to_dict(self) -> dict:
        return asdict(self)


def estimate_layers(layers: list[Layer], target: Target) -> list[LayerCost]:
    library = library_for(target)
    cpi, _ = cycles_per_instr(target.core, library)
    out = []
    for layer in layers:
        path, instr, modelled = layer_instructions(layer, library, target.core)
        cycles = instr * cpi
        out.append(LayerCost(index=layer.index, op=layer.op, path=path, macs=layer.macs, instructions=instr,
                             cycles=cycles, ms=cycles / (target.clock_mhz * 1e3), modelled=modelled))
    return out


def model_instructions(layers: list[Layer], library: str, core: str | None = None) -> float:
    return sum(layer_instructions(layer, library, core)[1] for layer in layers)
