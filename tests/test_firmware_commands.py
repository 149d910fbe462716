"""`dadarts firmware build|bench` end to end on a small fake run (tiny dataset, tiny int8 model)."""
from __future__ import annotations

import argparse
import json

import numpy as np
import pytest

from dadarts.errors import UserError
from dadarts.firmware import bench_command, build, build_command
from dadarts.frontend import ctables
from dadarts.frontend.artifact import write_frontend
from dadarts.frontend.spec import MfccConfig
from dadarts.rundir import RunDir, read_json, record_run
from tflite_graphs import keras_int8

CONFIG = MfccConfig.parse("400/200/40")
WORDS = {"low": 300.0, "mid": 1200.0, "high": 3500.0}

pytestmark = pytest.mark.skipif(bool(build.missing_tools("host")), reason="needs cmake and gcc")


def _dataset(root):
    from dadarts.data.wavio import write_wav
    rng = np.random.default_rng(0)
    t = np.arange(16000) / 16000
    test, val = [], []
    for word, f in WORDS.items():
        (root / word).mkdir(parents=True)
        for i in range(6):
            x = 6000 * np.sin(2 * np.pi * f * (1 + 0.02 * i) * t) * (np.abs(t - 0.5) < 0.3) + rng.normal(0, 100, 16000)
            name = f"{word}/spk{i}_nohash_0.wav"
            write_wav(root / name, np.clip(x, -32768, 32767).astype(np.int16))
            (test if i < 2 else val if i == 2 else []).append(name)
    (root / "testing_list.txt").write_text("\n".join(test) + "\n")
    (root / "validation_list.txt").write_text("\n".join(val) + "\n")


def _fake_run(tmp_path, config=CONFIG):
    """A run directory with what `dadarts export --int8` leaves for the firmware (for `config`'s clip: the
    1 s files are padded to it)."""
    import tensorflow as tf
    import torch
    from dadarts.data.wavio import read_wav
    from dadarts.frontend.mfcc import Mfcc

    data = tmp_path / "data"
    _dataset(data)
    run = RunDir.of(tmp_path / "run")
    wavs = sorted(data.glob("*/*.wav"))
    pcm = np.stack([read_wav(p) for p in wavs])
    y = np.array([sorted(WORDS).index(p.parent.name) for p in wavs])   # gsc35 labels are sorted words
    mfcc = Mfcc(config)(torch.from_numpy(pcm)).numpy()
    mean, std = mfcc.reshape(-1, 40).mean(0), mfcc.reshape(-1, 40).std(0) + 1e-3
    write_frontend(run.frontend, config, mean, std)
    x = ((mfcc - mean) / std)[..., None].astype(np.float32)
    tf.keras.utils.set_random_seed(0)
    model = tf.keras.Sequential([tf.keras.Input(shape=(*config.shape, 1)), tf.keras.layers.Flatten(),
                                 tf.keras.layers.Dense(len(WORDS)), tf.keras.layers.Softmax()])
    model.compile(optimizer=tf.keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy")
    model.fit(x, y, epochs=30, verbose=0)
    run.tflite_int8.parent.mkdir(parents=True, exist_ok=True)
    run.tflite_int8.write_bytes(keras_int8(model, x))
    from dadarts.firmware.runio import model_input_quantisation
    scale, zp, _ = model_input_quantisation(run.tflite_int8)
    frontend = json.loads(run.frontend.read_text())
    ctables.write_frontend_tables(run.firmware, frontend, scale, zp, source=str(run.root))
    record_run(run, "train", ["train"], data=str(data), task="gsc35")
    return run


@pytest.fixture(scope="module")
def fake_run(tmp_path_factory):
    return _fake_run(tmp_path_factory.mktemp("fw"))


def _args(module, argv):
    p = argparse.ArgumentParser()
    module.add_arguments(p)
    a = p.parse_args(argv)
    a._argv = ["firmware", *argv]
    return a


@pytest.mark.slow
def test_bench_compares_c_and_python_features_end_to_end(fake_run):
    assert bench_command.run(_args(bench_command, [str(fake_run.root), "--clips", "0", "--m4-clips", "1"])) == 0
    report = read_json(fake_run.root / "firmware" / "bench.json", "firmware_bench")
    assert report["clips"] == 6 and report["config"] == CONFIG.name
    assert report["c_vs_python_fixed_bit_exact_share"] == 1.0
    assert report["c_vs_float"]["within_1lsb_share"] >= 0.99
    assert report["accuracy_python_features"] >= 0.8   # the tiny model learned the tones
    assert abs(report["accuracy_delta_points"]) <= 100 / 6 + 1e-9   # at most one of six clips flips
    assert report["host_us_per_frame"] > 0
    if not build.missing_tools("qemu-m4"):
        assert report["m4"]["bit_exact"] and report["m4"]["instructions_per_frame"] > 10_000


@pytest.mark.slow
def test_build_host_runs_tests_and_checks_the_frontend(fake_run, capsys):
    assert build_command.run(_args(build_command, [str(fake_run.root), "--target", "host"])) == 0
    out = capsys.readouterr().out
    assert "host tests" in out and "bit-exact with the Python reference" in out
    assert "firmware_build_host" in read_json(fake_run.run_json, "run")["stages"]


def test_build_refuses_a_run_without_export(tmp_path):
    with pytest.raises(UserError, match="dadarts export"):
        build_command.run(_args(build_command, [str(tmp_path), "--target", "host"]))
    with pytest.raises(UserError, match="tflm-root"):
        build_command.run(_args(build_command, [str(tmp_path), "--wav", "x.wav"]))
    # Not a TFLM tree: one sentence, before CMake could print its error dump.
    with pytest.raises(UserError, match="is not a TFLite Micro tree"):
        build_command.run(_args(build_command, [str(tmp_path), "--tflm-root", str(tmp_path)]))
