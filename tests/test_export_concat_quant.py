"""The fold of the QUANTIZE ops before CONCATENATION inputs (dadarts.export.concat_quant) on small graphs
made with TensorFlow's converter (legacy quantizer, as the export uses it): what it folds, what it must
refuse, and that the folded flatbuffer loads and computes in LiteRT and in TFLite Micro.
"""
import numpy as np
import pytest

from dadarts.export.concat_quant import BUFFER_ALIGNMENT, fold_concat_quantize
from dadarts.export.tflite_convert import TfliteRunner, quiet_tensorflow
from dadarts.export.tflite_graph import read_ops
from dadarts.export.tflm_check import compare_lsb, run_tflm
from dadarts.tflite_schema import tflite_schema

pytestmark = pytest.mark.slow
SHAPE = [1, 8, 8, 2]


def int8_model(build) -> bytes:
    """A full-integer model of build(x), calibrated on x in [-1, 1]."""
    tf = quiet_tensorflow()
    fn = tf.function(build, input_signature=[tf.TensorSpec(SHAPE, tf.float32)])

    def representative():
        rng = np.random.default_rng(0)
        for _ in range(32):
            yield [rng.uniform(-1, 1, SHAPE).astype(np.float32)]

    converter = tf.lite.TFLiteConverter.from_concrete_functions([fn.get_concrete_function()], fn)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = converter.inference_output_type = tf.int8
    converter.experimental_new_quantizer = False
    return converter.convert()


def requantised_concat_inputs(model: bytes) -> list[list[str]]:
    """For each QUANTIZE feeding a CONCATENATION: the other ops that read its input."""
    ops = read_ops(model)
    concat_inputs = {name for op in ops if op.name == "CONCATENATION" for name, _, _ in op.inputs}
    return [[o.name for o in ops if o is not q and q.inputs[0][0] in {n for n, _, _ in o.inputs}]
            for q in ops if q.name == "QUANTIZE" and q.layer in concat_inputs]


def boundary_quantisation(model: bytes) -> list:
    """(name, scale, zero point) of every graph input and output, in LiteRT's order."""
    runner = TfliteRunner(model)
    details = runner.interp.get_input_details() + runner.interp.get_output_details()
    return [(d["name"], *d["quantization"]) for d in details]


def buffer_offsets(model: bytes) -> list[int]:
    schema, _, _ = tflite_schema()
    root = schema.Model.GetRootAsModel(bytearray(model), 0)
    buffers = [root.Buffers(i) for i in range(root.BuffersLength())]
    return [b._tab.Vector(b._tab.Offset(4)) for b in buffers if b.DataLength()]


def tensor_quant(model: bytes, name: str) -> tuple[float, int]:
    runner = TfliteRunner(model)
    detail = next(d for d in runner.interp.get_tensor_details() if d["name"] == name)
    return detail["quantization"]


def outputs(model: bytes, x: np.ndarray) -> list[tuple[np.ndarray, float]]:
    """Every output of the int8 model for float inputs x, dequantised, with its scale."""
    runner = TfliteRunner(model)
    details = runner.interp.get_output_details()
    got = [[] for _ in details]
    for i in range(len(x)):
        runner.interp.set_tensor(runner.inp["index"], runner.quantize(x[i:i + 1]))
        runner.interp.invoke()
        for d, out in zip(details, got):
            out.append(runner.interp.get_tensor(d["index"]).copy())
    return [((np.concatenate(out).astype(np.float32) - d["quantization"][1]) * d["quantization"][0],
             d["quantization"][0]) for d, out in zip(details, got)]


def check_runs_the_same_in_tflm(model: bytes) -> None:
    runner = TfliteRunner(model, reference_kernels=True)
    xq = runner.quantize(np.random.default_rng(1).uniform(-1, 1, [6, *SHAPE[1:]]).astype(np.float32))
    assert compare_lsb(run_tflm(model, xq), runner.raw(xq).reshape(len(xq), -1))["max_lsb"] == 0


