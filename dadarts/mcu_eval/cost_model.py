"""Per-layer latency model for TFLite Micro on Cortex-M: kernel path, instructions, cycles.

Two steps, kept apart because they are checked against different measurements:

1. **Instructions.** Each layer is mapped to the kernel TFLM will run on the target (CMSIS-NN picks
   its path from the shapes: a 1x1 convolution with input channels a multiple of 4 takes the fast
   matrix-multiply path, a 3x3 depthwise convolution with channel multiplier 1 the 3x3 kernel, other
   multiplier-1 depthwise the "opt" kernel, any other multiplier a generic loop). The kernel's work
   is `overhead + MACs x mac + outputs x out + pixels x px + taps x tap` in instructions (PathCost),
   with CMSIS-NN coefficients fitted to executed instructions of the real kernels on an emulated
   Cortex-M4 (`calibration.json` "kernels", with held-out calls) and whole-model emulated counts
   (unit "instructions").
2. **Cycles.** Instructions x CYCLES_PER_INSTR[(core, library)]. This factor absorbs pipeline, flash
   wait states, caches and the kernel version of the published build; it is calibrated on published
   board latencies (unit "ms") and documented, with its source, in docs/mcu_eval.md.

`benchmarks/bench_mcu_eval.py` recomputes the calibration and reports the error on held-out points.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

from .graph import Layer
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


# Every row is fitted to executed instructions under QEMU: TFLM's reference kernels as each op of a
# whole TFLM Invoke (tflite-micro library built like the firmware's) and CMSIS-NN (99f736a6) kernel
# calls on Cortex-M4 (mps2-an386) with and without the DSP extension, CMSIS-NN with MVE on Cortex-M55
# (mps3-an547). calibration.json "kernels" holds the measurements; docs/mcu_eval.md says how.
MAC_PATHS: dict[str, dict[str, PathCost]] = {
    REFERENCE: {                          # per-op counts of TFLM Invoke (reference kernels, -O2 -DNDEBUG, M4)
        "conv": PathCost(7.18, 25.0, tap_oc=36.5),      # Offset() arithmetic per MAC, bounds check per tap
        "conv_1x1": PathCost(7.18, 25.0, tap_oc=36.5),  # no special case in the reference kernels
        "dw": PathCost(27.0, 136.0),
        "fc": PathCost(6.0, 43.0),
    },
    CMSIS_DSP: {
        "conv": PathCost(1.93, 42.1, tap=32.2),         # im2col to q15 + 2x2 SMLAD mat-mult kernel
        "conv_1x1": PathCost(1.53, 35.6),               # arm_convolve_1x1_s8_fast (in_ch % 4 == 0)
        "dw_3x3": PathCost(5.43, 20.0, px=150.0),       # arm_depthwise_conv_3x3_s8
        "dw_opt": PathCost(8.3, 20.0, px=150.0),        # arm_depthwise_conv_s8_opt (multiplier 1)
        "dw_generic": PathCost(1.66, 238.0),            # arm_depthwise_conv_s8 (multiplier != 1): per-output setup
        "fc": PathCost(1.85, 35.0),
    },
    CMSIS_MVE: {                                        # fitted on QEMU mps3-an547 (Cortex-M55 + MVE)
        "conv": PathCost(0.207, 14.9, tap=24.0),
        "conv_1x1": PathCost(0.181, 13.8),
        "dw_3x3": PathCost(1.08, 12.0, px=141.0),       # MVE builds take the opt kernel for 3x3 too
        "dw_opt": PathCost(1.08, 12.0, px=141.0),
        "dw_generic": PathCost(0.0, 251.0),             # per-output cost dominates, whatever the filter
        "fc": PathCost(0.473, 35.0),
    },
    CMSIS_SCALAR: {                                     # measured with the DSP extension compiled out
        "conv": PathCost(3.03, 32.6, tap=28.5),
        "conv_1x1": PathCost(2.58, 34.1),
        "dw_3x3": PathCost(6.78, 20.0, px=108.0),
        "dw_opt": PathCost(17.0, 20.0, px=108.0),
        "dw_generic": PathCost(1.66, 238.0),
        "fc": PathCost(4.02, 35.0),
    },
}
# TFLM per-op dispatch, tensor lookups and kernel parameter setup.
OP_OVERHEAD = {REFERENCE: 600.0, CMSIS_DSP: 800.0, CMSIS_MVE: 800.0, CMSIS_SCALAR: 800.0}

# Ops without MACs: (per input element, per output element, per pooling-window element). Estimates
# from the kernels' loops, not measured: these ops are a few per cent of a KWS network's time.
ELEMENTWISE: dict[str, tuple[float, float, float]] = {
    "AVERAGE_POOL_2D": (0.0, 15.0, 4.0),        # reference: measured in TFLM Invoke
    "MAX_POOL_2D": (0.0, 10.0, 4.0),
    "MEAN": (3.0, 30.0, 0.0),
    "ADD": (0.0, 18.0, 0.0), "SUB": (0.0, 18.0, 0.0), "MUL": (0.0, 14.0, 0.0),
    "SOFTMAX": (0.0, 200.0, 0.0),               # reference: measured (exp and division per element)
    "RESHAPE": (0.0, 0.2, 0.0), "SQUEEZE": (0.0, 0.2, 0.0), "EXPAND_DIMS": (0.0, 0.2, 0.0),
    "QUANTIZE": (0.0, 15.0, 0.0), "DEQUANTIZE": (0.0, 15.0, 0.0),
    "PAD": (0.0, 4.0, 0.0), "MIRROR_PAD": (0.0, 8.0, 0.0), "CONCATENATION": (0.0, 2.0, 0.0),
    "TRANSPOSE": (0.0, 8.0, 0.0),
    "STRIDED_SLICE": (0.0, 4.0, 0.0), "SLICE": (0.0, 3.0, 0.0), "SHAPE": (0.0, 1.0, 0.0),
    "PACK": (0.0, 2.0, 0.0), "UNPACK": (0.0, 2.0, 0.0), "SPLIT": (0.0, 2.0, 0.0), "SPLIT_V": (0.0, 2.0, 0.0),
    "MAXIMUM": (0.0, 6.0, 0.0), "MINIMUM": (0.0, 6.0, 0.0), "SUM": (3.0, 30.0, 0.0), "REDUCE_MAX": (3.0, 10.0, 0.0),
    "SPACE_TO_BATCH_ND": (0.0, 4.0, 0.0), "BATCH_TO_SPACE_ND": (0.0, 4.0, 0.0),
    "RELU": (0.0, 4.0, 0.0), "RELU6": (0.0, 4.0, 0.0), "LEAKY_RELU": (0.0, 12.0, 0.0),
    "HARD_SWISH": (0.0, 20.0, 0.0), "LOGISTIC": (0.0, 30.0, 0.0), "TANH": (0.0, 30.0, 0.0),
}
UNMODELLED_PER_OUT = 10.0       # an op this table does not know: a guess, flagged in the output
REFERENCE_ELEMENTWISE_FACTOR = 2.0   # reference kernels: no SIMD, 64-bit requantisation

# Cycles per instruction equivalent, by (core, library). "calibrated" entries are fitted by
# benchmarks/bench_mcu_eval.py on the named calibration.json points; the others are assumptions
# stated in docs/mcu_eval.md (no published TFLM figure for that core was found).
CYCLES_PER_INSTR: dict[tuple[str, str], float] = {
    ("M4F", REFERENCE): 0.507,       # calibrated: mlperf-v0.5-L4R5ZI-ref (effective, see docs)
    ("M4F", CMSIS_DSP): 1.555,       # calibrated: mlperf-v1.0-L4R5ZI-microtvm-cmsis
    ("M7", REFERENCE): 0.291,        # calibrated: micronets-F746ZG-ds-cnn-s (reference-speed TFLM, see docs)
}
# Assumed (core, library) pairs, as a ratio to a calibrated one, with the reason. Plain-C code of
# our own builds (CMSIS-NN without DSP, the front-end) is scaled from the CMSIS-NN factor, the one
# calibrated on instruction counts of kernels built like ours; the reference factors are effective
# values of 2020 builds that ran fewer instructions than today's reference kernels.
ASSUMED_FROM: dict[tuple[str, str], tuple[tuple[str, str], float, str]] = {
    ("M7", CMSIS_DSP): (("M4F", CMSIS_DSP), 0.291 / 0.507, "M4F CMSIS-NN x the M7/M4F ratio measured with reference kernels"),
    ("M7", CMSIS_SCALAR): (("M4F", CMSIS_DSP), 0.291 / 0.507, "as M7 CMSIS-NN"),
    ("M4F", CMSIS_SCALAR): (("M4F", CMSIS_DSP), 1.0, "as M4F CMSIS-NN"),
    ("M33", CMSIS_DSP): (("M4F", CMSIS_DSP), 1.0, "3-stage pipeline and DSP extension like the M4"),
    ("M33", CMSIS_SCALAR): (("M4F", CMSIS_DSP), 1.0, "3-stage pipeline like the M4"),
    ("M33", REFERENCE): (("M4F", REFERENCE), 1.0, "3-stage pipeline like the M4"),
    ("M0+", CMSIS_SCALAR): (("M4F", CMSIS_DSP), 1.3, "Thumb-1 (no MLA, 8 low registers) runs more "
                                                    "instructions than the Thumb-2 counts measured on M4"),
    ("M0+", REFERENCE): (("M4F", REFERENCE), 1.3, "as the M0+ plain-C CMSIS-NN"),
    ("M55", CMSIS_MVE): (("M4F", CMSIS_DSP), 1.0, "no published M55 latency found; as M4F CMSIS-NN"),
    ("M55", REFERENCE): (("M4F", REFERENCE), 1.0, "no published M55 latency found; as M4F reference"),
}


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
