"""A small int8 step model made the way a streaming export is (issue #24, dadarts export --streaming), for
the firmware tests: input 0 = the new frames (1, N, F, 1), inputs 1..k = states, output 0 = logits,
outputs 1..k = next states with the same shape and quantisation as their inputs, stream_step.json and the
step build's model_settings.h (dadarts.export.carrays with `stream`). The graph has the ops a streamed
chain network has: a time buffer per layer (CONCATENATION of the state and the new frames, STRIDED_SLICE
of its last K-1 frames as the next state), CONV_2D and DEPTHWISE_CONV_2D valid along time, MEAN and
FULLY_CONNECTED; random weights (the tests compare the device with its twin bit for bit).
"""
from __future__ import annotations

import json

import numpy as np

N, K = 5, 3                 # frames per step, time kernel of both layers
WARMUP = 2                  # steps whose output is not a decision
CHANNELS = 4


def _keras_step(n_features: int, n_labels: int):
    import tensorflow as tf
    L = tf.keras.layers
    # Names sort in the order the contract wants; the converter's order is fixed afterwards (_reorder).
    x = tf.keras.Input((N, n_features, 1), batch_size=1, name="a_frames")
    s1 = tf.keras.Input((K - 1, n_features, 1), batch_size=1, name="b_state1")
    s2 = tf.keras.Input((K - 1, n_features - 2, CHANNELS), batch_size=1, name="c_state2")
    c1 = L.Concatenate(axis=1)([s1, x])
    s1_next = L.Lambda(lambda t: t[:, -(K - 1):], name="b_state1_next")(c1)
    y1 = L.Conv2D(CHANNELS, (K, 3), padding="valid", activation="relu")(c1)
    c2 = L.Concatenate(axis=1)([s2, y1])
    s2_next = L.Lambda(lambda t: t[:, -(K - 1):], name="c_state2_next")(c2)
    y2 = L.DepthwiseConv2D((K, 3), padding="valid", activation="relu")(c2)
    logits = L.Dense(n_labels, name="a_logits")(L.GlobalAveragePooling2D()(y2))
    return tf.keras.Model([x, s1, s2], [logits, s1_next, s2_next])


