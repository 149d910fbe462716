"""The front-end contract: frame counts, filterbank sanity, and agreement with an independent numpy MFCC."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from dadarts.frontend.mfcc import Mfcc
from dadarts.frontend.spec import (DEFAULT_SPACE, F_MAX_HZ, F_MIN_HZ, LOG_FLOOR, MfccConfig, mel_filterbank,
                                   parse_space)


def test_frame_counts_match_the_contract():
    frames = {c.hop: c.n_frames for c in DEFAULT_SPACE}
    assert frames == {100: 157, 200: 79, 160: 97, 320: 49}
    assert {c.window: c.n_fft for c in DEFAULT_SPACE} == {400: 512, 640: 1024}
    assert MfccConfig.parse("400/200/40").shape == (79, 40)


@pytest.mark.parametrize("config", DEFAULT_SPACE, ids=str)
def test_no_empty_mel_filter(config):
    fb = mel_filterbank(config.n_fft, config.n_mels)
    assert fb.shape == (config.n_mels, config.n_bins)
    assert (fb.max(axis=1) > 0.25).all(), "every filter must reach at least one FFT bin"
    # Q15 weights (what the firmware stores) keep every filter alive too.
    assert (np.round(fb * 32767).max(axis=1) > 0).all()
    centres = fb.argmax(axis=1)
    assert (np.diff(centres) >= 0).all()


def test_parse_errors_are_clear():
    with pytest.raises(ValueError, match="WINDOW/HOP/MELS"):
        MfccConfig.parse("400x200")
    with pytest.raises(ValueError, match="hop"):
        MfccConfig.parse("400/500/40")
    with pytest.raises(ValueError, match="twice"):
        parse_space("400/200/40,400/200/40")
    assert parse_space(None) == DEFAULT_SPACE


def numpy_mfcc(pcm: np.ndarray, window: int, hop: int, n_mels: int) -> np.ndarray:
    """Independent float64 MFCC written from the contract in docs/frontend.md (loops, no shared code)."""
    x = pcm.astype(np.float64) / 32768.0
    n_fft = 1
    while n_fft < window:
        n_fft *= 2
    hann = np.array([0.5 - 0.5 * math.cos(2 * math.pi * n / window) for n in range(window)])
    mel = lambda f: 2595.0 * math.log10(1.0 + f / 700.0)
    inv = lambda m: 700.0 * (10 ** (m / 2595.0) - 1.0)
    lo, hi = mel(F_MIN_HZ), mel(F_MAX_HZ)
    edges = [inv(lo + (hi - lo) * i / (n_mels + 1)) for i in range(n_mels + 2)]
    bins = np.arange(n_fft // 2 + 1) * 16000.0 / n_fft
    fb = np.zeros((n_mels, bins.size))
    for m in range(n_mels):
        a, b, c = edges[m], edges[m + 1], edges[m + 2]
        for k, f in enumerate(bins):
            if a < f <= b:
                fb[m, k] = (f - a) / (b - a)
            elif b < f < c:
                fb[m, k] = (c - f) / (c - b)
    out = []
    for t in range(1 + (16000 - window) // hop):
        frame = np.zeros(n_fft)
        frame[:window] = x[t * hop: t * hop + window] * hann
        power = np.abs(np.fft.rfft(frame)) ** 2
        logmel = np.log(np.maximum(fb @ power, LOG_FLOOR))
        coeffs = []
        for k in range(n_mels):
            s = sum(logmel[n] * math.cos(math.pi / n_mels * (n + 0.5) * k) for n in range(n_mels))
            coeffs.append(s * math.sqrt((1.0 if k == 0 else 2.0) / n_mels))
        out.append(coeffs)
    return np.array(out)


@pytest.mark.parametrize("config", [MfccConfig.parse("400/200/40"), MfccConfig.parse("640/320/80")], ids=str)
def test_torch_mfcc_matches_independent_numpy(config):
    rng = np.random.default_rng(0)
    t = np.arange(16000) / 16000
    pcm = (8000 * np.sin(2 * np.pi * 440 * t) * (t > 0.3) + 300 * rng.standard_normal(16000)).astype(np.int16)
    ref = numpy_mfcc(pcm, config.window, config.hop, config.n_mels)
    got = Mfcc(config)(torch.from_numpy(pcm)[None])[0].double().numpy()
    assert got.shape == ref.shape == config.shape
    assert np.abs(got - ref).max() < 2e-3 * np.abs(ref).max()


def test_mfcc_batches_short_clips_and_silence():
    config = MfccConfig.parse("640/320/40")
    audio = torch.zeros(3, 8000, dtype=torch.int16)   # half a second: zero-padded to one
    out = Mfcc(config)(audio)
    assert out.shape == (3, 49, 40)
    # Silence sits exactly on the log floor: c0 = sqrt(n_mels) * log(floor), the rest 0.
    assert torch.allclose(out[:, :, 0], torch.full((3, 49), math.sqrt(40) * math.log(LOG_FLOOR)), atol=1e-3)
    assert out[:, :, 1:].abs().max() < 1e-3
