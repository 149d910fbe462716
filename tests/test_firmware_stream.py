"""The streaming firmware on the emulated STM32F405 (QEMU netduinoplus2), without TFLM.

A tiny int8 model learns three "words" (a high tone, a low tone, and noise as _silence_); a 14 s
stream with the tones at known times among noise is fed into the chip's audio UART. The tethered
build runs front-end, feature ring, stride and recogniser on the device and asks the host for the
model's scores over its host link. Checked: every model input the device sent is bit-exact with the
Python fixed-point front-end at the stride the Python twin assumes, the device's detections are the
Python recogniser's on the same scores, and they find every tone and nothing else.
"""
from __future__ import annotations

import json

import numpy as np
import pytest

from dadarts.firmware import build
from tflite_graphs import keras_int8

CONFIG = "400/200/40"
LABELS = ["_silence_", "high", "low"]
TONES = {"high": 3500.0, "low": 300.0}
EVENTS = [("high", 2.0), ("low", 5.0), ("high", 7.7), ("low", 10.2)]   # word, start (s); 0.6 s each
SECONDS = 12
RECOGNIZER = dict(inference_every_hops=4)   # not the default 2: the stride must reach the device

pytestmark = pytest.mark.skipif(bool(build.missing_tools("stm32f405")),
                                reason=f"needs {build.missing_tools('stm32f405')} (apt-get install {build.ARM_PACKAGES})")


def _clip(rng, word: str | None, n: int = 16000) -> np.ndarray:
    t = np.arange(n) / 16000
    x = rng.normal(0, rng.uniform(30, 300), n)
    if word:
        start, length = rng.uniform(0.05, 0.35), rng.uniform(0.45, 0.6)
        f = TONES[word] * rng.uniform(0.97, 1.03)
        x += rng.uniform(3000, 9000) * np.sin(2 * np.pi * f * t) * ((t >= start) & (t < start + length))
    return np.clip(np.round(x), -32768, 32767).astype(np.int16)


def _stream(rng) -> np.ndarray:
    x = rng.normal(0, 150, SECONDS * 16000)
    t = np.arange(int(0.6 * 16000)) / 16000
    for word, start in EVENTS:
        i = int(start * 16000)
        x[i:i + len(t)] += 7000 * np.sin(2 * np.pi * TONES[word] * t)
    return np.clip(np.round(x), -32768, 32767).astype(np.int16)


def _default_shaped(config, n_labels: int):
    """The shape of the default search's networks, small: a strided stem convolution, a depthwise-separable
    block with a residual ADD, global average pooling (MEAN) and one fully connected layer."""
    import tensorflow as tf
    L = tf.keras.layers
    x = inp = tf.keras.Input(shape=(*config.shape, 1))
    x = L.Conv2D(8, (5, 3), strides=2, padding="same", activation="relu")(x)
    y = L.DepthwiseConv2D(3, padding="same", activation="relu")(x)
    y = L.Conv2D(8, 1, activation="relu")(y)
    x = L.Add()([x, y])
    x = L.DepthwiseConv2D(3, strides=2, padding="same", activation="relu")(x)
    x = L.Conv2D(16, 1, activation="relu")(x)
    x = L.GlobalAveragePooling2D()(x)
    return tf.keras.Model(inp, L.Dense(n_labels)(x))


