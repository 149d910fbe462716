"""The keyword application built from a step model (streaming, issue #24) on the host with TFLite Micro:
per step it takes the new frames only, carries the states from Invoke to Invoke, and gives exactly the
outputs of the step model run in LiteRT's reference kernels over the Python front-end's frames with the
same reset and feeding rule; warm-up steps make no decision, later ones feed the recogniser at the
clock of their last frame.
"""
from __future__ import annotations

import re
import subprocess

import numpy as np
import pytest

from dadarts.firmware import build
from tflm_builds import tflm_or_skip

pytestmark = pytest.mark.skipif(bool(build.missing_tools("host")), reason="needs cmake and gcc")


def _stream_pcm(seconds: float = 4.0) -> np.ndarray:
    rng = np.random.default_rng(3)
    n = int(seconds * 16000)
    t = np.arange(n) / 16000
    x = rng.normal(0, 200, n) + 6000 * np.sin(2 * np.pi * 700 * t) * ((t > 1.0) & (t < 1.6))
    return np.clip(np.round(x), -32768, 32767).astype(np.int16)


@pytest.fixture(scope="module")
def host_app(tmp_path_factory):
    from dadarts.export.tflite_graph import op_names, read_ops
    from step_model import step_run
    root = tmp_path_factory.mktemp("step")
    run, tables, tflite, step = step_run(root / "run")
    tree, lib = tflm_or_skip("host", op_names(read_ops(tflite)))
    b = build.cmake_build(run.firmware, root / "build", "host", tflm_root=tree, tflm_lib=lib, targets=("kws_app",),
                          defines={"KWS_TRACE_OUTPUTS": "ON"})
    return run, tables, tflite, step, b / "kws_app", root


def test_step_model_app_equals_the_step_reference(host_app):
    from dadarts.data.wavio import write_wav
    from dadarts.evaluate.streaming import device_pcm, step_schedule, stream_features
    from dadarts.export.step_tflite import StepRunner

    run, tables, tflite, step, app, root = host_app
    pcm = _stream_pcm()
    wav = root / "stream.wav"
    write_wav(wav, pcm)
    r = subprocess.run([str(app), str(wav)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    banner = next(line for line in r.stdout.splitlines() if line.startswith("kws: streaming:"))
    state_bytes = sum(s["bytes"] for s in step["states"])
    assert f"a step of {step['frames_per_step']} frames" in banner, banner
    assert f"kws: model states: {state_bytes} bytes" in r.stdout
    outs = [[int(v) for v in line.split()[1:]] for line in r.stdout.splitlines() if line.startswith("out ")]
    times, got = np.array([o[0] for o in outs]), np.array([o[1:] for o in outs], np.int8)

    # The streaming twin's model part: the step model in LiteRT's reference kernels (TFLM's arithmetic)
    # over the Python front-end's frames, N at a time from the first, states reset to their zero points.
    feats = stream_features(device_pcm(pcm, tables.config.hop), tables)
    expected, _ = StepRunner(tflite).run(feats)
    warm = step["warmup_steps"]
    assert len(expected) == len(feats) // step["frames_per_step"] > warm + 20
    # Every step after the warm-up is a decision: same outputs, bit for bit, at the device's clock.
    assert got.shape == expected[warm:].shape
    np.testing.assert_array_equal(got, expected[warm:])
    steps, expected_times = step_schedule(len(feats), step["frames_per_step"], warm, tables.config.window,
                                          tables.config.hop)
    np.testing.assert_array_equal(times, expected_times)
    stats = [line for line in r.stdout.splitlines() if line.startswith("stats ")][-1]
    assert int(re.search(r"inferences=(\d+)", stats).group(1)) == len(expected)
    assert int(re.search(r"state_bytes=(\d+)", stats).group(1)) == state_bytes


@pytest.mark.skipif(bool(build.missing_tools("nucleo-f446re")), reason="needs cmake and arm-none-eabi-gcc")
def test_a_step_model_has_no_tethered_build(host_app, tmp_path):
    """The tethered runner's host keeps no state: for a step model CMake leaves that application out."""
    run = host_app[0]
    board = build.board_of("stm32f405")
    r = subprocess.run(["cmake", "-S", str(build.FIRMWARE_DIR), "-B", str(tmp_path / "b"), f"-DKWS_TABLES_DIR={run.firmware}",
                        f"-DKWS_BOARD={board.board}", f"-DCMAKE_TOOLCHAIN_FILE={board.toolchain}"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    targets = subprocess.run(["cmake", "--build", str(tmp_path / "b"), "--target", "help"], capture_output=True,
                             text=True).stdout
    assert "kws_app_parts" in targets and "kws_app_tethered" not in targets, targets


@pytest.mark.slow
@pytest.mark.skipif(bool(build.missing_tools("stm32f405")), reason="needs arm-none-eabi-gcc, cmake and qemu-system-arm")
def test_step_model_on_the_emulated_stm32f405(host_app, tmp_path):
    """`dadarts firmware check --streaming` on the step model: CMSIS-NN on the chip, the streaming twin in
    LiteRT's reference kernels: same decisions (outputs at most the kernels' 1 LSB apart), instructions
    per decision within 5 % of the streaming cost, state copies timed apart."""
    from dadarts.evaluate.onchip import check, report
    from dadarts.export.recognizer_settings import read_settings

    run, tables, tflite, step, _, root = host_app
    tflm_or_skip("m4f")
    settings = read_settings(run.root / "export" / "recognizer.json")
    r = check(run.firmware, run.root / "export" / "model_step_int8.tflite", tables, settings,
              ["_silence_", "high", "low"], _stream_pcm(6.0), "NUCLEO-F446RE", tmp_path / "build", timeout_s=300,
              step=step)
    report(r)
    assert r["streaming"] and r["frames_per_step"] == step["frames_per_step"]
    assert r["inferences"] == r["python_inferences"] >= 60
    assert r["outputs_max_lsb"] <= 1 and r["same_detections"]
    assert abs(r["invoke_error"]) <= 0.05, r["invoke_error"]
    assert r["state_bytes"] == sum(s["bytes"] for s in step["states"])
    assert 0 < r["state_copy_instructions"] <= 2 * r["state_copy_instructions_predicted"]
