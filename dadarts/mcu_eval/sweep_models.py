"""Int8 TFLite models of single operators, built straight from the flatbuffer schema (no TensorFlow).

The cost model's per-operator coefficients are fitted to instruction counts of real TFLM kernels
(benchmarks/measure_op_counts.py). To cover what the searches can produce, the measured operators
must span the shapes a searched network has: 8-64 channels, 3x3 and 5x5 depthwise kernels (dilated
in the darts space), 1x1 convolutions from concatenations of up to 4C channels, strided stems and
reductions, pools, and the elementwise ops around them, on every map size of the data space
(T = 157/97/79/49 frames and their halvings, F = 80/40/20/10 coefficients and their halvings).

An `OpSpec` names one operator and its shapes; `sweep_specs()` is the fixed, ordered sweep (ids are
stable: data/heldout_models.json freezes the held-out ones by id); `build_model(specs)` packs
several independent operators into one model, each reading its own model input and writing its own
model output, so one emulator run measures many of them. Instruction counts of these kernels do not
depend on the weight values or the quantisation parameters as long as TFLM accepts them, so
weights are seeded random int8 and the scales are fixed, representable values.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

# Map sizes (H = frames, W = coefficients) of the data space and its halvings (stems, reductions).
MAPS = [(157, 80), (97, 40), (79, 40), (49, 40), (78, 40), (48, 20), (39, 20), (24, 10), (12, 5),
        (49, 10), (25, 5), (19, 10), (9, 5), (157, 20), (97, 10), (6, 3)]
CHANNELS = [8, 16, 24, 32, 48, 64]
# Maps of the later cells, where the channel count has doubled once or twice.
SMALL_MAPS = [(24, 10), (12, 5), (19, 10), (9, 5), (6, 3), (25, 5), (39, 20), (48, 20)]
# Streaming time buffers: (state frames, new frames, width, channels), from a stem's input (1 channel,
# 9 kept frames) to late blocks (2-8 frames of a narrow map) at 1 to 10 new frames per step.
STREAM_BUFFERS = [(9, 5, 40, 1), (8, 10, 40, 1), (3, 5, 10, 1), (4, 2, 20, 16), (2, 5, 20, 24), (2, 3, 10, 32),
                  (4, 5, 5, 64), (8, 1, 10, 48), (2, 1, 5, 64), (6, 3, 10, 16), (2, 2, 40, 8), (4, 10, 20, 32),
                  (16, 5, 5, 48), (24, 3, 10, 64), (12, 2, 3, 96), (2, 5, 80, 8)]
# Largest activation tensor a sweep operator may have (its input and output live in the arena).
MAX_TENSOR_BYTES = 640 * 1024


@dataclass(frozen=True)
class OpSpec:
    """One operator with its shapes. `hw` and `c_in` give the (first) input (1, H, W, C)."""
    op: str                          # TFLite builtin name
    hw: tuple[int, int]
    c_in: int
    c_out: int = 0                   # CONV_2D / FULLY_CONNECTED output channels
    kernel: tuple[int, int] = (1, 1)
    stride: tuple[int, int] = (1, 1)
    dilation: int = 1
    padding: str = "same"            # "same" / "valid"
    inputs: int = 1                  # ADD: 2, CONCATENATION: n
    extra: tuple = field(default_factory=tuple)   # op-specific: MIRROR_PAD/PAD amounts
    time: int = 0                    # a streaming step's time buffer (> 0): CONCATENATION of the (1, H, W, C)
                                     # state and `time` new frames along time; STRIDED_SLICE of the last `time` frames

    @property
    def id(self) -> str:
        parts = [self.op.lower(), f"{self.hw[0]}x{self.hw[1]}x{self.c_in}"]
        if self.c_out:
            parts.append(f"o{self.c_out}")
        if self.kernel != (1, 1):
            parts.append(f"k{self.kernel[0]}x{self.kernel[1]}")
        if self.stride != (1, 1):
            parts.append(f"s{self.stride[0]}")
        if self.dilation != 1:
            parts.append(f"d{self.dilation}")
        if self.op in ("CONV_2D", "DEPTHWISE_CONV_2D", "AVERAGE_POOL_2D", "MAX_POOL_2D") and self.padding == "valid":
            parts.append("valid")
        if self.inputs != 1:
            parts.append(f"n{self.inputs}")
        if self.time:
            parts.append(f"t{self.time}")
        return "-".join(parts)

    def output_hw(self) -> tuple[int, int]:
        if self.op in ("MIRROR_PAD", "PAD"):
            p = self.extra[0] if self.extra else 1
            return self.hw[0] + 2 * p, self.hw[1] + 2 * p
        if self.op == "STRIDED_SLICE":   # the last row and column cut off, or the last `time` rows kept
            return (self.time, self.hw[1]) if self.time else (self.hw[0] - 1, self.hw[1] - 1)
        if self.op == "CONCATENATION" and self.time:
            return self.hw[0] + self.time, self.hw[1]
        if self.op in ("CONV_2D", "DEPTHWISE_CONV_2D", "AVERAGE_POOL_2D", "MAX_POOL_2D"):
            out = []
            for size, k, s in zip(self.hw, self.kernel, self.stride):
                span = (k - 1) * self.dilation + 1
                out.append(-(-size // s) if self.padding == "same" else (size - span) // s + 1)
            return out[0], out[1]
        return self.hw

    def output_channels(self) -> int:
        if self.op in ("CONV_2D", "FULLY_CONNECTED"):
            return self.c_out
        if self.op == "CONCATENATION" and not self.time:
            return self.c_in * self.inputs
        return self.c_in

    def activation_bytes(self) -> int:
        h, w = self.output_hw()
        return max(self.hw[0] * self.hw[1] * self.c_in * self.inputs, h * w * self.output_channels())

    def to_dict(self) -> dict:
        return {**asdict(self), "id": self.id}


def _spread(items: list, i: int, n: int) -> list:
    """n items of `items` starting at a position that moves with i, so that a family walks every map."""
    return [items[(i * n + j) % len(items)] for j in range(n)]


def sweep_specs() -> list[OpSpec]:
    """The fixed sweep, in a stable order (ids are unique)."""
    specs: list[OpSpec] = []
    maps = MAPS
    # Depthwise: the DS-CNN/mcu blocks (3x3, 5x5), the darts space's dilated and strided variants.
    # Wider layers of later cells (96-256 channels) on the maps they reach. A dilated conv that export
    # makes dense becomes a 5x5 or 9x9 kernel (stride 2 at a reduction).
    dw_kinds = [((3, 3), 1, (1, 1)), ((5, 5), 1, (1, 1)), ((3, 3), 2, (1, 1)), ((5, 5), 2, (1, 1)),
                ((3, 3), 1, (2, 2)), ((5, 5), 1, (2, 2))]
    i = 0
    for kernel, dil, stride in dw_kinds:
        for c in CHANNELS:
            for hw in _spread(maps, i, 3):
                specs.append(OpSpec("DEPTHWISE_CONV_2D", hw, c, kernel=kernel, stride=stride, dilation=dil))
            i += 1
        for c in (96, 128, 256):
            for hw in _spread(SMALL_MAPS, i, 2):
                specs.append(OpSpec("DEPTHWISE_CONV_2D", hw, c, kernel=kernel, stride=stride, dilation=dil))
            i += 1
    for stride in ((1, 1), (2, 2)):
        for c in (8, 16, 32, 64):
            for hw in _spread(maps, i, 2):
                specs.append(OpSpec("DEPTHWISE_CONV_2D", hw, c, kernel=(9, 9), stride=stride))
            i += 1
    # 1x1 convolutions: cell preprocessing (from a concat of 2C..4C channels), the pointwise half of a
    # separable conv, conv_1x1 ops.
    i = 0
    for c_in in [8, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512]:
        for c_out in [8, 16, 32, 64]:
            for hw in _spread(maps if c_in <= 256 else SMALL_MAPS, i, 2):
                specs.append(OpSpec("CONV_2D", hw, c_in, c_out=c_out))
            i += 1
    # Reductions: 2x2 and 4x4 'valid' convs with stride = kernel (mcu space, darts' FactorizedReduce).
    i = 0
    for k, c_ins in ((2, [8, 16, 24, 32, 48, 64, 96, 128, 192]), (4, [8, 16, 32, 64, 128])):
        for c_in in c_ins:
            for c_out in ([16, 32, 64] if k == 2 else [16, 64]):
                hw = maps[i % len(maps)]
                specs.append(OpSpec("CONV_2D", hw, c_in, c_out=c_out, kernel=(k, k), stride=(k, k), padding="valid"))
                i += 1
    # Stems on the MFCC input (1 channel): mcu's 3x3 stride-2 'valid', darts' 3x3 stride-1 'same'.
    stem_maps = [(157, 80), (97, 40), (79, 40), (49, 40), (49, 10), (157, 20), (97, 10), (79, 20)]
    for j, c_out in enumerate([16, 32, 48, 64, 96, 128]):
        for hw in _spread(stem_maps, j, 3):
            specs.append(OpSpec("CONV_2D", hw, 1, c_out=c_out, kernel=(3, 3), stride=(2, 2), padding="valid"))
    for j, c_out in enumerate([24, 48, 96]):
        for hw in _spread(stem_maps, j, 3):
            specs.append(OpSpec("CONV_2D", hw, 1, c_out=c_out, kernel=(3, 3)))
    # Ordinary kxk convolutions (foreign models): 3x3 same, a few widths.
    for j, c in enumerate([8, 16, 32, 64]):
        for hw in _spread([(24, 10), (12, 5), (48, 20), (39, 20)], j, 2):
            specs.append(OpSpec("CONV_2D", hw, c, c_out=c, kernel=(3, 3)))
    # Pools: 3x3 'same' at stride 1 (cells) and 2 (darts reductions).
    i = 0
    for op in ("AVERAGE_POOL_2D", "MAX_POOL_2D"):
        for stride in ((1, 1), (2, 2)):
            for c in CHANNELS:
                for hw in _spread(maps, i, 2):
                    specs.append(OpSpec(op, hw, c, kernel=(3, 3), stride=stride))
                i += 1
    # Elementwise and data movement around the cells.
    i = 0
    for op in ("ADD", "RELU", "QUANTIZE", "MIRROR_PAD", "PAD", "MEAN"):
        for c in CHANNELS:
            for hw in _spread(maps, i, 2):
                specs.append(OpSpec(op, hw, c, inputs=2 if op == "ADD" else 1,
                                    extra=(1,) if op in ("MIRROR_PAD", "PAD") else ()))
            i += 1
    for n in (2, 3, 4):
        for c in CHANNELS:
            hw = maps[i % len(maps)]
            specs.append(OpSpec("CONCATENATION", hw, c, inputs=n))
            i += 1
    # Classifier: FULLY_CONNECTED from the pooled features, SOFTMAX over the classes.
    for depth in (16, 32, 64, 128, 256, 512):
        for units in (3, 12, 35):
            specs.append(OpSpec("FULLY_CONNECTED", (1, 1), depth, c_out=units))
    for units in (3, 12, 35):
        specs.append(OpSpec("SOFTMAX", (1, 1), units))
    # The darts space's lowering (dadarts.costmodel.lowering): a stride-2 depthwise conv is PAD + a
    # 'valid' conv, FactorizedReduce a 2x2 stride-2 'same' conv, a stride-2 average pool on an even size
    # MIRROR_PAD + pool + STRIDED_SLICE. Appended last so that the ids above keep their positions.
    for j, (kernel, c) in enumerate([((3, 3), 8), ((3, 3), 16), ((3, 3), 32), ((3, 3), 64),
                                     ((5, 5), 8), ((5, 5), 16), ((5, 5), 32), ((5, 5), 64)]):
        for hw in _spread(maps, j + 3, 2):
            specs.append(OpSpec("DEPTHWISE_CONV_2D", hw, c, kernel=kernel, stride=(2, 2), padding="valid"))
    for j, (c_in, c_out) in enumerate([(8, 8), (16, 16), (24, 24), (32, 32), (48, 48), (64, 64), (96, 96), (128, 128)]):
        specs.append(OpSpec("CONV_2D", maps[(j + 5) % len(maps)], c_in, c_out=c_out, kernel=(2, 2), stride=(2, 2)))
    for j, c in enumerate(CHANNELS):
        for hw in _spread(maps, j + 7, 2):
            specs.append(OpSpec("STRIDED_SLICE", hw, c))
    # A streaming step's time buffers (issue #24, dadarts.costmodel.stream): the state (k - s frames of a
    # layer's input) joined with the step's new frames along time, and the next state sliced off its end.
    # Appended last, after every id above.
    for j, (state, new, w, c) in enumerate(STREAM_BUFFERS):
        specs.append(OpSpec("CONCATENATION", (state, w), c, inputs=2, time=new))
        specs.append(OpSpec("STRIDED_SLICE", (state + new, w), c, time=state))
    specs = [s for s in specs if s.activation_bytes() <= MAX_TENSOR_BYTES and min(s.output_hw()) >= 1]
    ids = [s.id for s in specs]
    assert len(ids) == len(set(ids)), "sweep ids must be unique"
    return specs


def pack(specs: list[OpSpec], max_ops: int = 12, max_bytes: int = 1536 * 1024) -> list[list[OpSpec]]:
    """Consecutive groups of specs that fit one profiler run (arena = every input and output)."""
    groups: list[list[OpSpec]] = []
    current: list[OpSpec] = []
    used = 0
    for spec in specs:
        h, w = spec.output_hw()
        size = spec.hw[0] * spec.hw[1] * spec.c_in * spec.inputs + h * w * spec.output_channels()
        if current and (len(current) >= max_ops or used + size > max_bytes):
            groups.append(current)
            current, used = [], 0
        current.append(spec)
        used += size
    if current:
        groups.append(current)
    return groups


class _Builder:
    """Accumulates tensors, buffers and operators of one subgraph (flatbuffer object API)."""

    def __init__(self, seed: int):
        from ..tflite_schema import tflite_schema
        self.schema, names, _ = tflite_schema()
        self.codes = {name: code for code, name in names.items()}
        self.rng = np.random.default_rng(seed)
        self.tensors, self.buffers, self.operators, self.opcodes = [], [self.schema.BufferT()], [], []
        self.inputs, self.outputs = [], []

    def tensor(self, shape, dtype: str, scale, zero_point, data: np.ndarray | None = None, axis: int = 0) -> int:
        s = self.schema
        t = s.TensorT()
        t.shape = list(shape)
        t.type = getattr(s.TensorType, dtype)
        t.name = f"t{len(self.tensors)}".encode()
        if data is None:
            t.buffer = 0
        else:
            buf = s.BufferT()
            buf.data = np.frombuffer(np.ascontiguousarray(data).tobytes(), np.uint8)
            self.buffers.append(buf)
            t.buffer = len(self.buffers) - 1
        if scale is not None:
            q = s.QuantizationParametersT()
            q.scale = list(np.atleast_1d(np.asarray(scale, np.float32)))
            q.zeroPoint = list(np.atleast_1d(np.asarray(zero_point, np.int64)))
            q.quantizedDimension = axis
            t.quantization = q
        self.tensors.append(t)
        return len(self.tensors) - 1

    def activation(self, shape, scale=0.05, zero_point=-3) -> int:
        return self.tensor(shape, "INT8", scale, zero_point)

    def int32(self, values) -> int:
        arr = np.asarray(values, np.int32)
        return self.tensor(arr.shape, "INT32", None, None, data=arr)

    def op(self, name: str, inputs, outputs, options_type: str = "NONE", options=None) -> None:
        s = self.schema
        code = self.codes[name]
        if code not in self.opcodes:
            self.opcodes.append(code)
        o = s.OperatorT()
        o.opcodeIndex = self.opcodes.index(code)
        o.inputs, o.outputs = list(inputs), list(outputs)
        o.builtinOptionsType = getattr(s.BuiltinOptions, options_type)
        o.builtinOptions = options
        self.operators.append(o)

    def options(self, kind: str, **values):
        obj = getattr(self.schema, kind + "T")()
        for k, v in values.items():
            setattr(obj, k, v)
        return obj

    def finish(self, description: str) -> bytes:
        import flatbuffers
        s = self.schema
        sub = s.SubGraphT()
        sub.tensors, sub.operators = self.tensors, self.operators
        sub.inputs, sub.outputs = self.inputs, self.outputs
        sub.name = b"main"
        model = s.ModelT()
        model.version = 3
        model.description = description.encode()
        codes = []
        for code in self.opcodes:
            oc = s.OperatorCodeT()
            oc.builtinCode = code
            oc.deprecatedBuiltinCode = min(code, 127)
            oc.version = 1
            codes.append(oc)
        model.operatorCodes = codes
        model.subgraphs = [sub]
        model.buffers = self.buffers
        builder = flatbuffers.Builder(1 << 16)
        builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
        return bytes(builder.Output())


def _add_op(b: _Builder, spec: OpSpec) -> None:
    s = b.schema
    h, w = spec.hw
    oh, ow = spec.output_hw()
    pad = s.Padding.SAME if spec.padding == "same" else s.Padding.VALID
    relu = s.ActivationFunctionType.RELU
    x = [b.activation((1, h, w, spec.c_in)) for _ in range(spec.inputs)]
    if spec.op == "CONCATENATION" and spec.time:
        b.tensors[x[1]].shape = [1, spec.time, w, spec.c_in]
    b.inputs += x
    if spec.op in ("CONV_2D", "DEPTHWISE_CONV_2D"):
        kh, kw = spec.kernel
        depthwise = spec.op == "DEPTHWISE_CONV_2D"
        oc = spec.c_in if depthwise else spec.c_out
        w_shape = (1, kh, kw, oc) if depthwise else (oc, kh, kw, spec.c_in)
        w_scale = b.rng.uniform(0.005, 0.02, oc).astype(np.float32)
        weights = b.tensor(w_shape, "INT8", w_scale, np.zeros(oc), axis=3 if depthwise else 0,
                           data=b.rng.integers(-127, 128, w_shape, dtype=np.int8))
        bias = b.tensor((oc,), "INT32", 0.05 * w_scale, np.zeros(oc),
                        data=b.rng.integers(-2000, 2000, oc, dtype=np.int32))
        y = b.activation((1, oh, ow, oc), scale=0.1, zero_point=-128)
        common = dict(padding=pad, strideH=spec.stride[0], strideW=spec.stride[1], fusedActivationFunction=relu,
                      dilationHFactor=spec.dilation, dilationWFactor=spec.dilation)
        if depthwise:
            b.op(spec.op, [x[0], weights, bias], [y], "DepthwiseConv2DOptions",
                 b.options("DepthwiseConv2DOptions", depthMultiplier=1, **common))
        else:
            b.op(spec.op, [x[0], weights, bias], [y], "Conv2DOptions", b.options("Conv2DOptions", **common))
    elif spec.op in ("AVERAGE_POOL_2D", "MAX_POOL_2D"):
        y = b.activation((1, oh, ow, spec.c_in))   # pools keep the input's quantisation
        b.op(spec.op, x, [y], "Pool2DOptions",
             b.options("Pool2DOptions", padding=pad, strideH=spec.stride[0], strideW=spec.stride[1],
                       filterHeight=spec.kernel[0], filterWidth=spec.kernel[1], fusedActivationFunction=0))
    elif spec.op == "ADD":
        y = b.activation((1, h, w, spec.c_in), scale=0.08, zero_point=-10)
        b.tensors[x[1]].quantization.scale = [0.03]
        b.op("ADD", x, [y], "AddOptions", b.options("AddOptions", fusedActivationFunction=0))
    elif spec.op == "RELU":
        y = b.activation((1, h, w, spec.c_in), scale=0.04, zero_point=-128)
        b.op("RELU", x, [y])
    elif spec.op == "QUANTIZE":
        y = b.activation((1, h, w, spec.c_in), scale=0.07, zero_point=5)
        b.op("QUANTIZE", x, [y], "QuantizeOptions", b.options("QuantizeOptions"))
    elif spec.op in ("MIRROR_PAD", "PAD"):
        p = spec.extra[0] if spec.extra else 1
        paddings = b.int32([[0, 0], [p, p], [p, p], [0, 0]])
        y = b.activation((1, oh, ow, spec.c_in))
        if spec.op == "PAD":
            b.op("PAD", [x[0], paddings], [y], "PadOptions", b.options("PadOptions"))
        else:
            b.op("MIRROR_PAD", [x[0], paddings], [y], "MirrorPadOptions",
                 b.options("MirrorPadOptions", mode=s.MirrorPadMode.SYMMETRIC))
    elif spec.op == "MEAN":
        y = b.activation((1, spec.c_in), scale=0.02, zero_point=0)
        b.op("MEAN", [x[0], b.int32([1, 2])], [y], "ReducerOptions", b.options("ReducerOptions", keepDims=False))
    elif spec.op == "STRIDED_SLICE" and spec.time:
        y = b.activation((1, oh, ow, spec.c_in))
        b.op("STRIDED_SLICE", [x[0], b.int32([0, h - oh, 0, 0]), b.int32([1, h, w, spec.c_in]), b.int32([1, 1, 1, 1])],
             [y], "StridedSliceOptions", b.options("StridedSliceOptions"))
    elif spec.op == "STRIDED_SLICE":
        y = b.activation((1, oh, ow, spec.c_in))
        b.op("STRIDED_SLICE", [x[0], b.int32([0, 0, 0, 0]), b.int32([1, oh, ow, spec.c_in]), b.int32([1, 1, 1, 1])],
             [y], "StridedSliceOptions", b.options("StridedSliceOptions"))
    elif spec.op == "CONCATENATION":
        y = b.activation((1, oh, ow, spec.output_channels()))   # same quantisation as the inputs
        b.op("CONCATENATION", x, [y], "ConcatenationOptions",
             b.options("ConcatenationOptions", axis=1 if spec.time else 3, fusedActivationFunction=0))
    elif spec.op == "FULLY_CONNECTED":
        b.tensors[x[0]].shape = [1, spec.c_in]
        weights = b.tensor((spec.c_out, spec.c_in), "INT8", 0.01, 0,
                           data=b.rng.integers(-127, 128, (spec.c_out, spec.c_in), dtype=np.int8))
        bias = b.tensor((spec.c_out,), "INT32", 0.05 * 0.01, 0, data=b.rng.integers(-2000, 2000, spec.c_out, dtype=np.int32))
        y = b.activation((1, spec.c_out), scale=0.2, zero_point=0)
        b.op("FULLY_CONNECTED", [x[0], weights, bias], [y], "FullyConnectedOptions",
             b.options("FullyConnectedOptions", fusedActivationFunction=0))
    elif spec.op == "SOFTMAX":
        b.tensors[x[0]].shape = [1, spec.c_in]
        y = b.activation((1, spec.c_in), scale=1.0 / 256, zero_point=-128)
        b.op("SOFTMAX", x, [y], "SoftmaxOptions", b.options("SoftmaxOptions", beta=1.0))
    else:
        raise ValueError(f"no sweep builder for {spec.op}")
    b.outputs.append(y)


def build_model(specs: list[OpSpec], seed: int = 0, name: str = "sweep") -> bytes:
    """One .tflite with the operators of `specs`, each between its own model input(s) and output."""
    b = _Builder(seed)
    for spec in specs:
        _add_op(b, spec)
    return b.finish(f"dadarts op sweep {name}: " + ", ".join(spec.id for spec in specs))
