"""Per-layer latency model for TFLite Micro on Cortex-M: kernel path, instructions, cycles.

Two steps, kept apart because they are checked against different measurements:

1. **Instructions.** Each layer is mapped to the kernel TFLM will run on the target (CMSIS-NN picks
   its path from the shapes: a 1x1 convolution with input channels a multiple of 4 takes the fast
   matrix-multiply path, a 3x3 depthwise convolution with channel multiplier 1 the 3x3 kernel, other
   multiplier-1 depthwise the "opt" kernel, any other multiplier a generic loop). The kernel's work
   is `overhead + MACs x mac + outputs x out + pixels x px + taps x tap` in instructions (PathCost),
   with coefficients fitted to executed instructions of the real kernels under emulation
   (`coefficients.json`, regenerated from the measurements in `data/`).
2. **Cycles.** Instructions x CYCLES_PER_INSTR[(core, library)]. This factor absorbs pipeline, flash
   wait states, caches and the kernel version of the published build; it is calibrated on published
   board latencies (unit "ms") and documented, with its source, in docs/mcu_eval.md.

This module sits below the search (dadarts.costmodel imports nothing above dadarts.frontend), so that
the search, mcu-eval and export read one cost model.
"""
from __future__ import annotations

import json
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

@dataclass(frozen=True)
class PathCost:
    """Instruction equivalents of one kernel path, per unit of work."""
    mac: float            # per multiply-accumulate
    out: float            # per output element: requantisation (fixed-point multiply, shift, clamp, store)
    px: float = 0.0       # per output pixel: pointer setup, padding checks of a depthwise pass
    tap: float = 0.0      # per output pixel x filter tap: im2col copy of one tap
    tap_oc: float = 0.0   # per output pixel x output channel x filter tap: reference bounds checks


# The coefficients are data: coefficients.json beside this file, written by
# benchmarks/fit_cost_model.py from the measured counts in data/ (docs/mcu_eval.md says how).
COEFFICIENTS_FILE = "coefficients.json"


@lru_cache(maxsize=1)
def coefficients() -> dict:
    return json.loads(resources.files(__package__).joinpath(COEFFICIENTS_FILE).read_text())


def _mac_paths() -> dict[str, dict[str, PathCost]]:
    return {lib: {path: PathCost(**c) for path, c in table.items()}
            for lib, table in coefficients()["mac_paths"].items()}


def _pair(key: str) -> tuple[str, str]:
    core, library = key.split("/")
    return core, library


MAC_PATHS: dict[str, dict[str, PathCost]] = _mac_paths()
# TFLM per-op dispatch, tensor lookups and kernel parameter setup.
OP_OVERHEAD: dict[str, float] = coefficients()["op_overhead"]
# Ops without MACs: (per input element, per output element, per pooling-window element).
ELEMENTWISE: dict[str, tuple[float, float, float]] = {op: tuple(v) for op, v in coefficients()["elementwise"].items()}
UNMODELLED_PER_OUT: float = coefficients()["unmodelled_per_out"]     # an op the table does not know: flagged
REFERENCE_ELEMENTWISE_FACTOR: float = coefficients()["reference_elementwise_factor"]
# Cycles per instruction equivalent, by (core, library): "calibrated" entries come from published board
# latencies; ASSUMED_FROM derives the others from a calibrated one, with the reason.
CYCLES_PER_INSTR: dict[tuple[str, str], float] = {
    _pair(k): v["value"] for k, v in coefficients()["cycles_per_instruction"].items()}
ASSUMED_FROM: dict[tuple[str, str], tuple[tuple[str, str], float, str]] = {
    _pair(k): (_pair(v["from"]), v["ratio"], v["why"]) for k, v in coefficients()["assumed_cycles_per_instruction"].items()}


def plain_c_cycles_per_instr(core: str) -> float:
    """Cycles per instruction for scalar C of our own build on `core` (the front-end)."""
    library = CMSIS_MVE if core == "M55" else (CMSIS_SCALAR if core == "M0+" else CMSIS_DSP)
    return cycles_per_instr(core, library)[0]


def library_for(target: Target) -> str:
    if target.kernels == "reference":
        return REFERENCE
    if target.mve:
        return CMSIS_MVE
    return CMSIS_DSP if target.dsp else CMSIS_SCALAR


def cycles_per_instr(core: str, library: str) -> tuple[float, str]:
    """(factor, provenance) for a core and kernel library."""
    if (core, library) in CYCLES_PER_INSTR:
        return CYCLES_PER_INSTR[(core, library)], "calibrated"
    if (core, library) in ASSUMED_FROM:
        base, ratio, why = ASSUMED_FROM[(core, library)]
        return CYCLES_PER_INSTR[base] * ratio, f"assumed: {why}"
    # A DSP-capable core asked for the scalar library, or similar: fall back on its reference factor.
    return cycles_per_instr(core, REFERENCE)[0], "assumed: as this core's reference kernels"


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


def kernel_path(layer: Layer, library: str) -> str:
    """The kernel family TFLM runs for this layer with this library (see module doc)."""
    op = layer.op
    if op == "CONV_2D":
        one_by_one = layer.kernel == [1, 1] and layer.stride in ([1, 1], []) and layer.in_ch % 4 == 0
        return "conv_1x1" if one_by_one else "conv"
    if op == "DEPTHWISE_CONV_2D":
        if library == REFERENCE:
            return "dw"
        if layer.multiplier != 1 or any(d != 1 for d in layer.dilation):
            return "dw_generic"
        # 'same' 3x3 has padding 1, which arm_depthwise_conv_3x3_s8 requires.
        return "dw_3x3" if layer.kernel == [3, 3] and library != CMSIS_MVE else "dw_opt"
    if op == "FULLY_CONNECTED" or op == "BATCH_MATMUL":
        return "fc"
    return op.lower()


def layer_instructions(layer: Layer, library: str) -> tuple[str, float, bool]:
    """(path, instruction equivalents, modelled) for one layer."""
    path = kernel_path(layer, library)
    instr = OP_OVERHEAD[library]
    table = MAC_PATHS[library]
    if path in table:
        c = table[path]
        out_px = layer.out_elems // max(layer.out_ch, 1)
        taps = out_px * (layer.kernel[0] * layer.kernel[1] if len(layer.kernel) == 2 else 1)
        instr += (layer.macs * c.mac + layer.out_elems * c.out + out_px * c.px + taps * c.tap
                  + taps * layer.out_ch * c.tap_oc)
        return path, instr, True
    per_in, per_out, per_win = ELEMENTWISE.get(layer.op, (0.0, UNMODELLED_PER_OUT, 0.0))
    window = layer.kernel[0] * layer.kernel[1] if len(layer.kernel) == 2 else 0
    work = layer.in_elems * per_in + layer.out_elems * per_out + layer.out_elems * window * per_win
    if library == REFERENCE:
        work *= REFERENCE_ELEMENTWISE_FACTOR
    return path, instr + work, layer.op in ELEMENTWISE


def estimate_layers(layers: list[Layer], target: Target) -> list[LayerCost]:
    library = library_for(target)
    cpi, _ = cycles_per_instr(target.core, library)
    out = []
    for layer in layers:
        path, instr, modelled = layer_instructions(layer, library)
        cycles = instr * cpi
        out.append(LayerCost(index=layer.index, op=layer.op, path=path, macs=layer.macs, instructions=instr,
                             cycles=cycles, ms=cycles / (target.clock_mhz * 1e3), modelled=modelled))
    return out


def model_instructions(layers: list[Layer], library: str) -> float:
    return sum(layer_instructions(layer, library)[1] for layer in layers)
