"""The corpus' engine families and base voices, per-clip perturbations, synthetic rooms, the recording
conditions applied on the fly, and leave-one-engine-out splits."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from dadarts.data import synth, tts
from dadarts.data.datasets import load_dataset
from dadarts.data.engine_split import speaker_engines
from dadarts.data.rooms import measured_rt60, room_impulse_response
from dadarts.data.conditions import ConditionSettings, Conditions, render
from dadarts.data.synth import SynthSettings, choose_voices, dry_clip, speed, vtl_warp
from dadarts.errors import UserError

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
    clip = dry_clip(voice, "seven", 0, seed=0)
    assert clip.shape == (SR,) and clip.dtype == np.int16 and np.abs(clip).max() > 300
    assert (clip == 0).mean() > 0.1, "dry: silence around the word, no noise"


def test_foreign_mbrola_voices_speak_english():
    bases = tts.base_voices().get("mbrola", [])
    foreign = [b for b in bases if b.endswith("-en")]
    if not foreign:
        pytest.skip("no foreign MBROLA voices installed (bash scripts/setup.sh)")
    audio = tts.Engines().say(tts.Voice("mbrola", foreign[0], 0), "seven", np.random.default_rng(0), 1.0)
    assert 0.25 * SR < audio.size < 1.5 * SR and np.abs(audio).max() > 0.05


def test_missing_engine_is_left_out_with_a_sentence(monkeypatch, capsys):
    monkeypatch.setattr(synth, "missing_engines", lambda: {"rhvoice": "RHVoice is not installed (apt-get install rhvoice)"})
    monkeypatch.setattr(synth, "base_voices", lambda: {f: v for f, v in tts.base_voices().items() if f != "rhvoice"})
    splits = choose_voices(SynthSettings(voices=40))
    assert "built without rhvoice voices: RHVoice is not installed" in capsys.readouterr().out
    voices = [v for s in splits.values() for v in s]
    assert len(voices) == 40 and not any(v.engine == "rhvoice" for v in voices)


def test_splits_keep_base_voices_disjoint():
    """A held-out speaker is one never heard in training under any accent or persona."""
    settings = SynthSettings.scaled(1.9)
    splits = choose_voices(settings, quiet=True)
    keys = [v.key for s in splits.values() for v in s]
    assert len(keys) == len(set(keys)) == settings.voices
    bases = {s: {v.base for v in splits[s]} for s in splits}
    assert not bases["train"] & bases["testing"] and not bases["train"] & bases["validation"]
    assert not bases["validation"] & bases["testing"]
    for family, names in tts.base_voices().items():
        if len(names) >= 3:   # enough speakers to hold some out: every split has the family
            assert all(any(v.engine == family for v in splits[s]) for s in splits), family
    assert sum(len(v) for v in tts.base_voices().values()) >= 40 or tts.missing_engines()
    train = len(splits["train"]) * settings.repeats
    assert train >= 1500, "--scale 1.9 gives at least 1 500 dry utterances per word"


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


def _word():
    audio = torch.zeros(4, SR)
    audio[:, 6000:8000] = 0.5 * torch.sin(torch.arange(2000) * 0.3)
    return audio


def test_conditions_add_a_room_tail_and_noise_at_the_drawn_snr():
    settings = ConditionSettings(time_shift_ms=0, room_prob=1.0, rt60_s=(0.6, 0.8), mic_prob=0.0, noise_prob=0.0,
                                 level_dbfs=(-6, -6), rooms=4)
    wet = Conditions(settings, [], seed=0)(_word(), torch.Generator().manual_seed(0))
    assert wet.shape == (4, SR)
    assert torch.allclose(wet.abs().amax(1), torch.full((4,), 10 ** (-6 / 20)), rtol=1e-4), "the drawn peak level"
    assert (wet[:, 9000:12000].abs().amax(1) > 0.005).all(), "room energy after the word ends"
    noise = [np.random.default_rng(0).standard_normal(5 * SR).astype(np.float32)]
    for snr in (0.0, 20.0):
        settings = ConditionSettings(time_shift_ms=0, room_prob=0.0, mic_prob=0.0, noise_prob=1.0, snr_db=(snr, snr),
                                     level_dbfs=(-1, -1))
        noisy = Conditions(settings, noise, seed=0)(_word(), torch.Generator().manual_seed(0))
        speech = noisy[:, 6000:8000].pow(2).mean() - noisy[:, :5000].pow(2).mean()
        measured = 10 * torch.log10(speech / noisy[:, :5000].pow(2).mean())
        assert measured.item() == pytest.approx(snr, abs=1.0)


def test_conditions_change_per_call_and_spare_silence():
    settings = ConditionSettings(rooms=4)
    conditions = Conditions(settings, [np.random.default_rng(0).standard_normal(3 * SR).astype(np.float32)], seed=0)
    gen = torch.Generator().manual_seed(0)
    speech = torch.tensor([True, True, True, False])
    first, second = conditions(_word(), gen, speech), conditions(_word(), gen, speech)
    assert not torch.allclose(first[:3], second[:3]), "new conditions at every call (epoch)"
    for out in (first, second):   # silence is noise already: shifted, not filtered, mixed or levelled
        assert out[3].pow(2).sum().item() == pytest.approx(_word()[3].pow(2).sum().item(), rel=1e-5)
    pcm = (_word().numpy() * 32767).astype(np.int16)
    assert np.array_equal(render(pcm, settings, [], seed=3), render(pcm, settings, [], seed=3)), "frozen: same seed, same clips"
