"""Training-time augmentation: on raw audio batches, then SpecAugment-style masks on the features.

Audio is augmented before the MFCC (time shift, reverberation by a random synthetic room, background-
noise mixing from the dataset's `_background_noise_`), so the model sees exactly what the front-end
would compute on a shifted, reverberant, noisy recording; the MFCC runs on the training device per
batch. Masks then blank random time and frequency bands of the normalised features (0 is the
per-coefficient mean after normalisation).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..data.rooms import room_impulse_response
from ..frontend.mfcc import Mfcc, to_float_audio
from ..frontend.spec import CLIP_SAMPLES, SAMPLE_RATE, MfccConfig


@dataclass
class AugmentSettings:
    time_shift_ms: float = 100.0      # shift each clip by up to this much, either way, zero fill
    # Probability a clip is convolved with a random room. Off by default: the built-in corpus' clips
    # already passed through rooms and extra reverberation did not help there (benchmarks/results/
    # generalisation.json, "after-no-reverb"); 0.5 suits close-talk recordings such as Speech Commands.
    reverb_prob: float = 0.0
    rt60_s: tuple[float, float] = (0.1, 1.0)
    noise_prob: float = 0.8           # probability a clip gets background noise mixed in
    noise_volume: float = 0.1         # noise gain drawn uniformly in [0, noise_volume]
    time_masks: int = 2               # SpecAugment time masks per clip, each up to 10 % of the frames
    freq_masks: int = 2               # SpecAugment frequency masks per clip, each up to 10 % of the bins
    mask_fraction: float = 0.1


def time_shift(audio: torch.Tensor, max_shift: int, gen: torch.Generator) -> torch.Tensor:
    """Shift every clip of (B, N) float audio by its own offset in [-max_shift, max_shift], zero fill."""
    if max_shift <= 0:
        return audio
    b, n = audio.shape
    shifts = torch.randint(-max_shift, max_shift + 1, (b, 1), generator=gen).to(audio.device)
    idx = torch.arange(n, device=audio.device)[None, :] - shifts
    valid = (idx >= 0) & (idx < n)
    return torch.gather(audio, 1, idx.clamp(0, n - 1)) * valid


def room_bank(rt60_s: tuple[float, float], rooms: int = 128, seed: int = 0) -> torch.Tensor:
    """(rooms, 16000) impulse responses of random rooms (RT60 in `rt60_s`, talker 0.3-4 m), zero-padded."""
    rng = np.random.default_rng(seed)
    bank = torch.zeros(rooms, CLIP_SAMPLES)
    for i in range(rooms):
        ir = room_impulse_response(rng, rng.uniform(*rt60_s), rng.uniform(0.3, 4.0))[:CLIP_SAMPLES]
        bank[i, :ir.size] = torch.from_numpy(ir)
    return bank


def reverberate(audio: torch.Tensor, bank: torch.Tensor, prob: float, gen: torch.Generator) -> torch.Tensor:
    """Convolve a `prob` share of (B, N) clips with a random response of `bank`, keeping each clip's peak."""
    if prob <= 0:
        return audio
    b, n = audio.shape
    chosen = (torch.rand(b, generator=gen) < prob).to(audio.device)
    rooms = bank[torch.randint(0, bank.shape[0], (b,), generator=gen)].to(audio.device)
    size = 2 * n
    wet = torch.fft.irfft(torch.fft.rfft(audio, size) * torch.fft.rfft(rooms, size), size)[:, :n]
    wet = wet * (audio.abs().amax(1, keepdim=True) / wet.abs().amax(1, keepdim=True).clamp_min(1e-6))
    return torch.where(chosen[:, None], wet, audio)


def noise_bank(background: list[np.ndarray]) -> torch.Tensor | None:
    """Background recordings at least one clip long, as one (total,) float tensor with offsets."""
    usable = [np.asarray(b, dtype=np.float32) for b in background if len(b) >= CLIP_SAMPLES]
    return torch.from_numpy(np.concatenate(usable)) if usable else None


def mix_noise(audio: torch.Tensor, bank: torch.Tensor | None, prob: float, volume: float,
              gen: torch.Generator) -> torch.Tensor:
    """Add a random 1 s segment of background noise, scaled by U(0, volume), to a `prob` share of clips."""
    if bank is None or prob <= 0 or volume <= 0:
        return audio
    b = audio.shape[0]
    starts = torch.randint(0, bank.numel() - CLIP_SAMPLES + 1, (b,), generator=gen)
    segments = bank[starts[:, None] + torch.arange(CLIP_SAMPLES)[None, :]].to(audio.device)
    gain = torch.rand(b, 1, generator=gen) * volume * (torch.rand(b, 1, generator=gen) < prob)
    return (audio + segments * gain.to(audio.device)).clamp(-1.0, 1.0)


def spec_masks(x: torch.Tensor, n_time: int, n_freq: int, fraction: float, gen: torch.Generator) -> torch.Tensor:
    """Zero `n_time` random time bands and `n_freq` frequency bands of (B, T, F) features."""
    b, t, f = x.shape
    keep = torch.ones(b, t, f, dtype=torch.bool)
    for count, axis, size in ((n_time, 1, t), (n_freq, 2, f)):
        width_max = max(1, int(size * fraction))
        for _ in range(count):
            width = torch.randint(0, width_max + 1, (b, 1), generator=gen)
            start = (torch.rand(b, 1, generator=gen) * (size - width + 1)).long()
            pos = torch.arange(size)[None, :]
            band = (pos >= start) & (pos < start + width)
            keep &= ~(band[:, :, None] if axis == 1 else band[:, None, :])
    return x * keep.to(x.device)


class AugmentedFeatures(torch.nn.Module):
    """int16 audio batch -> augmented, normalised (B, 1, T, F) features on the audio's device."""

    def __init__(self, config: MfccConfig, mean, std, background: list[np.ndarray], settings: AugmentSettings):
        super().__init__()
        self.mfcc = Mfcc(config)
        self.register_buffer("mean", torch.as_tensor(np.asarray(mean), dtype=torch.float32), persistent=False)
        self.register_buffer("std", torch.as_tensor(np.asarray(std), dtype=torch.float32), persistent=False)
        self.bank = noise_bank(background)
        self.register_buffer("rooms", room_bank(tuple(settings.rt60_s)), persistent=False)
        self.settings = settings

    @torch.no_grad()
    def forward(self, audio: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        s = self.settings
        x = to_float_audio(audio)
        x = time_shift(x, int(s.time_shift_ms * SAMPLE_RATE / 1000), gen)
        x = reverberate(x, self.rooms, s.reverb_prob, gen)
        x = mix_noise(x, self.bank, s.noise_prob, s.noise_volume, gen)
        feats = (self.mfcc(x) - self.mean) / self.std
        feats = spec_masks(feats, s.time_masks, s.freq_masks, s.mask_fraction, gen)
        return feats[:, None]
