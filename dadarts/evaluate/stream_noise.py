"""Noise for the long-form test and calibration streams, from generators training never uses.

Training hears the corpus's `_background_noise_` files and synth.make_noise's kinds (white, pink,
brown, hum, tap, fan, traffic, babble of training voices). A test stream that reuses them flatters
the model, so these are other sounds made by other generators: rain (random droplets), music
(notes with harmonics), dishes (clatter of damped resonances), wind (gusting low rumble), a vacuum
cleaner (motor whine over a band of hiss), crowd (overlapping words of the stream's own held-out
voices) and, under everything, a room tone (white noise through a random smooth spectral envelope)
so that no stretch of a stream is digital silence. Each returns float32 at unit RMS.
"""
from __future__ import annotations

import numpy as np

from ..frontend.spec import SAMPLE_RATE

KINDS = ("rain", "music", "dishes", "wind", "vacuum", "crowd")


def _filtered(white: np.ndarray, gain_of_f) -> np.ndarray:
    f = np.fft.rfftfreq(white.size, 1 / SAMPLE_RATE)
    return np.fft.irfft(np.fft.rfft(white) * gain_of_f(np.maximum(f, 1.0)), white.size)


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / (np.sqrt(np.mean(x ** 2)) + 1e-12)).astype(np.float32)


def room_tone(n: int, rng: np.random.Generator) -> np.ndarray:
    """A room's steady noise: white noise under a random smooth envelope over 8 log-spaced bands."""
    bands = np.geomspace(50, 8000, 8)
    gains_db = rng.uniform(-30, 0, bands.size)
    return _unit(_filtered(rng.standard_normal(n), lambda f: 10 ** (np.interp(np.log(f), np.log(bands), gains_db) / 20)))


def _impulses(n: int, rate_hz: float, rng: np.random.Generator) -> np.ndarray:
    return (rng.random(n) < rate_hz / SAMPLE_RATE) * rng.exponential(1.0, n)


def rain(n: int, rng: np.random.Generator) -> np.ndarray:
    drops = _impulses(n, rng.uniform(300, 3000), rng)
    t = np.arange(int(0.004 * SAMPLE_RATE)) / SAMPLE_RATE
    kernel = rng.standard_normal(t.size) * np.exp(-t / rng.uniform(0.0005, 0.002))
    hiss = _filtered(rng.standard_normal(n), lambda f: (f / 4000.0) ** 0.5 / (1 + (f / 7000.0) ** 4))
    return _unit(np.convolve(drops, kernel, "same") / 3 + 0.3 * hiss / (hiss.std() + 1e-12))


def music(n: int, rng: np.random.Generator) -> np.ndarray:
    """A wandering pentatonic melody over a slow bass, each note with decaying harmonics."""
    out, pos, root = np.zeros(n), 0, rng.uniform(110, 220)
    scale = np.array([0, 2, 4, 7, 9, 12, 14, 16])
    while pos < n:
        dur = int(rng.uniform(0.12, 0.6) * SAMPLE_RATE)
        t = np.arange(min(dur, n - pos)) / SAMPLE_RATE
        f0 = 2 * root * 2 ** (scale[int(rng.integers(scale.size))] / 12)
        note = sum(np.sin(2 * np.pi * f0 * k * t) / k ** 1.5 for k in range(1, 6)) * np.exp(-t / rng.uniform(0.1, 0.5))
        bass = 0.5 * np.sin(2 * np.pi * root * t)
        out[pos:pos + t.size] += note + bass
        pos += t.size
    return _unit(out)


def dishes(n: int, rng: np.random.Generator) -> np.ndarray:
    out = np.zeros(n)
    hits = np.flatnonzero(rng.random(n) < rng.uniform(0.5, 4.0) / SAMPLE_RATE)
    for h in hits:
        t = np.arange(min(int(0.3 * SAMPLE_RATE), n - h)) / SAMPLE_RATE
        out[h:h + t.size] += sum(rng.uniform(0.2, 1) * np.sin(2 * np.pi * rng.uniform(1000, 6000) * t)
                                 * np.exp(-t / rng.uniform(0.02, 0.2)) for _ in range(int(rng.integers(3, 7))))
    return _unit(out + 0.01 * rng.standard_normal(n))


def wind(n: int, rng: np.random.Generator) -> np.ndarray:
    cutoff = rng.uniform(300, 800)
    rumble = _filtered(rng.standard_normal(n), lambda f: 1 / (1 + (f / cutoff) ** 3))
    k = max(2, int(n / SAMPLE_RATE * rng.uniform(0.1, 0.5)))
    gusts = np.interp(np.arange(n), np.linspace(0, n, k), rng.uniform(0.1, 1.0, k))
    return _unit(rumble * gusts)


def vacuum(n: int, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(n) / SAMPLE_RATE
    f0 = rng.uniform(150, 400) * (1 + 0.01 * np.sin(2 * np.pi * rng.uniform(0.2, 1.0) * t))
    phase = 2 * np.pi * np.cumsum(f0) / SAMPLE_RATE
    whine = sum(np.sin(k * phase) / k for k in range(1, 6))
    centre = rng.uniform(1000, 3000)
    hiss = _filtered(rng.standard_normal(n), lambda f: np.exp(-0.5 * (np.log(f / centre) / 0.5) ** 2))
    return _unit(whine / whine.std() + 2 * hiss / (hiss.std() + 1e-12))


def crowd(n: int, rng: np.random.Generator, words: np.ndarray) -> np.ndarray:
    """Overlapping words (int16 clips of held-out voices), about 4-8 talkers at a time."""
    out = np.zeros(n)
    rate = rng.uniform(4, 8)
    for _ in range(max(1, int(n / SAMPLE_RATE * rate))):
        clip = words[int(rng.integers(len(words)))].astype(np.float64)
        start = int(rng.integers(0, max(1, n - clip.size)))
        seg = clip[: n - start]
        out[start:start + seg.size] += seg / (np.sqrt(np.mean(seg ** 2)) + 1e-9) * rng.uniform(0.3, 1.0)
    return _unit(out)


def make(kind: str, n: int, rng: np.random.Generator, words: np.ndarray | None = None) -> np.ndarray:
    if kind == "crowd":
        return crowd(n, rng, words)
    return {"rain": rain, "music": music, "dishes": dishes, "wind": wind, "vacuum": vacuum}[kind](n, rng)
