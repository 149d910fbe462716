"""Every baseline lowers to ONNX ops that the int8 TFLite / TFLite Micro path supports (after onnxsim, as export does)."""
import io
import warnings

import pytest
import torch

from dadarts.train.models import BASELINES, build_model

# ONNX ops with a direct int8 TFLite Micro kernel (CONV_2D / DEPTHWISE_CONV_2D, FULLY_CONNECTED, MEAN,
# RELU, RELU6 / clamp, ADD, MUL, CONCATENATION, PAD, RESHAPE).
TFLM_FRIENDLY = {"Conv", "Gemm", "MatMul", "ReduceMean", "GlobalAveragePool", "Relu", "Clip", "Add", "Mul",
                 "Concat", "Pad", "Flatten", "Reshape"}


@pytest.mark.parametrize("name", BASELINES)
def test_baseline_onnx_ops_are_tflm_friendly(name):
    onnx = pytest.importorskip("onnx")
    onnxsim = pytest.importorskip("onnxsim")
    kw = {} if name.startswith("ds-cnn") else {"width": 0.25}
    model = build_model(name, (49, 40), 12, **kw).eval()
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (torch.zeros(1, 1, 49, 40),), buf, dynamo=False, opset_version=17,
                          do_constant_folding=True)
    graph, ok = onnxsim.simplify(onnx.load_from_string(buf.getvalue()))
    assert ok
    ops = {node.op_type for node in graph.graph.node}
    assert ops <= TFLM_FRIENDLY, ops - TFLM_FRIENDLY