def _reorder(tflite: bytes, inputs: list[int], outputs: list[int]) -> bytes:
    """The flatbuffer with its subgraph's inputs / outputs listed in the given order of tensor indices."""
    import flatbuffers

    from dadarts.tflite_schema import tflite_schema
    schema, _, _ = tflite_schema()
    model = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(tflite, 0))
    model.subgraphs[0].inputs, model.subgraphs[0].outputs = inputs, outputs
    b = flatbuffers.Builder(len(tflite) + 1024)
    b.Finish(model.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def convert_step(n_features: int, n_labels: int, seed: int = 0) -> bytes:
    """The step model, int8, random weights, calibrated on random frames and the states they lead to."""
    import tensorflow as tf
    from ai_edge_litert.interpreter import Interpreter
    tf.keras.utils.set_random_seed(seed)
    model = _keras_step(n_features, n_labels)
    rng = np.random.default_rng(seed)

    def calibration():
        s1 = np.zeros((1, K - 1, n_features, 1), np.float32)
        s2 = np.zeros((1, K - 1, n_features - 2, CHANNELS), np.float32)
        for _ in range(40):
            x = rng.normal(0, 1, (1, N, n_features, 1)).astype(np.float32)
            yield {"a_frames": x, "b_state1": s1, "c_state2": s2}
            _, s1, s2 = (t.numpy() for t in model([x, s1, s2]))

    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = calibration
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = conv.inference_output_type = tf.int8
    tflite = conv.convert()
    it = Interpreter(model_content=tflite)
    ins = {d["name"]: d["index"] for d in it.get_input_details()}
    outs = {tuple(d["shape"]): d["index"] for d in it.get_output_details()}
    by_name = lambda key: next(i for name, i in ins.items() if key in name)  # noqa: E731
    state_shapes = [(1, K - 1, n_features, 1), (1, K - 1, n_features - 2, CHANNELS)]
    return _reorder(tflite, [by_name("a_frames"), by_name("b_state1"), by_name("c_state2")],
                    [outs[(1, n_labels)], *(outs[s] for s in state_shapes)])


def step_info(tflite: bytes) -> dict:
    """stream_step.json's body for the step model (schema 1, kind stream_step)."""
    from ai_edge_litert.interpreter import Interpreter
    it = Interpreter(model_content=tflite)
    ins, outs = it.get_input_details(), it.get_output_details()
    states = []
    for i in range(1, len(ins)):
        a, b = ins[i], outs[i]
        assert tuple(a["shape"]) == tuple(b["shape"]) and a["quantization"] == b["quantization"], (a, b)
        states.append({"name": f"state{i}", "shape": [int(v) for v in a["shape"]], "bytes": int(np.prod(a["shape"])),
                       "input_index": i, "output_index": i, "scale": float(a["quantization"][0]),
                       "zero_point": int(a["quantization"][1])})
    return {"schema": 1, "kind": "stream_step", "frames_per_step": N, "time_stride": 1, "warmup_steps": WARMUP,
            "states": states}


def step_run(root, config_name: str = "400/200/40", labels=("_silence_", "high", "low")):
    """A run directory with the step export's firmware files: (run, tables, tflite bytes, step info)."""
    import torch

    from dadarts.costmodel.arena import measure_arena
    from dadarts.export.carrays import ModelSettings, write_firmware_files
    from dadarts.export.recognizer_settings import RecognizerSettings, write_recognizer_files
    from dadarts.export.tflite_graph import op_names, read_ops
    from dadarts.frontend import ctables
    from dadarts.frontend.artifact import write_frontend
    from dadarts.frontend.mfcc import Mfcc
    from dadarts.frontend.spec import MfccConfig
    from dadarts.rundir import RunDir
    from ai_edge_litert.interpreter import Interpreter

    config = MfccConfig.parse(config_name)
    rng = np.random.default_rng(0)
    pcm = np.clip(rng.normal(0, 300, (8, 16000)), -32768, 32767).astype(np.int16)
    with torch.no_grad():
        mfcc = Mfcc(config)(torch.from_numpy(pcm)).double().numpy().reshape(-1, config.n_mfcc)
    run = RunDir.of(root)
    write_frontend(run.frontend, config, mfcc.mean(0), mfcc.std(0) + 1e-3)
    tflite = convert_step(config.n_mfcc, len(labels))
    path = run.root / "export" / "model_step_int8.tflite"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(tflite)
    step = step_info(tflite)
    (run.root / "export" / "stream_step.json").write_text(json.dumps(step, indent=1))
    it = Interpreter(model_content=tflite)
    inp, out = it.get_input_details()[0], it.get_output_details()[0]
    (in_scale, in_zp), (out_scale, out_zp) = inp["quantization"], out["quantization"]
    tables = ctables.tables_from_frontend(json.loads(run.frontend.read_text()), float(in_scale), int(in_zp))
    ctables.write_tables(run.firmware, tables, source="tests/step_model.py")
    settings = ModelSettings(run_name="step", source="tests/step_model.py", input_shape=[int(v) for v in inp["shape"]],
                             input_scale=float(in_scale), input_zero_point=int(in_zp), output_scale=float(out_scale),
                             output_zero_point=int(out_zp), labels=list(labels), config=config.name,
                             arena_measured_bytes=measure_arena(tflite).total_bytes, ops=op_names(read_ops(tflite)),
                             stream=step)
    write_firmware_files(run.firmware, tflite, settings)
    write_recognizer_files(run.root / "export", run.firmware, RecognizerSettings(inference_every_hops=N), config,
                           float(out_scale), int(out_zp), "step")
    return run, tables, tflite, step
