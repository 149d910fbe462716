"""The synthetic corpus and the Speech Commands loader: layout, voice-disjoint splits, error paths."""
from __future__ import annotations

import shutil
import wave

import numpy as np
import pytest
import torch

from dadarts.cli import main
from dadarts.data.datasets import (BACKGROUND, MEASURE_ONLY, NOISE_REGIONS, SILENCE, UNKNOWN, load_dataset,
                                   load_test_folder, speaker_of)
from dadarts.data.features import fit_normalizer, load_audio_split, load_features
from dadarts.data.synth import SynthSettings, synthesize
from dadarts.data.tts import resample_to_16k
from dadarts.data.wavio import read_wav, write_wav
from dadarts.errors import UserError
from dadarts.frontend.spec import MfccConfig


def test_corpus_layout(tiny_corpus):
    words = sorted(p.name for p in tiny_corpus.iterdir() if p.is_dir() and not p.name.startswith("_"))
    assert len(words) == 14
    wavs = list((tiny_corpus / "yes").glob("*.wav"))
    assert len(wavs) == 10
    for path in wavs[:3]:
        with wave.open(str(path)) as w:
            assert (w.getframerate(), w.getnchannels(), w.getsampwidth(), w.getnframes()) == (16000, 1, 2, 16000)
        assert len(path.name.split("_nohash_")[0]) == 8
        assert np.abs(read_wav(path)).max() > 500, "a clip must contain speech, not silence"
    noises = list((tiny_corpus / "_background_noise_").glob("*.wav"))
    assert len(noises) == 8


def test_splits_are_voice_disjoint(tiny_corpus):
    val = (tiny_corpus / "validation_list.txt").read_text().split()
    test = (tiny_corpus / "testing_list.txt").read_text().split()
    all_files = [f"{p.parent.name}/{p.name}" for p in tiny_corpus.glob("*/*.wav") if not p.parent.name.startswith("_")]
    train = set(all_files) - set(val) - set(test)
    voices = [{speaker_of(f.split("/")[1]) for f in s} for s in (train, val, test)]
    assert all(voices)
    assert not (voices[0] & voices[1]) and not (voices[0] & voices[2]) and not (voices[1] & voices[2])


def test_synth_is_deterministic_and_independent_of_worker_count(tmp_path):
    # Four words make two jobs (synth.WORDS_PER_JOB = 3), so two workers really share the work.
    settings = SynthSettings(words=("go", "up", "on", "no"), voices=5, repeats=2, seed=5)
    synthesize(tmp_path / "a", settings, jobs=1, progress=False)
    synthesize(tmp_path / "b", settings, jobs=2, progress=False)
    paths = sorted((tmp_path / "a").glob("*/*.wav"))
    assert len(paths) == 4 * 5 * 2 + 8 + 8, "clips, training noise, held-out noise"
    for path in paths:
        assert path.read_bytes() == (tmp_path / "b" / path.parent.name / path.name).read_bytes(), path
    # Each repeat is a new rendition (rate, pitch, placement), not a copy.
    first = sorted((tmp_path / "a" / "go").glob("*_nohash_0.wav"))[0]
    assert first.read_bytes() != first.with_name(first.name.replace("_0.wav", "_1.wav")).read_bytes()
    assert (tmp_path / "a" / "testing_list.txt").read_text() == (tmp_path / "b" / "testing_list.txt").read_text()


def test_synth_refuses_non_empty_folder(tmp_path):
    (tmp_path / "x").write_text("keep me")
    with pytest.raises(UserError, match="not empty"):
        synthesize(tmp_path, SynthSettings(words=("go",), voices=3, repeats=1), jobs=1, progress=False)
    assert (tmp_path / "x").read_text() == "keep me"


