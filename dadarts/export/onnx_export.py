"""PyTorch -> ONNX (fixed opset, static shapes) and the onnxruntime check against PyTorch."""
from __future__ import annotations

import io
import warnings
from contextlib import redirect_stderr
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..rundir import atomic_path

OPSET = 17
INPUT_NAME = "input"
OUTPUT_NAME = "logits"


def export_onnx(model: nn.Module, input_shape: tuple[int, int], path: str | Path) -> None:
    """Write `model` (inputs (1, 1, T, F)) as ONNX with the legacy TorchScript exporter.

    The TorchScript exporter (dynamo=False) gives the plain Conv/Relu/Pad/Pool/Add/Concat graph
    onnx2tf knows best; batch is fixed to 1, as on the microcontroller. It spells every F.pad as a
    ConstantOfShape/Slice/Transpose/Cast chain computing the pad list; onnxsim folds those into
    constants (and zero pads into the following conv or pool), leaving one node per layer.
    """
    import onnx
    import onnxsim

    x = torch.zeros(1, 1, *input_shape)
    with atomic_path(path) as tmp, warnings.catch_warnings(), redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")
        torch.onnx.export(model.eval(), (x,), str(tmp), dynamo=False, opset_version=OPSET,
                          input_names=[INPUT_NAME], output_names=[OUTPUT_NAME], do_constant_folding=True)
        simplified, ok = onnxsim.simplify(onnx.load(str(tmp)))
        if ok:
            onnx.save(simplified, str(tmp))
        onnx.checker.check_model(str(tmp))


def onnx_session(path: str | Path):
    import onnxruntime as ort
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.log_severity_level = 3
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def run_onnx(path: str | Path, x: np.ndarray) -> np.ndarray:
    """Logits of the ONNX model for NCHW float inputs x (N, 1, T, F), one sample at a time."""
    sess = onnx_session(path)
    outs = [sess.run([OUTPUT_NAME], {INPUT_NAME: x[i:i + 1].astype(np.float32)})[0] for i in range(len(x))]
    return np.concatenate(outs, axis=0)


def run_torch(model: nn.Module, x: np.ndarray, batch: int = 256) -> np.ndarray:
    """Logits of the PyTorch model for x (N, 1, T, F)."""
    outs = []
    with torch.no_grad():
        for i in range(0, len(x), batch):
            outs.append(model(torch.from_numpy(np.ascontiguousarray(x[i:i + batch], dtype=np.float32))).numpy())
    return np.concatenate(outs, axis=0)


def onnx_op_types(path: str | Path) -> dict[str, int]:
    """How many nodes of each ONNX op type the graph has."""
    import onnx
    counts: dict[str, int] = {}
    for node in onnx.load(str(path)).graph.node:
        counts[node.op_type] = counts.get(node.op_type, 0) + 1
    return counts
