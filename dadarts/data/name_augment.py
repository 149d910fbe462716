"""Audio augmentation that balances the name-detection task: pitch shift, time stretch, reverberation
and background noise at a chosen SNR (torch / torchaudio).

Names are rare against everything else, so the training split gets augmented copies of every name
clip. A copy keeps the speaker of its original, so the splits stay voice-disjoint; only the training
split is augmented. Each copy is reproducible: its random draws are seeded from (clip, copy index).
"""
from __future__ import annotations

import hashlib
import math
from dataclasses import asdict, dataclass

import numpy as np
import torch

from ..frontend.spec import CLIP_SAMPLES, SAMPLE_RATE


@dataclass(frozen=True)
class NameAugment:
    balance: float = 0.5          # each name class is grown towards this fraction of the _unknown_ count
    max_copies: int = 10          # augmented copies per original name clip at most
    pitch_semitones: float = 2.0  # pitch shift drawn uniformly in [-p, +p] semitones
    stretch: float = 0.15         # tempo factor drawn uniformly in [1 - s, 1 + s]
    reverb_prob: float = 0.5      # share of copies with reverberation
    rt60_s: tuple[float, float] = (0.2, 0.8)
    noise_prob: float = 0.8       # share of copies mixed with background noise
    snr_db: tuple[float, float] = (5.0, 20.0)

    def key(self) -> str:
        return hashlib.sha1(repr(sorted(asdict(self).items())).encode()).hexdigest()[:12]

    def copies_per_clip(self, n_name: int, n_unknown: int) -> int:
        if n_name == 0:
            return 0
        want = self.balance * n_unknown / n_name - 1.0
        return int(min(self.max_copies, max(0, math.ceil(want))))


def pitch_shift(audio: torch.Tensor, semitones: float) -> torch.Tensor:
    """Shift pitch by `semitones` keeping the duration: phase-vocoder stretch, then resample.

    torchaudio's own pitch_shift resamples between 16000 and 16000/ratio Hz, whose tiny common
    divisor builds a multi-GB kernel; a ratio rounded to 1/200 (under 0.1 semitone off) keeps the
    resampling kernel small."""
    if abs(semitones) < 1e-3:
        return audio
    import torchaudio.functional as AF
    ratio = 2.0 ** (semitones / 12.0)
    num, den = int(round(ratio * 200)), 200
    stretched = time_stretch(audio, den / num)           # longer by num/den, same pitch
    shifted = AF.resample(stretched.float(), num, den)   # back to the length, pitch times num/den
    n = audio.shape[-1]
    return torch.nn.functional.pad(shifted, (0, max(0, n - shifted.shape[-1])))[:n]


def time_stretch(audio: torch.Tensor, rate: float, n_fft: int = 512, hop: int = 128) -> torch.Tensor:
    """Play `rate` times faster keeping the pitch (phase vocoder); the length becomes len / rate."""
    if abs(rate - 1.0) < 1e-3:
        return audio
    import torchaudio.functional as AF
    window = torch.hann_window(n_fft)
    spec = torch.stft(audio.float(), n_fft, hop, window=window, return_complex=True)
    advance = torch.linspace(0, math.pi * hop, n_fft // 2 + 1)[:, None]
    stretched = AF.phase_vocoder(spec, rate, advance)
    length = int(round(audio.shape[-1] / rate))
    return torch.istft(stretched, n_fft, hop, window=window, length=length)


def reverberate(audio: torch.Tensor, rt60_s: float, generator: torch.Generator) -> torch.Tensor:
    """Convolve with a synthetic room response: exponentially decaying noise reaching -60 dB at rt60."""
    import torchaudio.functional as AF
    n = int(rt60_s * SAMPLE_RATE)
    t = torch.arange(n) / SAMPLE_RATE
    ir = torch.randn(n, generator=generator) * torch.exp(-6.9078 * t / rt60_s)   # ln(1000) = 6.9078
    ir[0] = 1.0
    ir = ir / ir.norm()
    wet = AF.fftconvolve(audio.float(), ir)[: audio.shape[-1]]
    return wet * (audio.abs().max() / (wet.abs().max() + 1e-9))


def speech_power(audio: torch.Tensor) -> torch.Tensor:
    """Mean power over the active part of the clip (samples above 1 % of the peak)."""
    active = audio.abs() > 0.01 * audio.abs().max()
    return audio[active].square().mean() if active.any() else audio.square().mean()


def add_noise(audio: torch.Tensor, noise: torch.Tensor, snr_db: float) -> torch.Tensor:
    """Mix `noise` (same length) so that speech power / noise power = snr_db."""
    scale = torch.sqrt(speech_power(audio) / (noise.square().mean() + 1e-12) / 10 ** (snr_db / 10))
    return audio + scale * noise


def fit_clip(audio: torch.Tensor, samples: int = CLIP_SAMPLES) -> torch.Tensor:
    """Back to `samples` (the clip's length), centred on the clip's energy so a stretched word is not cut off."""
    n = audio.shape[-1]
    if n == samples:
        return audio
    if n < samples:
        left = (samples - n) // 2
        return torch.nn.functional.pad(audio, (left, samples - n - left))
    energy = torch.cumsum(audio.square(), 0)
    centre = int(torch.searchsorted(energy, energy[-1] / 2))
    start = min(max(0, centre - samples // 2), n - samples)
    return audio[start:start + samples]


def augment_clip(pcm: np.ndarray, settings: NameAugment, seed_text: str,
                 background: list[np.ndarray]) -> np.ndarray:
    """One augmented copy of an int16 clip, reproducible from `seed_text`."""
    seed = int.from_bytes(hashlib.sha256(seed_text.encode()).digest()[:8], "little")
    rng = np.random.default_rng(seed)
    gen = torch.Generator().manual_seed(seed & 0x7FFFFFFF)
    x = torch.from_numpy(pcm.astype(np.float32) / 32768.0)
    x = pitch_shift(x, rng.uniform(-settings.pitch_semitones, settings.pitch_semitones))
    x = fit_clip(time_stretch(x, rng.uniform(1 - settings.stretch, 1 + settings.stretch)), len(pcm))
    if rng.random() < settings.reverb_prob:
        x = reverberate(x, rng.uniform(*settings.rt60_s), gen)
    if background and rng.random() < settings.noise_prob:
        noise = background[int(rng.integers(len(background)))]
        noise = np.resize(noise, max(noise.size, len(pcm)))     # a recording shorter than a long clip repeats
        start = int(rng.integers(0, noise.size - len(pcm) + 1))
        x = add_noise(x, torch.from_numpy(noise[start:start + len(pcm)].copy()), rng.uniform(*settings.snr_db))
    peak = x.abs().max()
    if peak > 0.99:
        x = x * (0.99 / peak)
    return np.round(x.numpy() * 32767).astype(np.int16)
