"""Tiny TFLite flatbuffers with chosen operators and tensor types, built with the schema's object API
(no TensorFlow): what graph readers and generators need to see, in milliseconds."""
from __future__ import annotations

import flatbuffers

from dadarts.tflite_schema import tflite_schema


def graph_bytes(ops: list[tuple[str, list[str], list[str]]]) -> bytes:
    """[(builtin name, input tensor types, output tensor types)] -> a .tflite flatbuffer (one subgraph)."""
    schema, names, types = tflite_schema()
    code = {v: k for k, v in names.items()}
    tcode = {v: k for k, v in types.items()}
    model = schema.ModelT()
    model.version = 3
    model.buffers = [schema.BufferT()]
    model.operatorCodes = []
    sub = schema.SubGraphT()
    sub.tensors, sub.operators = [], []
    used: list[int] = []
    for name, ins, outs in ops:
        if code[name] not in used:
            oc = schema.OperatorCodeT()
            oc.builtinCode, oc.deprecatedBuiltinCode, oc.version = code[name], min(code[name], 127), 1
            model.operatorCodes.append(oc)
            used.append(code[name])
        index = []
        for t in [*ins, *outs]:
            tensor = schema.TensorT()
            tensor.type, tensor.shape, tensor.buffer, tensor.name = tcode[t], [1, 4], 0, f"t{len(sub.tensors)}"
            sub.tensors.append(tensor)
            index.append(len(sub.tensors) - 1)
        op = schema.OperatorT()
        op.opcodeIndex, op.inputs, op.outputs = used.index(code[name]), index[:len(ins)], index[len(ins):]
        sub.operators.append(op)
    model.subgraphs = [sub]
    b = flatbuffers.Builder(1024)
    b.Finish(model.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def int8_graph(ops: list[str]) -> bytes:
    """Every op int8 in and out (CONV-like ops with int8 weights and int32 bias)."""
    weighted = {"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"}
    return graph_bytes([(op, ["INT8", "INT8", "INT32"] if op in weighted else ["INT8"], ["INT8"]) for op in ops])


def keras_int8(model, x) -> bytes:
    """A trained Keras model as a full-integer .tflite (int8 in and out), calibrated on the inputs x."""
    import tensorflow as tf
    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = lambda: ([x[i:i + 1]] for i in range(len(x)))
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = conv.inference_output_type = tf.int8
    return conv.convert()
