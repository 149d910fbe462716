"""Run the int8 model in TensorFlow Lite Micro (the `tflite-micro` Python interpreter) and compare it
with the LiteRT interpreter's reference kernels.

TFLM's kernels are the reference kernels, so the comparison is with LiteRT's BUILTIN_REF resolver:
outputs should be bit-identical or within one LSB (LiteRT's default optimised kernels round
differently and disagree by a few LSB, which says nothing about TFLM). TFLM aborts the process on
some invalid models, so it runs in a child process; an op TFLM does not have becomes a UserError
naming the op and the tensor (layer) it produces.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile

import numpy as np

from ..errors import UserError
from .tflite_graph import read_ops

_MISSING_OP = re.compile(r"(?:Didn't find op for builtin opcode|Failed to get registration from op code)\s*'?([A-Z0-9_]+)'?")


def _worker(model_path: str, inputs_path: str, out_path: str) -> None:
    """Child process: run TFLM on every input, save the int8 outputs."""
    from tflite_micro.python.tflite_micro import runtime
    model = open(model_path, "rb").read()
    xs = np.load(inputs_path)
    interp = runtime.Interpreter.from_bytes(model, arena_size=max(len(model) * 10, 8 << 20))
    outs = []
    for i in range(len(xs)):
        interp.set_input(xs[i:i + 1], 0)
        interp.invoke()
        outs.append(np.array(interp.get_output(0)).reshape(1, -1))
    np.save(out_path, np.concatenate(outs, axis=0))


def _step_worker(model_path: str, inputs_path: str, out_path: str) -> None:
    """Child process: step a step model over the frames of inputs_path (frames, reset states), feeding
    every output state back into its input; save the int8 logits of every step."""
    from tflite_micro.python.tflite_micro import runtime
    model = open(model_path, "rb").read()
    data = np.load(inputs_path)
    frames, states = data["frames"], [data[f"state_{j}"] for j in range(len(data.files) - 1)]
    interp = runtime.Interpreter.from_bytes(model, arena_size=max(len(model) * 10, 8 << 20))
    outs = []
    for s in range(len(frames)):
        interp.set_input(frames[s:s + 1], 0)
        for j, x in enumerate(states):
            interp.set_input(x, j + 1)
        interp.invoke()
        outs.append(np.array(interp.get_output(0)).reshape(1, -1))
        states = [np.array(interp.get_output(j + 1)).copy() for j in range(len(states))]
    np.save(out_path, np.concatenate(outs, axis=0))


def run_tflm(model: bytes, inputs_int8: np.ndarray, timeout_s: float = 600.0,
             states: list[np.ndarray] | None = None) -> np.ndarray:
    """int8 outputs of TFLM for int8 NHWC inputs (N, T, F, 1); with `states` (a step model's reset
    states) the inputs are consecutive steps' frames (N, frames, F, 1) and the states are fed back."""
    with tempfile.TemporaryDirectory(prefix="dadarts-tflm-") as tmp:
        paths = [os.path.join(tmp, n) for n in ("model.tflite", "inputs.npz" if states is not None else "inputs.npy",
                                                 "outputs.npy")]
        with open(paths[0], "wb") as f:
            f.write(model)
        if states is None:
            np.save(paths[1], inputs_int8)
        else:
            np.savez(paths[1], frames=inputs_int8, **{f"state_{j}": x for j, x in enumerate(states)})
        worker = "_worker" if states is None else "_step_worker"
        code = f"import sys; from dadarts.export.tflm_check import {worker}; {worker}(*sys.argv[1:4])"
        try:
            proc = subprocess.run([sys.executable, "-c", code, *paths], capture_output=True, text=True,
                                  timeout=timeout_s)
        except subprocess.TimeoutExpired:
            raise UserError(f"TFLite Micro took more than {timeout_s:.0f} s on the test features: the model is too "
                            "large for a microcontroller.") from None
        if proc.returncode != 0 or not os.path.exists(paths[2]):
            raise UserError(_explain_failure(model, proc.stdout + proc.stderr, proc.returncode))
        return np.load(paths[2])


def _explain_failure(model: bytes, log: str, code: int) -> str:
    missing = _MISSING_OP.search(log)
    if missing:
        op = missing.group(1)
        where = next((o.layer for o in read_ops(model) if o.name == op), "unknown layer")
        return (f"TFLite Micro has no kernel for op {op} (first used by the layer producing '{where}'): "
                "change that layer of the network, or export a model without it.")
    last = [ln.strip() for ln in log.splitlines() if ln.strip()][-2:]
    return (f"TFLite Micro could not run the int8 model (exit {code}: {' | '.join(last) or 'no message'}): "
            "see export/report.json for the op list.")


def compare_lsb(tflm: np.ndarray, reference: np.ndarray) -> dict:
    """How far TFLM's int8 outputs are from the reference kernels', in LSB."""
    diff = np.abs(tflm.astype(np.int32) - reference.astype(np.int32))
    return {"bit_identical_share": float((diff == 0).mean()), "within_1_lsb_share": float((diff <= 1).mean()),
            "max_lsb": int(diff.max()) if diff.size else 0,
            "top1_agreement": float((tflm.argmax(1) == reference.argmax(1)).mean()) if len(tflm) else 1.0}


def measure_arena(model: bytes) -> dict:
    """Arena bytes TFLM needs (mcu_eval's RecordingMicroAllocator measurement)."""
    from ..costmodel.arena import measure_arena as measure
    return measure(model).to_dict()
