"""The step model's .tflite: its inputs and outputs put in the order the firmware reads them, the state
pairs checked, and the LiteRT runner that steps it over a stream (the export check and the Python
streaming twin).

Order (the stream contract): input 0 = the N new frames, inputs 1..k = the states; output 0 = the
logits, outputs 1..k = the next states, state j in input j + 1 and output j + 1. onnx2tf names the
signature's inputs after the ONNX inputs and its outputs output_0, output_1, ... in the ONNX order;
the subgraph lists them in its own order, which is rewritten here (a model's input and output order
is only the order of the subgraph's lists).

Why a state pair's quantisation is identical by construction: the state input and the next state are
the two ends of one CONCATENATION (state, new frames) -> STRIDED_SLICE (its last frames); TFLite's
int8 concatenation and slice keep one scale and zero point from input to output, and the legacy
quantiser gives a concatenation's graph inputs its own parameters. The requantising copy the
converter may put in front of the concatenation's other input (the new frames) is folded like every
concat QUANTIZE (concat_quant.py). `order_states` asserts the equality and refuses the model
otherwise, so the firmware can copy an output state into its input byte for byte.
"""
from __future__ import annotations

import numpy as np

from ..errors import UserError
from ..tflite_schema import tflite_schema


def order_states(model: bytes, input_names: list[str], state_shapes_nhwc: list[tuple[int, ...]],
                 int8: bool = True) -> tuple[bytes, list[dict]]:
    """(the model with inputs [frames, states...] and outputs [logits, next states...], stream_step.json's
    "states"); `input_names`: the ONNX inputs, frames first; int8: every state must be per-tensor int8."""
    from .concat_quant import _Graph, _remove, serialise
    schema, _, _ = tflite_schema()
    m = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(bytearray(model), 0))
    name = lambda t: t.name.decode() if isinstance(t.name, bytes) else t.name  # noqa: E731
    sig = m.signatureDefs[0]
    states_in = [int(t.tensorIndex) for t in sig.inputs if name(t) in input_names[1:]]
    pinned = _pin_state_inputs(_Graph(m), states_in)
    if pinned:
        _remove(m, pinned)
    g = _Graph(m)
    ins = {name(t): int(t.tensorIndex) for t in sig.inputs}
    outs = {name(t): int(t.tensorIndex) for t in sig.outputs}
    want_outs = [f"output_{j}" for j in range(len(input_names))]
    if sorted(ins) != sorted(input_names) or sorted(outs) != sorted(want_outs):
        raise UserError(f"The step model's signature has inputs {sorted(ins)} and outputs {sorted(outs)}, not "
                        f"{input_names} and {want_outs}: the converter named them otherwise; the step export "
                        "cannot tell the states apart.")
    g.g.inputs = [ins[n] for n in input_names]
    g.g.outputs = [outs[n] for n in want_outs]
    states = []
    for j, (n, shape) in enumerate(zip(input_names[1:], state_shapes_nhwc)):
        t_in, t_out = g.g.inputs[j + 1], g.g.outputs[j + 1]
        q_in, q_out = g.quant(t_in), g.quant(t_out)
        s_in, s_out = (tuple(int(v) for v in g.g.tensors[t].shape) for t in (t_in, t_out))
        if (int8 and q_in is None) or q_in != q_out or s_in != s_out or s_in != tuple(shape):
            raise UserError(f"The step model's state '{n}' is {s_in} at {q_in} as input but {s_out} at {q_out} as "
                            "output: the firmware could not feed it back without requantising; the step model was "
                            "not written.")
        states.append({"name": n, "shape": list(s_in), "bytes": int(np.prod(s_in)) * (1 if int8 else 4),
                       "input_index": j + 1, "output_index": j + 1,
                       **({"scale": q_in[0], "zero_point": q_in[1]} if int8 else {})})
    return serialise(m), states


def _pin_state_inputs(g, state_inputs: list[int]) -> set[int]:
    """Give every state input that the converter requantises for its concatenation (a QUANTIZE between
    them: the input got its own calibrated range) the concatenation's parameters, and let the
    concatenation read it directly; returns the QUANTIZE ops to remove. Exact: at run time a state input
    only ever holds a previous output of the same concatenation, or the reset value (its zero point)."""
    import copy
    drop = set()
    for t in state_inputs:
        readers = g.readers(t)
        if len(readers) != 1 or g.op_name[readers[0]] != "QUANTIZE":
            continue
        dst = int(g.g.operators[readers[0]].outputs[0])
        if dst in g.boundary or any(g.op_name[r] != "CONCATENATION" for r in g.readers(dst)):
            continue
        g.g.tensors[t].quantization = copy.deepcopy(g.g.tensors[dst].quantization)
        for r in g.readers(dst):
            g.g.operators[r].inputs = [t if i == dst else i for i in (int(v) for v in g.g.operators[r].inputs)]
        drop.add(readers[0])
    return drop


class StepRunner:
    """The step .tflite under LiteRT (reference kernels: what TFLM computes), stepped over a stream."""

    def __init__(self, model: bytes, reference_kernels: bool = True):
        from ..fdcapture import captured_output
        from ai_edge_litert.interpreter import Interpreter, OpResolverType
        resolver = OpResolverType.BUILTIN_REF if reference_kernels else OpResolverType.AUTO
        self.interp = Interpreter(model_content=model, experimental_op_resolver_type=resolver, num_threads=1)
        with captured_output():
            self.interp.allocate_tensors()
        self.ins, self.outs = self.interp.get_input_details(), self.interp.get_output_details()
        self.frames = int(self.ins[0]["shape"][1])

    @property
    def int8(self) -> bool:
        return self.ins[0]["dtype"] == np.int8

    def quantize_frames(self, x: np.ndarray) -> np.ndarray:
        if not self.int8:
            return x.astype(np.float32)
        scale, zp = self.ins[0]["quantization"]
        return np.clip(np.round(x / scale) + zp, -128, 127).astype(np.int8)

    def dequantize_logits(self, y: np.ndarray) -> np.ndarray:
        if not self.int8:
            return y.astype(np.float32)
        scale, zp = self.outs[0]["quantization"]
        return (y.astype(np.float32) - zp) * scale

    def reset_states(self) -> list[np.ndarray]:
        """Every state at its zero point (the contract's reset)."""
        return [np.full(d["shape"], d["quantization"][1] if self.int8 else 0, dtype=d["dtype"]) for d in self.ins[1:]]

    @property
    def output_quant(self) -> tuple[float, int]:
        scale, zp = self.outs[0]["quantization"]
        return float(scale), int(zp)

    def run(self, frames: np.ndarray, states: list[np.ndarray] | None = None) -> tuple[np.ndarray, list[np.ndarray]]:
        """(logits in the model's own type, one row per whole step; the states after the last step) of (L, F)
        frames already in the input's type, from the reset state or from `states`."""
        n, out = self.frames, []
        states = self.reset_states() if states is None else states
        for s in range(len(frames) // n):
            self.interp.set_tensor(self.ins[0]["index"], frames[s * n:(s + 1) * n][None, :, :, None])
            for d, x in zip(self.ins[1:], states):
                self.interp.set_tensor(d["index"], x)
            self.interp.invoke()
            out.append(self.interp.get_tensor(self.outs[0]["index"])[0].copy())
            states = [self.interp.get_tensor(d["index"]).copy() for d in self.outs[1:]]
        logits = np.stack(out) if out else np.zeros((0, int(self.outs[0]["shape"][-1])), self.outs[0]["dtype"])
        return logits, states
