"""The firmware's op resolver, generated from the exported graph.

TFLM's MicroMutableOpResolver registers an op with a kernel; the default kernel of CONV_2D etc.
handles every type the op may have (int8, int16, int4 weights...), and with an optimised library
(CMSIS-NN) that links every variant into the image. TFLM also has int8-only registrations
(tflite::Register_CONV_2D_INT8() and so on, declared in tensorflow/lite/micro/kernels/*.h; without
CMSIS-NN they fall back to the default kernel). An op gets its int8-only kernel when every instance
of it in the graph is int8 in the tensors that kernel reads as int8; anything else keeps the default.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from .tflite_graph import Op

# MicroMutableOpResolver method names that are not the CamelCase of the builtin name.
_METHOD_EXCEPTIONS = {"PADV2": "AddPadV2", "BATCH_MATMUL": "AddBatchMatMul", "SPLIT_V": "AddSplitV",
                      "L2_NORMALIZATION": "AddL2Normalization", "LOG_SOFTMAX": "AddLogSoftmax"}

# op -> (kernel header under tensorflow/lite/micro/kernels/, the int8-only registration, the input
# indices that kernel requires to be int8; its first output always must be). TFLM 90b983c.
INT8_KERNELS = {
    "CONV_2D": ("conv.h", "Register_CONV_2D_INT8", (0, 1)),
    "DEPTHWISE_CONV_2D": ("depthwise_conv.h", "Register_DEPTHWISE_CONV_2D_INT8", (0, 1)),
    "FULLY_CONNECTED": ("fully_connected.h", "Register_FULLY_CONNECTED_INT8", (0, 1)),
    "TRANSPOSE_CONV": ("transpose_conv.h", "Register_TRANSPOSE_CONV_INT8", (1, 2)),
    "SVDF": ("svdf.h", "Register_SVDF_INT8", (0, 1)),
    "BATCH_MATMUL": ("batch_matmul.h", "Register_BATCH_MATMUL_INT8", (0, 1)),
    "SOFTMAX": ("softmax.h", "Register_SOFTMAX_INT8", (0,)),
    "AVERAGE_POOL_2D": ("pooling.h", "Register_AVERAGE_POOL_2D_INT8", (0,)),
    "MAX_POOL_2D": ("pooling.h", "Register_MAX_POOL_2D_INT8", (0,)),
    "ADD": ("add.h", "Register_ADD_INT8", (0, 1)),
    "MUL": ("mul.h", "Register_MUL_INT8", (0, 1)),
    "PAD": ("pad.h", "Register_PAD_INT8", (0,)),
    "MAXIMUM": ("maximum_minimum.h", "Register_MAXIMUM_INT8", (0, 1)),
    "MINIMUM": ("maximum_minimum.h", "Register_MINIMUM_INT8", (0, 1)),
    "TRANSPOSE": ("transpose.h", "Register_TRANSPOSE_INT8", (0,)),
}


def resolver_method(op: str) -> str:
    """`AddConv2D` for CONV_2D: the MicroMutableOpResolver call that registers a builtin op."""
    if op in _METHOD_EXCEPTIONS:
        return _METHOD_EXCEPTIONS[op]
    # "2D" stays upper case: AddConv2D, AddMaxPool2D, AddDepthwiseConv2D.
    return "Add" + "".join(part if re.fullmatch(r"\d+D", part) else part[:1] + part[1:].lower()
                           for part in op.split("_"))


@dataclass(frozen=True)
class Registration:
    op: str                       # builtin name
    method: str                   # MicroMutableOpResolver method
    kernel: str | None            # int8-only registration function, None = the op's default kernel

    def call(self, resolver: str = "resolver") -> str:
        arg = f"tflite::{self.kernel}()" if self.kernel else ""
        return f"({resolver}).{self.method}({arg});"


def _int8_instance(op: Op, needs: tuple[int, ...]) -> bool:
    return (bool(op.outputs) and op.outputs[0][1] == "INT8"
            and all(i < len(op.inputs) and op.inputs[i][1] == "INT8" for i in needs))


def registrations(ops: list[Op]) -> list[Registration]:
    """One registration per distinct op, in first-use order; int8-only kernels where every instance allows."""
    out: list[Registration] = []
    for name in dict.fromkeys(op.name for op in ops):
        spec = INT8_KERNELS.get(name)
        int8 = spec is not None and all(_int8_instance(op, spec[2]) for op in ops if op.name == name)
        out.append(Registration(name, resolver_method(name), spec[1] if int8 else None))
    return out


_CALL = re.compile(r"\(resolver\)\.(Add\w+)\((?:tflite::(\w+)\(\))?\);")


def parse_registrations(header_text: str, macro: str = "KWS_REGISTER_OPS") -> list[tuple[str, str | None]]:
    """(method, int8 kernel or None) of each call in a generated model_settings.h's register macro."""
    m = re.search(rf"#define {macro}\(resolver\)(.*?)while \(0\)", header_text, re.S)
    if not m:
        raise ValueError(f"no {macro}(resolver) macro in the header")
    return [(method, kernel or None) for method, kernel in _CALL.findall(m.group(1))]
