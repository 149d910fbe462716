"""Fold the requantising QUANTIZE ops that the TFLite converter puts in front of CONCATENATION inputs
into the ops that produce those inputs (by default only where that changes nothing else).

Why: an int8 CONCATENATION copies bytes, so TFLite (and TFLM's concatenation.cc, which checks it)
needs its inputs and output to share one scale and zero point. The converter gives the concat the
range of all its inputs and, in front of every input quantised otherwise, inserts a QUANTIZE
(int8 -> int8) that writes a requantised copy: one more op over a whole node map, and one more
tensor and node in the arena's persistent part. (Not in the live set at its activation peak: that
is at the concat, where every node state and the output are live with or without the copies, which
replace their originals; TFLM's greedy planner may still pack the rest better with fewer tensors.) The op that produces a concat input (an ADD in every searched cell) requantises its
output anyway, with a multiplier computed from its output scale when the kernel is prepared: given
the concat's parameters, it writes the concat's domain directly, and the copy goes.

By default (shared=False) only where the QUANTIZE is the tensor's one reader: then the fold rounds
the concat's input once instead of twice and changes nothing else. A tensor that another op also
reads (a cell node that a later node uses) would give that op its input at the concat's coarser
scale: folding those too (shared=True, `dadarts export --fold-concat all`) cost 2.9 points of int8
test accuracy on a trained mcu-space network (benchmarks/bench_export.py's searched-mcu: 80.8 %
unfolded, 77.9 % with every QUANTIZE folded, 80.4 % with those kept) and 0.2 points on the PC-DARTS
one, to save one op each; it leaves no QUANTIZE before any concat, exactly the graph that
dadarts.costmodel.network writes down.

A fold is refused, the QUANTIZE kept and the reason reported, where the tensor is a graph input or
output or its producer cannot choose its output scale (REQUANTISING lists the kernels that can: TFLM's
kernels in tensorflow/lite/micro/kernels compute their multipliers from both scales). With
shared=True, readers that pass int8 values on without rescaling (SAME_PARAMS: pools, pads, slices)
must keep their output quantised as their input, so the new parameters propagate to their outputs,
recursively; the fold is refused when a tensor so changed is a graph input or output, feeds another
concat quantised otherwise or an op without a known int8 rule, or has a range the concat's does not
cover.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field

import flatbuffers
import numpy as np

from ..errors import UserError
from ..tflite_schema import tflite_schema

# int8 kernels that compute their output multiplier from the input and output scales at Prepare time,
# so their output may have any parameters.
REQUANTISING = frozenset({"ADD", "SUB", "MUL", "CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "TRANSPOSE_CONV",
                          "MEAN", "SUM", "RELU", "LEAKY_RELU", "QUANTIZE"})
# Readers of any input parameters whose output parameters are fixed by the op (SOFTMAX: 1/256, -128).
FIXED_OUTPUT = frozenset({"SOFTMAX", "LOGISTIC", "TANH", "DEQUANTIZE"})
# Ops that move or compare int8 values without rescaling: their output is quantised as their one
# activation input (TFLM checks it for the pools and REDUCE_MAX/MIN; the copies would silently be wrong).
SAME_PARAMS = frozenset({"MAX_POOL_2D", "AVERAGE_POOL_2D", "RESHAPE", "SQUEEZE", "EXPAND_DIMS", "PAD",
                         "MIRROR_PAD", "STRIDED_SLICE", "SLICE", "SPACE_TO_BATCH_ND", "BATCH_TO_SPACE_ND",
                         "SPACE_TO_DEPTH", "DEPTH_TO_SPACE", "TRANSPOSE", "RESIZE_NEAREST_NEIGHBOR", "RELU6",
                         "REDUCE_MAX", "REDUCE_MIN", "SPLIT", "SPLIT_V", "UNPACK", "GATHER"})
BUFFER_ALIGNMENT = 16         # where Buffer.data starts: the schema's `force_align: 16` (int32 biases need 4)


@dataclass
class FoldResult:
    model: bytes                                  # the folded model (the input unchanged if nothing folded)
    folded: int = 0                               # QUANTIZE ops removed
    kept: list[str] = field(default_factory=list)   # why each QUANTIZE before a concat stayed

    def to_dict(self) -> dict:
        return {"folded": self.folded, "kept": len(self.kept), "kept_because": self.kept}


class _Graph:
    """The first subgraph of a ModelT with builtin names and who reads each tensor."""

    def __init__(self, model):
        _, names, types = tflite_schema()
        self.g, self.types = model.subgraphs[0], types
        self.op_name = []
        for op in self.g.operators:
            code = model.operatorCodes[op.opcodeIndex]
            self.op_name.append(names.get(max(int(code.builtinCode), int(code.deprecatedBuiltinCode)), "?"))
        self.boundary = {int(i) for i in (*self.g.inputs, *self.g.outputs)}

    def readers(self, tensor: int) -> list[int]:
        return [k for k, op in enumerate(self.g.operators) if tensor in _ints(op.inputs)]

    def producer(self, tensor: int) -> int | None:
        return next((k for k, op in enumerate(self.g.operators) if tensor in _ints(op.outputs)), None)

    def quant(self, tensor: int) -> tuple[float, int] | None:
        """(scale, zero point) of a per-tensor int8 tensor, else None."""
        t = self.g.tensors[tensor]
        q = t.quantization
        if self.types.get(int(t.type)) != "INT8" or q is None or q.scale is None or len(q.scale) != 1:
            return None
        return float(np.float32(q.scale[0])), int(q.zeroPoint[0])

    def label(self, tensor: int) -> str:
        name = self.g.tensors[tensor].name
        return f"'{name.decode() if isinstance(name, bytes) else name}'"


def _ints(values) -> list[int]:
    return [int(v) for v in values] if values is not None else []


def _covers(new: tuple[float, int], old: tuple[float, int]) -> bool:
    """Whether int8 at `new` represents the range of int8 at `old`, to one step of `new`.

    The converter gives a concat the union of its inputs' calibrated ranges, and rounding each zero
    point moves a range's ends by up to half a step of its own scale (the concat's is the coarser):
    a concat input's range may stick out by up to one concat step, clipped by no more than the fold
    rounds anyway.
    """
    lo = lambda q: q[0] * (-128 - q[1])  # noqa: E731
    hi = lambda q: q[0] * (127 - q[1])   # noqa: E731
    return lo(new) <= lo(old) + new[0] and hi(new) >= hi(old) - new[0]


def _requantised_group(graph: _Graph, tensor: int, new: tuple[float, int], folding: int) -> list[int] | str:
    """The tensors that take `new` parameters if `tensor` does, or why that is not allowed."""
    group, todo = [tensor], [tensor]
    while todo:
        t = todo.pop()
        if t in graph.boundary:
            return f"{graph.label(t)} is a graph input or output"
        for k in graph.readers(t):
            name = graph.op_name[k]
            if k == folding or name in REQUANTISING or name in FIXED_OUTPUT:
                continue
            if name == "CONCATENATION":
                if graph.quant(int(graph.g.operators[k].outputs[0])) != new:
                    return f"{graph.label(t)} also feeds a CONCATENATION quantised otherwise (op {k})"
            elif name in SAME_PARAMS:
                for out in _ints(graph.g.operators[k].outputs):
                    if out not in group:
                        group.append(out)
                        todo.append(out)
            else:
                return f"{graph.label(t)} is read by {name} (op {k}), an op this pass has no int8 rule for"
    return group


def _try_fold(graph: _Graph, k: int, shared: bool) -> str | None:
    """Fold QUANTIZE op k into the producer of its input; None when done, else why not."""
    op = graph.g.operators[k]
    src, dst = int(op.inputs[0]), int(op.outputs[0])
    old, new = graph.quant(src), graph.quant(dst)
    if old is None or new is None:
        return f"QUANTIZE op {k} is not a per-tensor int8 -> int8 requantisation"
    if any(graph.op_name[r] != "CONCATENATION" for r in graph.readers(dst)) or dst in graph.boundary:
        return f"QUANTIZE op {k}'s output {graph.label(dst)} is not read by concatenations alone"
    others = sorted({graph.op_name[r] for r in graph.readers(src) if r != k})
    if others and not shared:
        return f"{graph.label(src)} is also read by {', '.join(others)}, which would see the concat's coarser scale"
    producer = graph.producer(src)
    if producer is None or graph.op_name[producer] not in REQUANTISING:
        what = "no op (a graph input)" if producer is None else graph.op_name[producer]
        return f"{graph.label(src)} is produced by {what}, which cannot change its output scale"
    if others and not _covers(new, old):
        return f"the concatenation's range does not cover {graph.label(src)}'s"
    group = _requantised_group(graph, src, new, k)
    if isinstance(group, str):
        return group
    for t in group:
        graph.g.tensors[t].quantization = copy.deepcopy(graph.g.tensors[dst].quantization)
    for reader in graph.readers(dst):
        graph.g.operators[reader].inputs = [src if i == dst else i for i in _ints(graph.g.operators[reader].inputs)]
    return None


def _remove(model, ops: set[int]) -> None:
    """Delete the folded QUANTIZE ops, their output tensors, and operator codes no op uses; reindex."""
    g = model.subgraphs[0]
    dead = {int(g.operators[k].outputs[0]) for k in ops}
    g.operators = [op for k, op in enumerate(g.operators) if k not in ops]
    keep = [i for i in range(len(g.tensors)) if i not in dead]
    index = {old: new for new, old in enumerate(keep)}
    g.tensors = [g.tensors[i] for i in keep]
    remap = lambda xs: [index[i] if i >= 0 else i for i in _ints(xs)]  # noqa: E731  (-1: optional input)
    for op in g.operators:
        op.inputs, op.outputs = remap(op.inputs), remap(op.outputs)
        if op.intermediates is not None:
            op.intermediates = remap(op.intermediates)
    g.inputs, g.outputs = remap(g.inputs), remap(g.outputs)
    for sig in model.signatureDefs or []:
        for tm in (*(sig.inputs or []), *(sig.outputs or [])):
            tm.tensorIndex = index[tm.tensorIndex]
    used = sorted({op.opcodeIndex for sub in model.subgraphs for op in sub.operators})
    codes = {old: new for new, old in enumerate(used)}
    model.operatorCodes = [model.operatorCodes[i] for i in used]
    for sub in model.subgraphs:
        for op in sub.operators:
            op.opcodeIndex = codes[op.opcodeIndex]


class _AlignedBuilder(flatbuffers.Builder):
    """A builder that starts every byte vector (Buffer.data) on a BUFFER_ALIGNMENT boundary.

    The generated Python Pack writes byte vectors with alignment 1 (its generator ignores the schema's
    force_align); Prep(16, n) places the data so that its end-relative offset, and with Finish's
    padding to the largest alignment its absolute offset, is a multiple of 16.
    """

    def CreateNumpyVector(self, x):
        if x.dtype != np.uint8:
            return super().CreateNumpyVector(x)
        self.StartVector(1, x.size, BUFFER_ALIGNMENT)
        self.head -= x.size
        self.Bytes[self.head:self.head + x.size] = x.tobytes()
        return self.EndVector()


def serialise(model) -> bytes:
    """A ModelT as a .tflite flatbuffer ("TFL3" identifier, 16-byte aligned buffer data)."""
    builder = _AlignedBuilder(1 << 16)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def fold_concat_quantize(data: bytes, shared: bool = False) -> FoldResult:
    """Remove the QUANTIZE ops before CONCATENATIONs that fold into their input's producer (see module doc;
    shared: also those whose input other ops read)."""
    schema, _, _ = tflite_schema()
    if len(data) < 8 or data[4:8] != b"TFL3":
        raise UserError("The model is not a TFLite flatbuffer (no TFL3 identifier): re-run the export.")
    model = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(bytearray(data), 0))
    if any(b.offset for b in model.buffers or []):
        raise UserError("The int8 model keeps its weights outside the flatbuffer (a model over 2 GB): "
                        "it is not a microcontroller model; export a smaller network.")
    graph = _Graph(model)
    result = FoldResult(model=data)
    folded = []
    for k, name in enumerate(graph.op_name):
        readers = graph.readers(int(graph.g.operators[k].outputs[0])) if name == "QUANTIZE" else []
        if not any(graph.op_name[r] == "CONCATENATION" for r in readers):
            continue
        why = _try_fold(graph, k, shared)
        if why is None:
            folded.append(k)
        else:
            result.kept.append(why)
    if folded:
        _remove(model, set(folded))
        result.model, result.folded = serialise(model), len(folded)
    return result
