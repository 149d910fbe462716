"""Name-detection balancing: each augmentation does what it says, and splits stay voice-disjoint."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from dadarts.data.datasets import UNKNOWN, load_dataset
from dadarts.data.features import load_audio_split
from dadarts.data.name_augment import (NameAugment, add_noise, augment_clip, pitch_shift, reverberate,
                                       speech_power, time_stretch)

SR = 16000


def _f0(x: torch.Tensor) -> float:
    spec = np.abs(np.fft.rfft(x.numpy() * np.hanning(x.numel()), n=1 << 17))
    return float(np.argmax(spec) * SR / (1 << 17))


def test_pitch_shift_moves_the_fundamental():
    t = torch.arange(SR) / SR
    tone = 0.5 * torch.sin(2 * torch.pi * 200.0 * t)
    up = pitch_shift(tone, 2.0)
    assert up.shape == tone.shape
    assert _f0(up[2000:14000]) == pytest.approx(200.0 * 2 ** (2 / 12), rel=0.01)
    assert _f0(pitch_shift(tone, -3.0)[2000:14000]) == pytest.approx(200.0 * 2 ** (-3 / 12), rel=0.01)


def test_time_stretch_changes_duration_not_pitch():
    t = torch.arange(8000) / SR
    burst = 0.5 * torch.sin(2 * torch.pi * 500.0 * t)
    slow = time_stretch(burst, 0.8)
    assert slow.numel() == 10000
    assert _f0(slow[1000:9000]) == pytest.approx(500.0, rel=0.01)
    assert time_stretch(burst, 1.25).numel() == 6400


def test_noise_reaches_the_requested_snr():
    gen = torch.Generator().manual_seed(0)
    speech = torch.zeros(SR)
    speech[4000:12000] = 0.3 * torch.sin(2 * torch.pi * 300.0 * torch.arange(8000) / SR)
    noise = torch.randn(SR, generator=gen)
    for snr in (5.0, 12.0, 20.0):
        mixed = add_noise(speech, noise, snr)
        added = mixed - speech
        measured = 10 * torch.log10(speech_power(speech) / added.square().mean())
        assert float(measured) == pytest.approx(snr, abs=0.01)


def test_reverb_adds_a_decaying_tail():
    gen = torch.Generator().manual_seed(0)
    click = torch.zeros(SR)
    click[1000:1100] = 0.5
    wet = reverberate(click, 0.5, gen)
    tail = wet[1200:1200 + 4000].abs()
    assert tail.max() > 0.01, "energy after the click ends"
    assert tail[:1000].square().mean() > 10 * tail[-1000:].square().mean(), "and it decays"


def test_augment_clip_is_reproducible():
    rng = np.random.default_rng(0)
    pcm = (3000 * np.sin(2 * np.pi * 220 * np.arange(SR) / SR) * (np.arange(SR) > 5000)).astype(np.int16)
    noise = [rng.standard_normal(3 * SR).astype(np.float32) * 0.1]
    a = augment_clip(pcm, NameAugment(), "x|0", noise)
    assert np.array_equal(a, augment_clip(pcm, NameAugment(), "x|0", noise))
    assert not np.array_equal(a, augment_clip(pcm, NameAugment(), "x|1", noise))
    assert a.dtype == np.int16 and a.shape == (SR,)


def test_names_task_is_balanced_and_voice_disjoint(tiny_corpus):
    ds = load_dataset(tiny_corpus, "names")
    train = ds.counts("train")
    plain = load_dataset(tiny_corpus, "names", name_augment=None)
    assert plain.fingerprint == ds.fingerprint
    assert train["marvin"] > plain.counts("train")["marvin"], "names are grown by augmentation"
    assert train["marvin"] <= NameAugment().balance * train[UNKNOWN] + plain.counts("train")["marvin"]
    assert ds.counts("testing") == plain.counts("testing"), "only the training split is augmented"
    speakers = {s: {c.speaker for c in ds.splits[s]} for s in ("train", "validation", "testing")}
    assert not (speakers["train"] & speakers["validation"]) and not (speakers["train"] & speakers["testing"])
    copies = [c for c in ds.splits["train"] if c.copy >= 0]
    assert copies and all(c.word in ("marvin", "sheila") for c in copies)
    audio = load_audio_split(ds, "train")
    assert audio.audio.shape[0] == len(ds.splits["train"])
    first = ds.splits["train"].index(copies[0])
    original = next(i for i, c in enumerate(ds.splits["train"]) if c.path == copies[0].path and c.copy < 0)
    assert not torch.equal(audio.audio[first], audio.audio[original])


def test_balancing_flags(tiny_corpus, capsys):
    from dadarts.cli import main
    assert main(["data", "info", "--data", str(tiny_corpus), "--task", "names", "--name-balance", "0"]) == 0
    off = capsys.readouterr().out
    assert main(["data", "info", "--data", str(tiny_corpus), "--task", "names", "--name-max-copies", "2"]) == 0
    two = capsys.readouterr().out
    count = lambda text: int(next(line.split()[1] for line in text.splitlines() if line.strip().startswith("marvin")))
    assert count(two) == 3 * count(off)
    assert main(["data", "info", "--data", str(tiny_corpus), "--task", "names", "--name-snr", "5"]) == 2
    assert "--name-snr takes two numbers" in capsys.readouterr().err
    assert main(["data", "info", "--data", str(tiny_corpus), "--task", "names", "--name-noise-prob", "2"]) == 2
