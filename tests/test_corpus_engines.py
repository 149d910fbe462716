"""The corpus' engine families, per-clip perturbations, synthetic rooms and leave-one-engine-out splits."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from dadarts.data import synth, tts
from dadarts.data.datasets import load_dataset
from dadarts.data.engine_split import speaker_engines
from dadarts.data.rooms import measured_rt60, room_impulse_response
from dadarts.data.synth import SynthSettings, choose_voices, render_clip, speed, vtl_warp
from dadarts.errors import UserError
from dadarts.train.augment import reverberate, room_bank

SR = 16000
ONE_VOICE = {"espeak": "en-us+m3", "mbrola": "us2", "pico": "en-GB", "rhvoice": "slt", "piper": "en_US-joe-medium"}


def _peak_frequency(x: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(x * np.hanning(x.size), n=1 << 16))
    return float(np.argmax(spectrum) * SR / (1 << 16))


@pytest.mark.parametrize("engine", tts.ENGINE_FAMILIES)
def test_every_engine_speaks(engine):
    if engine in tts.missing_engines():
        pytest.skip(tts.missing_engines()[engine])
    voice = tts.Voice(engine, ONE_VOICE[engine], 3)
    rng = np.random.default_rng(0)
    audio = tts.Engines().say(voice, "seven", rng, 1.0, tts.Persona.of(voice, rng))
    assert audio.dtype == np.float32 and 0.25 * SR < audio.size < 1.5 * SR, "a word lasts a fraction of a second"
    frames = audio[: audio.size // 160 * 160].reshape(-1, 160)
    energy_db = 10 * np.log10(np.mean(frames ** 2, axis=1) + 1e-12)
    assert energy_db.max() > -30, "loud enough to be speech"
    assert energy_db.max() - np.percentile(energy_db, 5) > 20, "speech comes and goes, not a flat hum"
    assert (energy_db > energy_db.max() - 20).sum() >= 15, "at least 150 ms of voiced sound"
    clip = render_clip(voice, "seven", 0, seed=0)
    assert clip.shape == (SR,) and clip.dtype == np.int16 and np.abs(clip).max() > 300


def test_missing_engine_is_left_out_with_a_sentence(monkeypatch, capsys):
    monkeypatch.setattr(synth, "missing_engines", lambda: {"rhvoice": "RHVoice is not installed (apt-get install rhvoice)"})
    monkeypatch.setattr(synth, "all_voices", lambda: [v for v in tts.all_voices() if v.engine != "rhvoice"])
    splits = choose_voices(SynthSettings(voices=40))
    assert "built without rhvoice voices: RHVoice is not installed" in capsys.readouterr().out
    voices = [v for s in splits.values() for v in s]
    assert len(voices) == 40 and not any(v.engine == "rhvoice" for v in voices)


def test_splits_hold_every_family_and_stay_voice_disjoint():
    splits = choose_voices(SynthSettings(), quiet=True)
    present = set(tts.ENGINE_FAMILIES) - set(tts.missing_engines())
    for split in ("train", "validation", "testing"):
        assert {v.engine for v in splits[split]} == present, split
    keys = [v.key for s in splits.values() for v in s]
    assert len(keys) == len(set(keys)) == 200


def test_holdout_engine_never_shares_an_engine(tiny_corpus):
    engines = speaker_engines(tiny_corpus)
    families = sorted(set(engines.values()))
    assert len(families) >= 2
    full = load_dataset(tiny_corpus, "gsc12")
    for engine in families:
        ds = load_dataset(tiny_corpus, "gsc12", holdout_engine=engine)
        for split in ("train", "validation"):
            assert all(engines.get(c.speaker) != engine for c in ds.splits[split]), (engine, split)
        assert ds.splits["testing"] and all(engines[c.speaker] == engine for c in ds.splits["testing"])
        spoken = [c for s in full.splits.values() for c in s if c.path and engines[c.speaker] == engine]
        assert sorted(c.path for c in ds.splits["testing"]) == sorted(c.path for c in spoken)
        assert ds.fingerprint != full.fingerprint
    with pytest.raises(UserError, match="choose one of"):
        load_dataset(tiny_corpus, "gsc12", holdout_engine="festival")


def test_holdout_engine_needs_a_synthetic_corpus(tmp_path, tiny_corpus):
    import shutil
    root = shutil.copytree(tiny_corpus, tmp_path / "c")
    (root / "SYNTH.txt").unlink()
    with pytest.raises(UserError, match="which engine spoke"):
        load_dataset(root, "gsc12", holdout_engine="pico")


@pytest.mark.parametrize("rt60", [0.3, 0.6, 0.9])
def test_room_reaches_its_reverberation_time(rt60):
    ir = room_impulse_response(np.random.default_rng(1), rt60, 3.0)
    assert measured_rt60(ir) == pytest.approx(rt60, rel=0.25)
    assert np.argmax(np.abs(ir)) < 0.01 * SR, "the direct path or an early reflection comes first"


def test_close_talker_is_drier_than_a_far_one():
    def direct_to_reverberant(distance):
        ir = room_impulse_response(np.random.default_rng(2), 0.6, distance)
        return np.sum(ir[:40] ** 2) / np.sum(ir[40:] ** 2)
    assert direct_to_reverberant(0.3) > 10 * direct_to_reverberant(3.5)


def test_vocal_tract_warp_moves_the_spectrum_not_the_timing():
    t = np.arange(SR // 2) / SR
    tone = (0.5 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32)
    warped = vtl_warp(tone, 1.1)
    assert warped.size == tone.size
    assert _peak_frequency(warped[1000:-1000]) == pytest.approx(1100, rel=0.03)


def test_speed_perturbation_shortens_and_raises():
    t = np.arange(SR) / SR
    tone = (0.5 * np.sin(2 * np.pi * 500 * t)).astype(np.float32)
    fast = speed(tone, 1.1)
    assert fast.size == pytest.approx(SR / 1.1, abs=2)
    assert _peak_frequency(fast[500:-500]) == pytest.approx(550, rel=0.01)


def test_training_reverberation_keeps_shape_and_peak_and_adds_a_tail():
    gen = torch.Generator().manual_seed(0)
    bank = room_bank((0.5, 0.8), rooms=4)
    audio = torch.zeros(3, SR)
    audio[:, 2000:2400] = 0.5 * torch.sin(torch.arange(400) * 0.3)
    wet = reverberate(audio, bank, 1.0, gen)
    assert wet.shape == audio.shape
    assert torch.allclose(wet.abs().amax(1), audio.abs().amax(1))
    assert (wet[:, 3000:6000].abs().amax(1) > 0.01).all(), "energy after the sound ends"
    assert torch.equal(reverberate(audio, bank, 0.0, gen), audio)