def tone_run(root, default_shaped: bool = False):
    """A run directory with what `dadarts export --int8` leaves for the firmware, for the tone model
    (`default_shaped`: the ops and shape of a searched network instead of pool + dense)."""
    import tensorflow as tf
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

    config = MfccConfig.parse(CONFIG)
    rng = np.random.default_rng(0)
    words = [None, "high", "low"] * 40
    pcm = np.stack([_clip(rng, w) for w in words])
    y = np.array([LABELS.index(w or "_silence_") for w in words])
    with torch.no_grad():
        mfcc = Mfcc(config)(torch.from_numpy(pcm)).double().numpy()
    mean, std = mfcc.reshape(-1, config.n_mfcc).mean(0), mfcc.reshape(-1, config.n_mfcc).std(0) + 1e-3
    run = RunDir.of(root)
    write_frontend(run.frontend, config, mean, std)
    out_dir = run.firmware
    x = ((mfcc - mean) / std)[..., None].astype(np.float32)
    tf.keras.utils.set_random_seed(0)
    model = _default_shaped(config, len(LABELS)) if default_shaped else tf.keras.Sequential([
        tf.keras.Input(shape=(*config.shape, 1)), tf.keras.layers.AveragePooling2D((4, 1)), tf.keras.layers.Flatten(),
        tf.keras.layers.Dense(len(LABELS))])
    model.compile(optimizer=tf.keras.optimizers.Adam(0.01),
                  loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x, y, epochs=25, verbose=0)
    tflite = keras_int8(model, x)
    run.tflite_int8.parent.mkdir(parents=True, exist_ok=True)
    run.tflite_int8.write_bytes(tflite)

    from ai_edge_litert.interpreter import Interpreter
    it = Interpreter(model_content=tflite)
    inp, out = it.get_input_details()[0], it.get_output_details()[0]
    (in_scale, in_zp), (out_scale, out_zp) = inp["quantization"], out["quantization"]
    # As the export does: the tables from the run's frontend.json (float32 statistics).
    tables = ctables.tables_from_frontend(json.loads(run.frontend.read_text()), float(in_scale), int(in_zp))
    ctables.write_tables(out_dir, tables, source="tests/test_firmware_stream.py")
    settings = ModelSettings(run_name="tones", source="tests/test_firmware_stream.py", input_shape=[int(v) for v in inp["shape"]],
                             input_scale=float(in_scale), input_zero_point=int(in_zp), output_scale=float(out_scale),
                             output_zero_point=int(out_zp), labels=LABELS, config=config.name,
                             arena_measured_bytes=measure_arena(tflite).total_bytes, ops=op_names(read_ops(tflite)))
    write_firmware_files(out_dir, tflite, settings)
    write_recognizer_files(out_dir, out_dir, RecognizerSettings(**RECOGNIZER), config, float(out_scale), int(out_zp),
                           "tones")
    return run, tables, tflite


class _Model:
    """The int8 model on the host: what the tethered device's link asks for."""

    def __init__(self, tflite: bytes):
        from ai_edge_litert.interpreter import Interpreter
        self.it = Interpreter(model_content=tflite)
        self.it.allocate_tensors()
        self.inp, self.out = self.it.get_input_details()[0], self.it.get_output_details()[0]

    def __call__(self, x: np.ndarray) -> np.ndarray:
        self.it.set_tensor(self.inp["index"], x.reshape(self.inp["shape"]))
        self.it.invoke()
        return self.it.get_tensor(self.out["index"]).ravel()


@pytest.fixture(scope="module")
def tethered(tmp_path_factory):
    run, tables, tflite = tone_run(tmp_path_factory.mktemp("stream") / "run")
    # Where `dadarts firmware stream` builds, so that the command test below reuses the build.
    b = build.cmake_build(run.firmware, run.root / "firmware" / "build-stm32f405", "stm32f405",
                          targets=("kws_app_tethered",))
    return run, tables, tflite, b / "kws_app_tethered.elf"


def _twin_detections(dev, tables, tflite):
    """The Python recogniser twin on the scores the device got and the times it used (ms since its start)."""
    from dadarts.evaluate.recognizer import recognise, scores_from_output
    from dadarts.export.recognizer_settings import RecognizerSettings, score_exp_table
    settings = RecognizerSettings(**RECOGNIZER)
    T, stride = tables.config.n_frames, settings.inference_every_hops
    outputs = np.stack(dev.outputs)
    times = ((T - 1 + stride * np.arange(len(outputs))) * tables.config.hop + tables.config.window) // 16
    exp = score_exp_table(*_Model(tflite).out["quantization"])
    avg, found = recognise(scores_from_output(outputs, exp), times, settings, [not w.startswith("_") for w in LABELS],
                           settings.history(tables.config.hop))
    return [(int(avg.times[i]), LABELS[int(avg.label[i])], int(avg.score[i])) for i in found]


def _finds_every_tone(detections, slack_s: float = 1.6) -> bool:
    hits = [[d for d in detections if d[1] == word and start * 1000 <= d[0] <= (start + slack_s) * 1000]
            for word, start in EVENTS]
    return all(len(h) == 1 for h in hits) and len(detections) == len(EVENTS)