def test_gsc12_task(tiny_corpus):
    ds = load_dataset(tiny_corpus, "gsc12")
    assert ds.labels[-2:] == [SILENCE, UNKNOWN] and len(ds.labels) == 12
    train = ds.counts("train")
    assert train["yes"] == 8 and train[UNKNOWN] >= 1 and train[SILENCE] >= 1
    silence = next(c for c in ds.splits["train"] if c.path is None)
    audio = ds.load_audio(silence)
    assert audio.shape == (16000,) and audio.dtype == np.int16
    assert load_dataset(tiny_corpus, "gsc12").fingerprint == ds.fingerprint


def test_names_task(tiny_corpus):
    ds = load_dataset(tiny_corpus, "names")
    assert ds.labels == ["marvin", "sheila", UNKNOWN]
    words = {c.word for c in ds.splits["train"] if c.label == 2}
    assert words == {"yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go", "bed", "cat"}
    with pytest.raises(UserError, match="--names"):
        load_dataset(tiny_corpus, "names", names=("alexa",))


def _copy_small(tiny_corpus, dst):
    shutil.copytree(tiny_corpus, dst)
    return dst


def test_loader_errors(tmp_path, tiny_corpus):
    with pytest.raises(UserError, match="does not exist"):
        load_dataset(tmp_path / "nope")
    root = _copy_small(tiny_corpus, tmp_path / "c")
    (root / "testing_list.txt").unlink()
    with pytest.raises(UserError, match="testing_list.txt"):
        load_dataset(root)
    with pytest.raises(UserError, match="Unknown task"):
        load_dataset(tiny_corpus, "gsc99")


def test_bad_files_are_counted_and_skipped_other_formats_converted(tmp_path, tiny_corpus, capsys):
    root = _copy_small(tiny_corpus, tmp_path / "c")
    with wave.open(str(root / "yes" / "deadbeef_nohash_0.wav"), "wb") as w:   # another sample rate
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(44100), w.writeframes(b"\0\0" * 100)
    with wave.open(str(root / "yes" / "deadbeef_nohash_1.wav"), "wb") as w:   # stereo
        w.setnchannels(2), w.setsampwidth(2), w.setframerate(16000), w.writeframes(b"\0\0" * 200)
    (root / "no" / "deadbeef_nohash_0.wav").write_bytes(b"not a wav")      # unreadable
    write_wav(root / "no" / "deadbeef_nohash_1.wav", np.zeros(0, np.int16))  # empty
    ds = load_dataset(root, "gsc12")
    err = capsys.readouterr().err
    assert "skipped 2 unusable WAV files (1 empty, 1 unreadable)" in err
    assert "converting 2 WAV files to 16 kHz mono 16-bit" in err
    assert ds.skipped == {"unreadable": 1, "empty": 1}
    kept = {c.path for s in ds.splits.values() for c in s if c.path and "deadbeef" in c.path}
    assert kept == {"yes/deadbeef_nohash_0.wav", "yes/deadbeef_nohash_1.wav"}


