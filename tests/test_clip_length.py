"""The clip length as a parameter of the front-end contract: a longer window (for phrases) follows through
the float and fixed-point front-ends, data, training, export and the firmware; one second stays the default."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from dadarts.cli import main
from dadarts.frontend import fixed
from dadarts.frontend.mfcc import Mfcc
from dadarts.frontend.spec import CLIP_SAMPLES, MfccConfig, parse_space


def test_a_longer_clip_gives_proportionally_more_frames_and_says_so_in_its_name():
    one, two = MfccConfig.parse("400/200/40"), MfccConfig.parse("400/200/40@2000ms")
    assert one.clip_samples == CLIP_SAMPLES and one.name == "400/200/40" and one.shape == (79, 40)
    assert two.clip_samples == 32000 and two.clip_ms == 2000 and two.shape == (159, 40)
    assert MfccConfig.parse(two.name) == two and MfccConfig.parse("640/320/40/10@1500ms").name == "640/320/40/10@1500ms"
    assert MfccConfig.parse("400/200/40@1000ms") == one                  # one second is the default, not a variant
    assert one.with_clip_ms(2000) == two and one.with_clip_ms(None) == one
    assert [c.name for c in parse_space("400/200/40,640/320/40/10", clip_ms=1500)] == \
        ["400/200/40@1500ms", "640/320/40/10@1500ms"]
    for bad in ("400/200/40@100ms", "400/200/40@5000ms"):
        with pytest.raises(ValueError, match="use whole milliseconds from 500 to 3000"):
            MfccConfig.parse(bad)
    with pytest.raises(ValueError, match="mixes clip lengths"):
        parse_space("400/200/40,400/200/40@2000ms")


def test_the_first_second_of_a_long_clip_has_the_one_second_features():
    """Frames are uncentred: a 2 s analysis of a clip starts with exactly the 1 s analysis of its first second."""
    pcm = torch.from_numpy(np.random.default_rng(0).integers(-3000, 3000, 32000).astype(np.int16))[None]
    one, two = MfccConfig.parse("640/160/40"), MfccConfig.parse("640/160/40@2000ms")
    a, b = Mfcc(one)(pcm[:, :16000]), Mfcc(two)(pcm)
    assert b.shape == (1, two.n_frames, 40) and two.n_frames > 2 * one.n_frames
    torch.testing.assert_close(b[:, :one.n_frames], a)
    # A short file is zero-padded to the configuration's clip.
    padded = Mfcc(two)(pcm[:, :16000])
    torch.testing.assert_close(padded[:, :one.n_frames], a)
    assert fixed.frame_signal(pcm[0, :16000].numpy(), two).shape == (two.n_frames, 640)


@pytest.mark.parametrize("name", ["400/200/40@2000ms", "640/160/80@1500ms"])
def test_fixed_point_agrees_with_the_float_reference_on_a_long_clip(name):
    """The same agreement test_fixed_frontend asks of a 1 s clip, on clips of the longer window."""
    from dadarts.firmware import golden
    from test_fixed_frontend import _clips
    config = MfccConfig.parse(name)
    one = _clips()
    clips = np.concatenate([one, one[::-1]], axis=1)[:, :config.clip_samples]
    mfcc = np.stack([golden.float_mfcc(fixed.frame_signal(c, config), config) for c in clips])
    q = golden.quantisation_for(mfcc)
    mean, std = np.array(q["mean"]), np.array(q["std"])
    tables = fixed.make_tables(config, mean, std, q["input_scale"], q["input_zero_point"])
    ours = np.stack([fixed.features(c, tables) for c in clips])
    assert ours.shape == (len(clips), *config.shape)
    ref_q = fixed.quantize(mfcc, mean, std, q["input_scale"], q["input_zero_point"])
    stats = fixed.agreement(ours, ref_q, (mfcc - mean) / std, q["input_scale"], q["input_zero_point"])
    assert stats["within_1lsb_share"] >= 0.99 and stats["snr_db"] > 30, stats


def test_conditions_and_stream_windows_work_at_the_runs_length():
    from dadarts.data.conditions import ConditionSettings, Conditions, fft_size
    from dadarts.data.stream_windows import StreamWindows, StreamWindowSettings
    assert fft_size(16000) == 32768 and fft_size(32000) == 65536      # no wrap-around of a room's tail
    rng = np.random.default_rng(0)
    word = np.zeros(32000, np.float32)
    word[30000:31000] = np.sin(np.arange(1000) * 0.3)                  # a word at the end of a 2 s clip
    noise = [rng.standard_normal(20000).astype(np.float32)]            # shorter than the clip: it repeats
    out = Conditions(ConditionSettings(time_shift_ms=0.0), noise, seed=0)(
        torch.from_numpy(np.stack([word, word])), torch.Generator().manual_seed(0))
    assert out.shape == (2, 32000) and float(out[:, 29000:].abs().max()) > 0
    # Stream windows are as long as the training clips they are cut from.
    clips = np.zeros((6, 24000), np.int16)
    clips[:, 8000:12000] = (rng.standard_normal((6, 4000)) * 3000).astype(np.int16)
    windows = StreamWindows(clips, np.array([0, 0, 0, 1, 1, 1]), ["word", "_unknown_"], None, StreamWindowSettings())
    audio, targets = windows.batch(8, rng)
    assert audio.shape == (8, 24000) and targets.shape == (8, 2)


def test_synth_renders_longer_clips_and_refuses_a_bad_length(tmp_path, capsys):
    from dadarts.data.wavio import read_wav
    assert main(["data", "synth", "--out", str(tmp_path / "c"), "--words", "hey kettle", "--voices", "10",
                 "--clip-ms", "2000", "--jobs", "1"]) == 0
    wavs = sorted((tmp_path / "c" / "hey_kettle").glob("*.wav"))
    assert len(wavs) == 10 and all(read_wav(w).size == 32000 for w in wavs)
    assert "clips of 2000 ms" in (tmp_path / "c" / "SYNTH.txt").read_text()
    assert main(["data", "synth", "--out", str(tmp_path / "d"), "--words", "yes", "--voices", "10",
                 "--clip-ms", "200"]) == 2
    assert "--clip-ms 200: A clip of 200 ms is out of range" in capsys.readouterr().err


@pytest.mark.slow
def test_train_and_int8_export_on_longer_clips(tiny_corpus, tmp_path, capsys):
    """A 1.5 s baseline: the corpus's 1 s clips are padded; the export's checks pass and the firmware's
    model_settings.h carries the longer input."""
    from dadarts.rundir import RunDir
    from test_export_convert import check_clean_int8
    run = RunDir.of(tmp_path / "long")
    assert main(["train", "--model", "ds-cnn-s", "--mfcc", "640/320/40", "--clip-ms", "1500", "--data", str(tiny_corpus),
                 "--run", str(run.root), "--epochs", "1", "--stream-windows", "0", "--quiet", "--device", "cpu"]) == 0
    frontend = json.loads(run.frontend.read_text())
    assert frontend["config"] == "640/320/40@1500ms"
    assert main(["export", str(run.root), "--int8", "--calibration-samples", "16", "--tflm-samples", "8"]) == 0
    report = json.loads(run.export_report.read_text())
    check_clean_int8(report, run)
    settings = (run.firmware / "model_settings.h").read_text()
    assert "#define KWS_INPUT_FRAMES 74" in settings and "#define KWS_MODEL_CLIP_SAMPLES 24000" in settings
    assert "#define KWS_FRONTEND_N_FRAMES 74" in (run.firmware / "frontend_tables.h").read_text()
    # A searched network keeps its search's window; a baseline's --clip-ms must be a length.
    assert main(["train", "--model", "ds-cnn-s", "--clip-ms", "100", "--data", str(tiny_corpus),
                 "--run", str(tmp_path / "bad"), "--epochs", "1"]) == 2
    assert "A clip of 100 ms is out of range" in capsys.readouterr().err


@pytest.mark.slow
def test_kws_app_runs_a_two_second_model_on_the_host(tmp_path, capsys):
    """The firmware's ring, padding of a short file and static checks follow model_settings.h: the host
    application reports the keyword the Python pipeline reports for a 2 s model."""
    import argparse

    from dadarts.export.tflite_graph import op_names, read_ops
    from dadarts.firmware import build_command
    from test_firmware_commands import _fake_run
    from test_firmware_tflm import _export_c_files
    from tflm_builds import tflm_or_skip
    config = MfccConfig.parse("400/200/40@2000ms")
    run = _fake_run(tmp_path, config)
    _export_c_files(run, config)
    tflm_or_skip("host", op_names(read_ops(run.tflite_int8.read_bytes())))
    wav = sorted((tmp_path / "data" / "high").glob("*.wav"))[0]
    p = argparse.ArgumentParser()
    build_command.add_arguments(p)
    args = p.parse_args([str(run.root), "--target", "host", "--tflm", "--wav", str(wav)])
    args._argv = ["firmware", "build"]
    assert build_command.run(args) == 0
    out = capsys.readouterr().out
    assert "same keyword" in out and "last high" in out, out
    assert "#define KWS_INPUT_FRAMES 159" in (run.firmware / "model_settings.h").read_text()
