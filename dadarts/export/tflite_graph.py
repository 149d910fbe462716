"""Inspect a .tflite flatbuffer: its operators in order, with tensor names and types, and the checks
an int8 microcontroller graph must pass (no TRANSPOSE, no float operator).

Parsing uses the flatbuffer schema shipped with the tflite-micro wheel, so no TensorFlow import.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from ..errors import UserError
from ..tflite_schema import tflite_schema

# Ops that may legitimately touch float tensors in a full-integer graph: none. QUANTIZE and
# DEQUANTIZE at the graph edges would mean float input/output, which the firmware does not have.
INT_TYPES = {"INT8", "INT16", "INT32", "INT64", "BOOL"}
_ELEMENT_BYTES = {"INT8": 1, "UINT8": 1, "BOOL": 1, "INT16": 2, "FLOAT16": 2, "INT32": 4, "FLOAT32": 4, "INT64": 8}


@dataclass
class Op:
    index: int
    name: str                     # builtin name, e.g. CONV_2D
    inputs: list[tuple[str, str, list[int]]]    # (tensor name, type, shape)
    outputs: list[tuple[str, str, list[int]]]
    activation_bytes: int = 0     # bytes of this op's non-constant inputs and outputs

    @property
    def layer(self) -> str:
        """The tensor this op produces: names the layer it came from in the converted graph."""
        return self.outputs[0][0] if self.outputs else f"op {self.index}"

    @property
    def float_tensors(self) -> list[str]:
        return [n for n, t, _ in self.inputs + self.outputs if t not in INT_TYPES]


def read_ops(data: bytes) -> list[Op]:
    """The operators of the first subgraph, in execution order."""
    schema, names, types = tflite_schema()
    if len(data) < 8 or data[4:8] != b"TFL3":
        raise UserError("The model is not a TFLite flatbuffer (no TFL3 identifier): re-run the export.")
    model = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(bytearray(data), 0))
    g = model.subgraphs[0]

    def tensor(i: int):
        t = g.tensors[i]
        name = t.name.decode() if isinstance(t.name, bytes) else str(t.name)
        return name, types.get(int(t.type), "?"), [int(s) for s in (t.shape if t.shape is not None else [])]

    def activation(i: int) -> int:
        t = g.tensors[i]
        buf = model.buffers[t.buffer] if t.buffer < len(model.buffers) else None
        if buf is not None and buf.data is not None and len(buf.data):
            return 0                                   # a constant lives in flash, not in the arena
        n = _ELEMENT_BYTES.get(types.get(int(t.type), ""), 4)
        for d in (t.shape if t.shape is not None else []):
            n *= int(d)
        return n

    ops = []
    for idx, op in enumerate(g.operators or []):
        code = model.operatorCodes[op.opcodeIndex]
        builtin = max(int(code.builtinCode), int(code.deprecatedBuiltinCode))
        name = names.get(builtin, f"BUILTIN_{builtin}")
        if name == "CUSTOM":
            cc = code.customCode
            name = f"CUSTOM:{cc.decode() if isinstance(cc, bytes) else cc}"
        ins = [tensor(i) for i in (op.inputs if op.inputs is not None else []) if i >= 0]
        outs = [tensor(i) for i in (op.outputs if op.outputs is not None else []) if i >= 0]
        live = sum(activation(i) for i in {*(op.inputs if op.inputs is not None else []),
                                            *(op.outputs if op.outputs is not None else [])} if i >= 0)
        ops.append(Op(idx, name, ins, outs, live))
    return ops


def op_counts(ops: list[Op]) -> dict[str, int]:
    return dict(Counter(op.name for op in ops).most_common())


def op_names(ops: list[Op]) -> list[str]:
    """Distinct builtin op names in first-use order (what a MicroMutableOpResolver must add)."""
    seen: list[str] = []
    for op in ops:
        if op.name not in seen:
            seen.append(op.name)
    return seen


def activation_lower_bound(ops: list[Op]) -> tuple[int, str]:
    """Bytes the largest single op needs live at once (its inputs and output), and that op.

    No memory planner can use less arena for activations than this; how far TFLM's planned arena
    head is above it measures what the graph's shape (branches kept alive, concatenations) costs.
    """
    worst = max(ops, key=lambda op: op.activation_bytes, default=None)
    return (worst.activation_bytes, f"{worst.name} producing '{worst.layer}'") if worst else (0, "")


def int8_problems(ops: list[Op]) -> list[str]:
    """Why this graph is not a clean int8 microcontroller graph; empty when it is."""
    problems = []
    for op in ops:
        if op.name == "TRANSPOSE":
            problems.append(f"TRANSPOSE at op {op.index} (producing '{op.layer}')")
        elif op.float_tensors:
            problems.append(f"float {op.name} at op {op.index} (producing '{op.layer}', float tensor "
                            f"'{op.float_tensors[0]}')")
        elif op.name.startswith("CUSTOM:"):
            problems.append(f"custom op {op.name[7:]} at op {op.index} (producing '{op.layer}')")
    return problems