def test_cli_errors_are_one_sentence(tmp_path, capsys):
    assert main(["data", "info", "--data", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("dadarts: error: Dataset folder") and "\n" not in err


def test_features_are_cached_and_normalised(tiny_corpus):
    ds = load_dataset(tiny_corpus, "gsc12")
    config = MfccConfig.parse("640/320/40")
    f1 = load_features(ds, "train", config)
    assert f1.x.shape == (len(ds.splits["train"]), 49, 40) and f1.x.dtype == torch.float16
    f2 = load_features(ds, "train", config)
    assert torch.equal(f1.x, f2.x) and torch.equal(f1.y, f2.y)
    audio = load_audio_split(ds, "train")
    assert audio.audio.shape == (len(ds.splits["train"]), 16000)
    norm = fit_normalizer(ds, config)
    z = norm.apply(f1.x).reshape(-1, 40)
    assert torch.allclose(z.mean(0), torch.zeros(40), atol=0.05)
    assert torch.allclose(z.std(0), torch.ones(40), atol=0.05)


def test_resampler_keeps_a_tone_and_its_level():
    t = np.arange(22050) / 22050
    out = resample_to_16k(np.sin(2 * np.pi * 1000 * t), 22050)
    assert out.size == 16000
    spectrum = np.abs(np.fft.rfft(out[1000:15000] * np.hanning(14000)))
    assert abs(np.argmax(spectrum) * 16000 / 14000 - 1000) < 3
    assert abs(np.sqrt(np.mean(out[1000:15000] ** 2)) - np.sqrt(0.5)) < 0.02


def test_training_speech_is_dry_and_held_out_clips_carry_frozen_conditions(tiny_corpus):
    ds = load_dataset(tiny_corpus, "gsc12")
    test = {c.path for c in ds.splits["testing"] if c.path}
    train = [c.path for c in ds.splits["train"] if c.path]
    assert set(train) <= ds.dry and not test & ds.dry
    dry = read_wav(tiny_corpus / train[0])
    assert (dry == 0).mean() > 0.1, "a dry clip: silence around the word"
    noisy = [(read_wav(tiny_corpus / p) == 0).mean() < 0.05 for p in test]
    assert sum(noisy) >= 0.7 * len(noisy), "test clips carry noise (90 % of them)"
    # Every reader but on-the-fly training hears the training clips with frozen conditions too.
    raw, frozen = load_audio_split(ds, "train", dry=True), load_audio_split(ds, "train")
    speech = np.array([c.path is not None for c in ds.splits["train"]])
    assert not np.array_equal(raw.audio.numpy()[speech][0], frozen.audio.numpy()[speech][0])
    assert np.array_equal(raw.audio.numpy()[~speech], frozen.audio.numpy()[~speech]), "silence stays as cut"
    assert np.array_equal(load_audio_split(ds, "train").audio.numpy(), frozen.audio.numpy()), "frozen: cached, stable"
    # Training noise and the held-out splits' noise are different recordings.
    for f in (tiny_corpus / BACKGROUND).glob("*.wav"):
        assert f.read_bytes() != (tiny_corpus / "_heldout_noise_" / f.name).read_bytes(), f.name


def test_silence_of_each_split_comes_from_its_own_part_of_the_noise(tiny_corpus):
    ds = load_dataset(tiny_corpus, "gsc12")
    for split, (lo, hi) in NOISE_REGIONS.items():
        for c in (c for c in ds.splits[split] if c.path is None):
            size = ds.background_noise[c.noise].size
            assert lo * size - 1 <= c.offset and c.offset + 16000 <= hi * size + 1, (split, c.offset, size)


def test_measure_only_folders_are_refused_for_learning_and_read_for_measuring(tmp_path, tiny_corpus, monkeypatch):
    """Real recordings kept for measuring never reach a training set, normaliser, threshold or search:
    every learning stage loads data through load_dataset, which refuses them; evaluate reads them."""
    root = _copy_small(tiny_corpus, tmp_path / "real")
    (root / MEASURE_ONLY).write_text("measure only\n")
    with pytest.raises(UserError, match="kept for measuring only .*MEASURE_ONLY"):
        load_dataset(root, "gsc12")
    with pytest.raises(UserError, match="kept for measuring only"):
        load_dataset(root / "yes" / "..", "gsc12")
    labels = load_dataset(tiny_corpus, "gsc12").labels
    assert load_test_folder(root, "gsc12", labels, quiet=True).splits["testing"]
    (root / MEASURE_ONLY).unlink()
    assert load_dataset(root, "gsc12").splits["train"]
    monkeypatch.setenv("DADARTS_MEASURE_ONLY", str(tmp_path))
    with pytest.raises(UserError, match="listed in DADARTS_MEASURE_ONLY"):
        load_dataset(root, "gsc12")
    assert main(["train", "--run", str(tmp_path / "run"), "--model", "ds-cnn-s", "--data", str(root), "--epochs", "1"]) == 2


def test_scale_trades_voices_for_time():
    assert SynthSettings.scaled(1.0) == SynthSettings()
    assert SynthSettings.scaled(0.25).voices == round(SynthSettings().voices / 4)
    with pytest.raises(UserError, match="--scale 0"):
        SynthSettings.scaled(0)
