"""Synthetic room impulse responses: a shoebox image-source model for the early reflections plus an
exponentially decaying diffuse tail, for a chosen reverberation time (RT60) and source distance.

The image-source method (Allen & Berkley 1979) places one mirror image of the talker per sequence of
wall reflections; each arrives after |image - mic| / c seconds, attenuated by 1/distance and by the
wall reflection coefficient per bounce. Walls share one absorption coefficient, set by Sabine's
formula so that the room reaches the requested RT60. Images are summed up to `early_s`; after that
the response is a noise tail decaying 60 dB per RT60, continuing the image model's energy, which is
much cheaper than high reflection orders and indistinguishable to an MFCC front-end. A close talker
gives a strong direct path (high direct-to-reverberant ratio), a far one a weak one.
"""
from __future__ import annotations

import numpy as np

from ..frontend.spec import SAMPLE_RATE

SPEED_OF_SOUND = 343.0


def _axis_images(source: float, mic: float, length: float, order: int) -> tuple[np.ndarray, np.ndarray]:
    """Image coordinates along one axis relative to the mic, and how many walls each one bounced off."""
    m = np.arange(-order, order + 1)
    pos = np.concatenate([2 * m * length + source, 2 * m * length - source]) - mic
    bounces = np.concatenate([np.abs(2 * m), np.abs(2 * m - 1)])
    return pos, bounces


def room_impulse_response(rng: np.random.Generator, rt60_s: float, distance_m: float,
                          early_s: float = 0.05, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """An impulse response (float32, unit energy, direct path first) of a random shoebox room."""
    dims = rng.uniform([3.0, 2.5, 2.4], [10.0, 8.0, 4.0])
    volume, surface = np.prod(dims), 2 * (dims[0] * dims[1] + dims[0] * dims[2] + dims[1] * dims[2])
    absorption = float(np.clip(0.161 * volume / (surface * rt60_s), 0.02, 0.99))   # Sabine
    reflection = np.sqrt(1.0 - absorption)
    mic = rng.uniform(0.5, dims - 0.5)
    azimuth, elevation = rng.uniform(0, 2 * np.pi), rng.uniform(-0.3, 0.3)
    direction = np.array([np.cos(azimuth) * np.cos(elevation), np.sin(azimuth) * np.cos(elevation), np.sin(elevation)])
    source = np.clip(mic + distance_m * direction, 0.3, dims - 0.3)

    order = int(np.ceil(SPEED_OF_SOUND * early_s / dims.min())) + 1
    (x, bx), (y, by), (z, bz) = (_axis_images(source[i], mic[i], dims[i], order) for i in range(3))
    dist = np.sqrt(x[:, None, None] ** 2 + y[None, :, None] ** 2 + z[None, None, :] ** 2).ravel()
    bounces = (bx[:, None, None] + by[None, :, None] + bz[None, None, :]).ravel()
    delay = dist / SPEED_OF_SOUND * sample_rate
    direct = delay.min()
    early_len = int(direct + early_s * sample_rate)
    keep = delay < early_len
    n = early_len + int(rt60_s * sample_rate)
    ir = np.zeros(n)
    np.add.at(ir, np.round(delay[keep]).astype(int), reflection ** bounces[keep] / np.maximum(dist[keep], 0.1))

    # Diffuse tail: noise with the RT60 decay, its level continuing the last 10 ms of image energy.
    window = ir[early_len - sample_rate // 100: early_len]
    level = np.sqrt(np.mean(window ** 2)) if window.size else 0.0
    t = np.arange(n - early_len) / sample_rate
    ir[early_len:] = level * rng.standard_normal(t.size) * np.exp(-6.9078 * t / rt60_s)   # ln(1000)
    ir = ir[int(direct):]                     # the clip keeps its timing: the direct path is sample 0
    return (ir / (np.sqrt(np.sum(ir ** 2)) + 1e-12)).astype(np.float32)


def measured_rt60(ir: np.ndarray, sample_rate: int = SAMPLE_RATE) -> float:
    """RT60 from the Schroeder backward integral, fitting the -5 to -25 dB decay (T20 x 3)."""
    energy = np.cumsum(ir[::-1].astype(np.float64) ** 2)[::-1]
    db = 10 * np.log10(energy / energy[0] + 1e-30)
    i5, i25 = np.argmax(db <= -5), np.argmax(db <= -25)
    return 3.0 * (i25 - i5) / sample_rate


def reverberate(audio: np.ndarray, ir: np.ndarray) -> np.ndarray:
    """`audio` convolved with `ir`, cut to its own length (FFT convolution)."""
    n = audio.size + ir.size - 1
    size = 1 << (n - 1).bit_length()
    wet = np.fft.irfft(np.fft.rfft(audio, size) * np.fft.rfft(ir, size), size)[: audio.size]
    return wet.astype(np.float32)
