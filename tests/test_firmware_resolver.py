"""The op resolver generated from the exported graph: one registration per op, int8-only kernels only
where every instance of the op is int8, and model_settings.h parsing back to the graph's ops."""
from __future__ import annotations

from dadarts.export.carrays import ModelSettings, model_settings_file
from dadarts.export.resolver import parse_registrations, registrations
from dadarts.export.tflite_graph import op_names, read_ops
from tflite_graphs import graph_bytes

MIXED = graph_bytes([
    ("CONV_2D", ["INT8", "INT8", "INT32"], ["INT8"]),
    ("DEPTHWISE_CONV_2D", ["INT8", "INT8", "INT32"], ["INT8"]),
    ("CONV_2D", ["INT16", "INT8", "INT64"], ["INT16"]),      # one int16 instance: CONV_2D keeps all types
    ("ADD", ["INT8", "INT8"], ["INT8"]),
    ("RESHAPE", ["INT8", "INT32"], ["INT8"]),                # no int8-only kernel in TFLM
    ("FULLY_CONNECTED", ["INT8", "INT4", "INT32"], ["INT8"]),  # int4 weights: not the int8 kernel
    ("SOFTMAX", ["INT8"], ["INT16"]),                          # int16 output: not SOFTMAX_INT8
    ("MAX_POOL_2D", ["INT8"], ["INT8"]),
])


def test_int8_only_kernels_only_where_every_instance_is_int8():
    regs = {r.op: r.kernel for r in registrations(read_ops(MIXED))}
    assert list(regs) == ["CONV_2D", "DEPTHWISE_CONV_2D", "ADD", "RESHAPE", "FULLY_CONNECTED", "SOFTMAX", "MAX_POOL_2D"]
    assert regs == {"CONV_2D": None, "DEPTHWISE_CONV_2D": "Register_DEPTHWISE_CONV_2D_INT8", "ADD": "Register_ADD_INT8",
                    "RESHAPE": None, "FULLY_CONNECTED": None, "SOFTMAX": None, "MAX_POOL_2D": "Register_MAX_POOL_2D_INT8"}


def test_model_settings_registers_exactly_the_graph_ops():
    ops = op_names(read_ops(MIXED))
    settings = ModelSettings(run_name="r", source="/r", input_shape=[1, 49, 10, 1], input_scale=0.1,
                             input_zero_point=0, output_scale=1 / 256, output_zero_point=-128, labels=["a", "b"],
                             config="640/320/40", arena_measured_bytes=1000, ops=ops)
    text = model_settings_file(settings, MIXED)
    int8 = parse_registrations(text)
    generic = parse_registrations(text, "KWS_REGISTER_OPS_GENERIC")
    assert [m for m, _ in int8] == [m for m, _ in generic] == ["AddConv2D", "AddDepthwiseConv2D", "AddAdd", "AddReshape",
                                                               "AddFullyConnected", "AddSoftmax", "AddMaxPool2D"]
    assert all(k is None for _, k in generic)
    assert dict(int8)["AddDepthwiseConv2D"] == "Register_DEPTHWISE_CONV_2D_INT8" and dict(int8)["AddConv2D"] is None
    assert f"#define KWS_NUM_OPS {len(ops)}" in text


def test_model_runner_includes_every_int8_kernel_header():
    from pathlib import Path

    from dadarts.export.resolver import INT8_KERNELS
    text = (Path(__file__).resolve().parents[1] / "firmware" / "app" / "model_runner.cc").read_text()
    for header, _, _ in INT8_KERNELS.values():
        assert f'#include "tensorflow/lite/micro/kernels/{header}"' in text, header