def test_tethered_stream_on_the_emulated_stm32f405(tethered):
    from dadarts.export.recognizer_settings import RecognizerSettings
    from dadarts.firmware.qemu_stream import run_stream
    from dadarts.frontend import fixed

    _, tables, tflite, elf = tethered
    pcm = _stream(np.random.default_rng(1))
    model = _Model(tflite)
    dev = run_stream(elf, pcm, answer=model, input_size=tables.config.n_frames * tables.config.n_mfcc, timeout_s=600)
    assert any("STM32F405" in line and "168 MHz" in line for line in dev.banner), dev.banner
    assert dev.last_stats["dropped"] == 0 and dev.last_stats["t_ms"] >= SECONDS * 1000

    # Front-end on the device: inference k sees frames [k * stride, k * stride + T) of the stream.
    settings = RecognizerSettings(**RECOGNIZER)
    frames = fixed.features_from_frames(fixed.stream_frames(pcm, tables.config), tables)
    T, stride = tables.config.n_frames, settings.inference_every_hops
    n = (len(frames) - T) // stride + 1
    assert len(dev.inputs) >= n
    for k in range(n):
        np.testing.assert_array_equal(dev.inputs[k], frames[k * stride:k * stride + T].ravel(), err_msg=f"inference {k}")

    # Recogniser on the device = the Python twin on the same scores and times.
    assert dev.detections == _twin_detections(dev, tables, tflite)

    # Every tone found within a second after its end, nothing else.
    assert _finds_every_tone(dev.detections), (dev.detections, EVENTS)
    assert dev.last_stats["fe_cycles"] > 0 and dev.last_stats["stack"] > 0
    print(json.dumps({"detections": dev.detections, "stats": dev.last_stats, "wall_s": dev.wall_s}))


def test_generated_resolver_matches_the_converted_graph(tethered):
    from dadarts.export.resolver import INT8_KERNELS, parse_registrations, resolver_method
    from dadarts.export.tflite_graph import op_names, read_ops

    run, _, tflite, _ = tethered
    ops = op_names(read_ops(tflite))
    regs = parse_registrations((run.firmware / "model_settings.h").read_text())
    assert [m for m, _ in regs] == [resolver_method(op) for op in ops]
    # The converter's graph is int8 throughout: every op TFLM has an int8-only kernel for gets it.
    assert {op: k for op, (_, k) in zip(ops, regs)} == {op: INT8_KERNELS[op][1] if op in INT8_KERNELS else None for op in ops}


def test_stream_command_prints_and_saves_the_device_detections(tethered, tmp_path, capsys):
    import argparse

    from dadarts.data.wavio import write_wav
    from dadarts.firmware import stream_command
    from dadarts.rundir import read_json

    run = tethered[0]
    rng = np.random.default_rng(2)
    x = rng.normal(0, 150, 4 * 16000)
    t = np.arange(int(0.6 * 16000)) / 16000
    x[16000:16000 + len(t)] += 7000 * np.sin(2 * np.pi * TONES["low"] * t)
    wav = tmp_path / "low.wav"
    write_wav(wav, np.clip(np.round(x), -32768, 32767).astype(np.int16))
    p = argparse.ArgumentParser()
    stream_command.add_arguments(p)
    args = p.parse_args([str(run.root), "--wav", str(wav), "--timeout", "600"])
    args._argv = ["firmware", "stream"]
    assert stream_command.run(args) == 0
    out = capsys.readouterr().out
    saved = read_json(run.root / "firmware" / "stream.json", "firmware_stream")
    assert [d["label"] for d in saved["detections"]] == ["low"] and "low" in out
    assert saved["model_on"] == "host" and 20_000 < saved["frontend_instructions_per_frame"] < 150_000


