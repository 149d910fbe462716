"""Int8 TFLite models with the published architectures the cost model is calibrated against.

Latency and memory of an int8 network do not depend on its weight values, so these models use
random weights and a random representative dataset. Architectures:

- DS-CNN-S/M/L as in ARM ML-KWS-for-MCU (Hello Edge, arXiv 1711.07128; `train_commands.txt`
  model_size_info), 49x10 MFCC input, 12 classes; DS-CNN-S is also the MLPerf Tiny KWS model.
- micro_speech: TFLM's example (49x40 input, one depthwise conv with channel multiplier 8, kernel
  10x8, stride 2, then a fully connected layer to 4 classes).

TensorFlow is imported inside the builders because it is slow to import.
"""
from __future__ import annotations

import numpy as np

# (first conv filters, kernel (h, w), stride (h, w)), then per DS block (filters, stride (h, w)).
DS_CNN = {
    "ds-cnn-s": ((64, (10, 4), (2, 2)), [(64, (1, 1))] * 4),
    "ds-cnn-m": ((172, (10, 4), (2, 1)), [(172, (2, 2))] + [(172, (1, 1))] * 3),
    "ds-cnn-l": ((276, (10, 4), (2, 1)), [(276, (2, 2))] + [(276, (1, 1))] * 4),
}


def _quiet_tf():
    import os
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf
    tf.get_logger().setLevel("ERROR")
    return tf


def keras_ds_cnn(name: str, input_shape=(49, 10), num_classes: int = 12):
    """The Keras DS-CNN of ML-KWS-for-MCU (batch norm folded away: conv + bias + ReLU)."""
    tf = _quiet_tf()
    L = tf.keras.layers
    (f0, k0, s0), blocks = DS_CNN[name]
    inp = tf.keras.Input((*input_shape, 1), batch_size=1)
    x = L.Conv2D(f0, k0, strides=s0, padding="same", activation="relu")(inp)
    for filters, stride in blocks:
        x = L.DepthwiseConv2D((3, 3), strides=stride, padding="same", activation="relu")(x)
        x = L.Conv2D(filters, 1, activation="relu")(x)
    x = L.AveragePooling2D(pool_size=tuple(int(d) for d in x.shape[1:3]))(x)
    x = L.Flatten()(x)
    dense = L.Dense(num_classes)
    return _moderate_logits(tf.keras.Model(inp, L.Softmax()(dense(x))), dense)


def _moderate_logits(model, dense):
    """Rescale the classifier so logits have a standard deviation of about 4.

    With random weights the logits' range is arbitrary; far from O(1) it gives the int8 SOFTMAX an
    input scale whose fixed-point multiplier TFLM cannot represent, and TFLM aborts.
    """
    import tensorflow as tf
    feats = tf.keras.Model(model.input, dense.input)(np.random.default_rng(1).standard_normal(
        (4, *[int(d) for d in model.input_shape[1:]])).astype(np.float32)).numpy()
    rng = np.random.default_rng(2)
    w = rng.standard_normal(dense.kernel.shape).astype(np.float32)
    w *= 4.0 / (float(np.std(feats @ w)) + 1e-12)
    dense.set_weights([w, np.zeros(dense.bias.shape, np.float32)])
    return model


def keras_micro_speech(input_shape=(49, 40), num_classes: int = 4):
    tf = _quiet_tf()
    L = tf.keras.layers
    inp = tf.keras.Input((*input_shape, 1), batch_size=1)
    x = L.DepthwiseConv2D((10, 8), strides=(2, 2), depth_multiplier=8, padding="same", activation="relu")(inp)
    x = L.Flatten()(x)
    dense = L.Dense(num_classes)
    return _moderate_logits(tf.keras.Model(inp, L.Softmax()(dense(x))), dense)


def to_int8_tflite(model, samples: int = 8, seed: int = 0) -> bytes:
    """Full-integer (int8 in/out) conversion with a random representative dataset."""
    tf = _quiet_tf()
    rng = np.random.default_rng(seed)
    shape = [1, *[int(d) for d in model.input_shape[1:]]]

    def representative():
        for _ in range(samples):
            yield [rng.standard_normal(shape).astype(np.float32)]

    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = representative
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8
    return conv.convert()


def build_calibration_model(name: str) -> bytes:
    """Int8 .tflite bytes of a calibration model by name (ds-cnn-s/m/l, micro_speech)."""
    if name in DS_CNN:
        return to_int8_tflite(keras_ds_cnn(name))
    if name == "micro_speech":
        return to_int8_tflite(keras_micro_speech())
    raise ValueError(f"unknown calibration model '{name}': use one of {', '.join([*DS_CNN, 'micro_speech'])}")
