"""ONNX -> TensorFlow SavedModel (onnx2tf) -> float and full-integer int8 .tflite, and running them.

The path that was checked to give a clean int8 graph (issue 5): onnx2tf writes only the float
SavedModel; our own TFLiteConverter call quantises it with int8 input and output, per-channel
weights, a representative set of NHWC training features and the legacy quantizer
(`experimental_new_quantizer=False`). The new quantizer, and onnx2tf's own -oiqt, left a float
island (DEQUANTIZE -> float ADD -> QUANTIZE) in reduction cells.

onnx2tf 1.29.24 has one rewrite that breaks NHWC graphs made of adds: Add's "rescue guard for
unexpected broadcasted shapes" compares the NHWC TensorFlow result with the NCHW ONNX shape, finds
they differ (they always do when C != H), and transposes both operands to NCHW; every cell node
then ends in a TRANSPOSE pair around the concatenation. `_no_add_rescue` disables that guard for
the conversion only. It is the guard's sole use of `transpose_with_flexing_deterrence` in
onnx2tf.ops.Add, so real broadcasts (bias adds, constants) are unaffected; the int8 graph is still
checked afterwards and any TRANSPOSE fails the export.
"""
from __future__ import annotations

import contextlib
import os
from pathlib import Path

import numpy as np

from ..errors import UserError
from ..fdcapture import captured_output


def quiet_tensorflow():
    """Import TensorFlow with its C++ and Python logging turned down.

    Loading TensorFlow's libraries registers the CUDA plugins (cuDNN, cuBLAS) and XLA's computation
    placer more than once and logs each from C++ static initialisers, before TF_CPP_MIN_LOG_LEVEL
    applies; those lines are swallowed by capturing file descriptors 1 and 2 around the import.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    with captured_output():
        import tensorflow as tf
    tf.get_logger().setLevel("ERROR")
    return tf


@contextlib.contextmanager
def _no_add_rescue():
    """Disable onnx2tf's NCHW 'rescue' transposes in Add (see module doc) for the duration."""
    import onnx2tf.ops.Add as add_module
    original = add_module.transpose_with_flexing_deterrence
    add_module.transpose_with_flexing_deterrence = lambda *, input_tensor, perm, **kwargs: input_tensor
    try:
        yield
    finally:
        add_module.transpose_with_flexing_deterrence = original


def onnx_to_saved_model(onnx_path: str | Path, saved_dir: str | Path) -> None:
    """Float TensorFlow SavedModel, NHWC, via onnx2tf."""
    quiet_tensorflow()
    import onnx2tf
    import tf_keras
    # Layer names come from process-wide counters (tf.math.add_147 after earlier conversions), and the
    # TFLite converter's operator order follows the names: without a reset the same network exported
    # twice in one process got another op order, and TFLM's planner another arena (23,488 vs 24,480 B).
    tf_keras.backend.clear_session()
    with captured_output() as log, _no_add_rescue():
        try:
            onnx2tf.convert(input_onnx_file_path=str(onnx_path), output_folder_path=str(saved_dir),
                            non_verbose=True, output_signaturedefs=True)
            error = None
        except (Exception, SystemExit) as exc:  # onnx2tf calls sys.exit on some conversion errors
            error = exc
    if error is not None or not (Path(saved_dir) / "saved_model.pb").is_file():
        tail = "; ".join(ln.strip() for ln in log[0].splitlines() if "ERROR" in ln)[-400:]
        raise UserError(f"onnx2tf could not convert {onnx_path} ({tail or type(error).__name__}): "
                        "the model uses an op the ONNX -> TFLite path does not support.")


def float_tflite(saved_dir: str | Path) -> bytes:
    tf = quiet_tensorflow()
    with captured_output():
        converter = tf.lite.TFLiteConverter.from_saved_model(str(saved_dir))
        return converter.convert()


def int8_tflite(saved_dir: str | Path, calibration_nhwc: np.ndarray | list[dict[str, np.ndarray]]) -> bytes:
    """Full-integer int8 model (int8 inputs and outputs, per-channel weights). Calibration: NHWC samples
    of the one input, or (a model of several inputs) one {input name: (1, ...) array} per sample."""
    tf = quiet_tensorflow()
    if len(calibration_nhwc) == 0:
        raise UserError("No calibration samples: use --calibration-samples N with N > 0.")

    def representative():
        for i in range(len(calibration_nhwc)):
            if isinstance(calibration_nhwc, list):
                yield {k: v.astype(np.float32) for k, v in calibration_nhwc[i].items()}
            else:
                yield [calibration_nhwc[i:i + 1].astype(np.float32)]

    with captured_output() as log:
        converter = tf.lite.TFLiteConverter.from_saved_model(str(saved_dir))
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = representative
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.int8
        converter.inference_output_type = tf.int8
        converter.experimental_new_quantizer = False
        try:
            model = converter.convert()
            error = None
        except Exception as exc:
            error = exc
    if error is not None:
        last = [ln for ln in log[0].splitlines() if "error" in ln.lower()][-2:]
        raise UserError(f"Full-integer quantisation failed ({'; '.join(last) or str(error).splitlines()[0]}): "
                        "the model has an op without an int8 TFLite kernel.")
    return model


class TfliteRunner:
    """Run a .tflite model on NHWC float features; int8 models are quantised in and dequantised out."""

    def __init__(self, model: bytes, reference_kernels: bool = False):
        from ai_edge_litert.interpreter import Interpreter, OpResolverType
        resolver = OpResolverType.BUILTIN_REF if reference_kernels else OpResolverType.AUTO
        self.interp = Interpreter(model_content=model, experimental_op_resolver_type=resolver, num_threads=1)
        with captured_output():   # LiteRT announces its XNNPACK delegate on stderr ("INFO: Created ...")
            self.interp.allocate_tensors()
        self.inp = self.interp.get_input_details()[0]
        self.out = self.interp.get_output_details()[0]

    @property
    def input_quant(self) -> tuple[float, int]:
        return tuple(self.inp["quantization"])

    @property
    def output_quant(self) -> tuple[float, int]:
        return tuple(self.out["quantization"])

    def quantize(self, x: np.ndarray) -> np.ndarray:
        if self.inp["dtype"] != np.int8:
            return x.astype(np.float32)
        scale, zp = self.input_quant
        return np.clip(np.round(x / scale) + zp, -128, 127).astype(np.int8)

    def raw(self, xq: np.ndarray) -> np.ndarray:
        """Outputs in the model's own type for already-quantised inputs (N, T, F, 1)."""
        outs = []
        for i in range(len(xq)):
            self.interp.set_tensor(self.inp["index"], xq[i:i + 1])
            self.interp.invoke()
            outs.append(self.interp.get_tensor(self.out["index"]).copy())
        return np.concatenate(outs, axis=0)

    def dequantize(self, y: np.ndarray) -> np.ndarray:
        if self.out["dtype"] != np.int8:
            return y.astype(np.float32)
        scale, zp = self.output_quant
        return (y.astype(np.float32) - zp) * scale

    def __call__(self, x_nhwc: np.ndarray) -> np.ndarray:
        return self.dequantize(self.raw(self.quantize(x_nhwc)))