def test_a_concat_input_read_by_nothing_else_takes_the_concat_parameters():
    def two_branches(x):
        return tf.concat([x * 2.0, x * 4.0], -1), tf.reduce_mean(x * 3.0, axis=[1, 2])

    tf = quiet_tensorflow()
    model = int8_model(two_branches)
    assert requantised_concat_inputs(model) == [[]]
    fold = fold_concat_quantize(model)
    assert (fold.folded, fold.kept) == (1, [])
    ops = read_ops(fold.model)
    assert "QUANTIZE" not in {op.name for op in ops} and len(ops) == len(read_ops(model)) - 1
    assert fold.model[4:8] == b"TFL3" and all(o % BUFFER_ALIGNMENT == 0 for o in buffer_offsets(fold.model))
    assert boundary_quantisation(fold.model) == boundary_quantisation(model)
    concat = next(op for op in ops if op.name == "CONCATENATION")
    assert tensor_quant(fold.model, concat.inputs[0][0]) == tensor_quant(fold.model, concat.layer)
    check_runs_the_same_in_tflm(fold.model)
    # The concat's input is rounded once instead of twice: at most 1 LSB from the converter's model,
    # and the other output is untouched.
    x = np.random.default_rng(2).uniform(-1, 1, [32, *SHAPE[1:]]).astype(np.float32)
    (folded, scale), mean = outputs(fold.model, x)
    (converted, _), mean_converted = outputs(model, x)
    assert np.abs(folded - converted).max() <= scale * 1.001 and np.array_equal(mean[0], mean_converted[0])


def test_a_tensor_that_other_ops_read_keeps_its_quantize():
    def shared(x):
        a, b, c = x * 2.0, x * 4.0, x * 0.5
        return tf.concat([a, b], -1), tf.concat([a, c], -1)   # a enters the second concat as it is

    tf = quiet_tensorflow()
    model = int8_model(shared)
    assert sorted(requantised_concat_inputs(model)) == [[], ["CONCATENATION"]]
    fold = fold_concat_quantize(model)
    assert fold.folded == 1 and len(fold.kept) == 1 and "is also read by CONCATENATION" in fold.kept[0]
    assert requantised_concat_inputs(fold.model) == [["CONCATENATION"]]
    assert boundary_quantisation(fold.model) == boundary_quantisation(model)
    check_runs_the_same_in_tflm(fold.model)
    # Folding shared tensors too cannot give a the first concat's parameters: the second reads it as it is.
    shared = fold_concat_quantize(model, shared=True)
    assert shared.folded == 1 and "also feeds a CONCATENATION quantised otherwise" in shared.kept[0]


def test_shared_folds_pass_the_parameters_through_a_pool():
    def pooled(x):
        a, b = x * 2.0, x * 4.0                    # a is read by the concat and by the pool
        p = tf.nn.max_pool2d(a, 2, 2, "VALID")     # MAX_POOL_2D passes a's parameters on to p
        return tf.concat([a, b], -1), tf.reduce_mean(p * 3.0, axis=[1, 2])

    tf = quiet_tensorflow()
    model = int8_model(pooled)
    assert requantised_concat_inputs(model) == [["MAX_POOL_2D"]]
    safe = fold_concat_quantize(model)
    assert safe.folded == 0 and "also read by MAX_POOL_2D" in safe.kept[0] and safe.model == model
    fold = fold_concat_quantize(model, shared=True)
    assert (fold.folded, fold.kept) == (1, []) and requantised_concat_inputs(fold.model) == []
    assert boundary_quantisation(fold.model) == boundary_quantisation(model)
    ops = read_ops(fold.model)
    concat = next(op for op in ops if op.name == "CONCATENATION")
    pool = next(op for op in ops if op.name == "MAX_POOL_2D")
    concat_params = tensor_quant(fold.model, concat.layer)
    assert tensor_quant(fold.model, pool.layer) == concat_params != tensor_quant(model, pool.layer)
    check_runs_the_same_in_tflm(fold.model)   # TFLM refuses a pool whose input and output differ
    # The pooled mean now reads its input at the concat's coarser scale: 1 LSB off the converter's model.
    x = np.random.default_rng(2).uniform(-1, 1, [32, *SHAPE[1:]]).astype(np.float32)
    for (folded, scale), (converted, _) in zip(outputs(fold.model, x), outputs(model, x)):
        assert np.abs(folded - converted).max() <= scale * 1.001


def test_a_graph_output_is_never_requantised():
    def boundary(x):
        a, b = x * 2.0, x * 4.0
        return tf.concat([a, b], -1), a

    tf = quiet_tensorflow()
    model = int8_model(boundary)
    for shared in (False, True):
        fold = fold_concat_quantize(model, shared=shared)
        assert fold.folded == 0 and "graph input or output" in fold.kept[0]
        assert fold.model == model
