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


def export_onnx(model: nn.Module, input_shape: tuple[int, int], path: str | Path) -> list[str]:
    """Write `model` (inputs (1, 1, T, F)) as ONNX with the legacy TorchScript exporter.

    The TorchScript exporter (dynamo=False) gives the plain Conv/Relu/Pad/Pool/Add/Concat graph
    onnx2tf knows best; batch is fixed to 1, as on the microcontroller. It spells every F.pad as a
    ConstantOfShape/Slice/Transpose/Cast chain computing the pad list; onnxsim folds those into
    constants (and zero pads into the following conv or pool), leaving one node per layer.
    Returns the names of the dilated convs made dense (see `expand_dilations`).
    """
    return export_onnx_graph(model, (torch.zeros(1, 1, *input_shape),), [INPUT_NAME], [OUTPUT_NAME], path)


def export_onnx_graph(model: nn.Module, inputs: tuple[torch.Tensor, ...], input_names: list[str],
                      output_names: list[str], path: str | Path) -> list[str]:
    """`export_onnx` for any inputs and outputs (the step model's frames and states)."""
    import onnx
    import onnxsim

    with atomic_path(path) as tmp, warnings.catch_warnings(), redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")
        torch.onnx.export(model.eval(), inputs, str(tmp), dynamo=False, opset_version=OPSET,
                          input_names=input_names, output_names=output_names, do_constant_folding=True)
        simplified, ok = onnxsim.simplify(onnx.load(str(tmp)))
        graph = simplified if ok else onnx.load(str(tmp))
        expanded = expand_dilations(graph)
        onnx.save(graph, str(tmp))
        onnx.checker.check_model(str(tmp))
    return expanded


def expand_dilations(model) -> list[str]:
    """Rewrite the dilated convolutions TensorFlow would lower badly as dense ones (exact); returns their names.

    TensorFlow runs a dilated conv as SPACE_TO_BATCH_ND -> conv -> BATCH_TO_SPACE_ND, and the TFLite
    converter folds that back into one dilated DEPTHWISE_CONV_2D / CONV_2D only when the
    SPACE_TO_BATCH_ND has a single consumer. Two dilated convs reading the same ReLU'd state (a cell
    with dil_conv_3x3 twice on one input, as PC-DARTS' own cell) share it after CSE, so the int8
    graph kept the batch/space ops, and TFLite Micro's int8 SPACE_TO_BATCH_ND disagreed with the
    reference kernels by tens of LSB. TensorFlow also has no strided dilated conv. Those convs get
    their kernel spread out with zeros ((k - 1) * d + 1 taps, same padding): identical output, more
    MACs, so convs that convert cleanly keep their dilation.
    """
    from onnx import numpy_helper

    from ..costmodel.lowering import dense_dilation

    graph = model.graph
    inits = {init.name: init for init in graph.initializer}
    producer = {out: node for node in graph.node for out in node.output}

    def attrs(node) -> dict:
        return {a.name: list(a.ints) if a.ints else a.i for a in node.attribute}

    def source(tensor: str) -> str:
        node = producer.get(tensor)
        return f"relu({node.input[0]})" if node is not None and node.op_type == "Relu" else tensor

    dilated = [n for n in graph.node if n.op_type == "Conv" and any(d > 1 for d in attrs(n).get("dilations", [1]))]
    groups: dict[tuple, list] = {}
    for node in dilated:
        a = attrs(node)
        key = (source(node.input[0]), tuple(a.get("dilations", [])), tuple(a.get("pads", [])),
               tuple(a.get("kernel_shape", [])), tuple(a.get("strides", [1, 1])))
        groups.setdefault(key, []).append(node)
    expanded = []
    for key, nodes in groups.items():
        if not dense_dilation(max(key[4]), shared_input=len(nodes) > 1):
            continue
        for node in nodes:
            if node.input[1] not in inits:
                continue
            w = numpy_helper.to_array(inits[node.input[1]])
            dh, dw = attrs(node)["dilations"]
            dense = np.zeros((*w.shape[:2], (w.shape[2] - 1) * dh + 1, (w.shape[3] - 1) * dw + 1), dtype=w.dtype)
            dense[:, :, ::dh, ::dw] = w
            name = f"{node.input[1]}_dense"
            graph.initializer.append(numpy_helper.from_array(dense, name))
            node.input[1] = name
            for a in node.attribute:
                if a.name == "dilations":
                    a.ints[:] = [1, 1]
                elif a.name == "kernel_shape":
                    a.ints[:] = list(dense.shape[2:])
            expanded.append(node.name)
    used = {i for n in graph.node for i in n.input}
    keep = [init for init in graph.initializer if init.name in used]
    del graph.initializer[:]
    graph.initializer.extend(keep)
    return expanded


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