def test_build_command_sizes_the_chip_and_checks_the_frontend_on_it(tethered, capsys):
    import argparse

    from dadarts.firmware import build_command
    from dadarts.rundir import read_json

    run = tethered[0]
    p = argparse.ArgumentParser()
    build_command.add_arguments(p)
    args = p.parse_args([str(run.root), "--target", "stm32f405"])
    args._argv = ["firmware", "build"]
    assert build_command.run(args) == 0
    out = capsys.readouterr().out
    assert "flash:" in out and "of 1024 KiB" in out and "of 128 KiB" in out
    result = read_json(run.run_json, "run")["stages"]["firmware_build_stm32f405"]
    assert result["app"] == "kws_app_tethered" and result["bit_exact"] is True
    assert result["sizes"]["ram_by_part"]["stack"] == 8192 and result["stack_bytes"] > 0


def test_clock_runs_past_the_32_bit_wrap_on_the_emulated_stm32f405(tethered):
    """A device that has been listening for 49.7 days: its ms clock starts 5 s before 2^32 and wraps during
    the stream (its 64-bit sample counter has long passed 2^32). It decides exactly as from zero."""
    from dadarts.firmware.qemu_stream import run_stream

    run, tables, tflite, _ = tethered
    start = 2 ** 32 - 5000
    b = build.cmake_build(run.firmware, run.root / "firmware" / "build-wrap", "stm32f405", targets=("kws_app_tethered",),
                          defines={"KWS_CLOCK_START_MS": str(start)})
    dev = run_stream(b / "kws_app_tethered.elf", _stream(np.random.default_rng(1)), answer=_Model(tflite),
                     input_size=tables.config.n_frames * tables.config.n_mfcc, timeout_s=600)
    assert dev.clock_start_ms == start
    printed = [int(line.rsplit(" ", 2)[-2]) for line in dev.log if line.startswith("detected ")]
    assert any(t > start for t in printed) and any(t < 10_000 for t in printed), printed   # before and after the wrap
    assert dev.detections == _twin_detections(dev, tables, tflite)
    assert _finds_every_tone(dev.detections), dev.detections
    assert dev.last_stats["recognizer_errors"] == 0 and dev.last_stats["t_ms"] >= SECONDS * 1000


def test_uart_framing_resynchronises_after_lost_bytes(tethered):
    """Bytes lost on the audio line (an overrun on silicon): each costs the block it was in, counted as
    dropped samples, and the rest of the stream keeps its byte order: every tone is still found."""
    from dadarts.firmware.qemu_stream import run_stream
    from dadarts.firmware.uart_audio import BLOCK_BYTES, BLOCK_SAMPLES

    _, tables, tflite, elf = tethered
    block = lambda t: int(t * 16000) // BLOCK_SAMPLES * BLOCK_BYTES  # noqa: E731  (first byte of the block at t s)
    lost = [block(1.0) + 3 + 101, block(4.0) + 2, block(9.0) + 3 + 200]   # two sample bytes and a sequence number
    dev = run_stream(elf, _stream(np.random.default_rng(1)), answer=_Model(tflite),
                     input_size=tables.config.n_frames * tables.config.n_mfcc, timeout_s=600, lose_bytes=lost)
    assert dev.last_stats["dropped"] == len(lost) * BLOCK_SAMPLES
    assert dev.detections == _twin_detections(dev, tables, tflite)
    assert _finds_every_tone(dev.detections), dev.detections


def test_stack_overflow_faults_and_says_so_on_the_emulated_stm32f405(tethered):
    """The application's stack sits at the bottom of RAM: too small a stack runs off RAM and faults at once
    (instead of overwriting other data), and the fault handler, on its own stack, reports it."""
    from dadarts.errors import UserError
    from dadarts.firmware.qemu_stream import run_stream

    run, tables, tflite, _ = tethered
    b = build.cmake_build(run.firmware, run.root / "firmware" / "build-small-stack", "stm32f405",
                          targets=("kws_app_tethered",), defines={"KWS_STACK_SIZE": "256"})
    with pytest.raises(UserError, match=r"fault: stack overflow: the application's stack \(psp=0x1fff[0-9a-f]{4}\) ran "
                                        r"below its bottom 0x20000000 \(256 B\)"):
        run_stream(b / "kws_app_tethered.elf", _stream(np.random.default_rng(1))[:16000], answer=_Model(tflite),
                   input_size=tables.config.n_frames * tables.config.n_mfcc, timeout_s=120)
