"""The TFLite flatbuffer schema (as shipped in the tflite-micro wheel) with name look-ups.

Reading a .tflite through the schema needs no TensorFlow import, which keeps graph checks fast.
"""
from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=1)
def tflite_schema():
    """(schema module, {opcode: builtin name}, {tensor type code: type name})."""
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema
    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    types = {v: k for k, v in vars(schema.TensorType).items() if not k.startswith("_")}
    return schema, names, types
