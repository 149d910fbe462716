"""Training-time augmentation: recording conditions on raw audio batches, then SpecAugment masks.

Every example gets new conditions at every epoch (data/conditions.py: time shift, a room drawn from a
bank the loop redraws each epoch, a microphone response, noise from the training part of the dataset's
`_background_noise_` at a drawn SNR, a level); the MFCC then runs on the training device per batch, so
the model sees exactly what the front-end would compute on such a recording. On the built-in corpus the
training speech is dry, so these are its only rooms, microphones and noise. Masks then blank random
time and frequency bands of the normalised features (0 is the per-coefficient mean after normalisation).
"""
from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import torch

from ..data.conditions import ConditionSettings, Conditions
from ..frontend.mfcc import Mfcc, to_float_audio
from ..frontend.spec import MfccConfig


@dataclass
class AugmentSettings:
    time_shift_ms: float = 100.0      # shift each clip by up to this much, either way, zero fill
    reverb_prob: float = 0.8          # share of clips in a random room (image-source response)
    rt60_s: tuple[float, float] = (0.1, 1.0)
    mic_prob: float = 0.7             # share of clips through a random microphone response
    noise_prob: float = 0.9           # share of clips with background noise mixed in
    snr_db: tuple[float, float] = (3.0, 30.0)       # its signal-to-noise ratio, drawn uniformly
    level_dbfs: tuple[float, float] = (-30.0, -1.0)  # peak level of a clip, drawn uniformly
    time_masks: int = 2               # SpecAugment time masks per clip, each up to 10 % of the frames
    freq_masks: int = 2               # SpecAugment frequency masks per clip, each up to 10 % of the bins
    mask_fraction: float = 0.1

    @classmethod
    def from_dict(cls, d: dict) -> "AugmentSettings":
        """Settings saved in a checkpoint; keys of an older recipe (noise_volume) are dropped."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items() if k in known})

    def conditions(self) -> ConditionSettings:
        return ConditionSettings(time_shift_ms=self.time_shift_ms, room_prob=self.reverb_prob, rt60_s=tuple(self.rt60_s),
                                 mic_prob=self.mic_prob, noise_prob=self.noise_prob, snr_db=tuple(self.snr_db),
                                 level_dbfs=tuple(self.level_dbfs))


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
    """int16 audio batch -> augmented, normalised (B, 1, T, F) features on the audio's device.

    `noise` is what may be mixed in (datasets.training_noise); `seed` draws the rooms."""

    def __init__(self, config: MfccConfig, mean, std, noise: list[np.ndarray], settings: AugmentSettings,
                 seed: int = 0):
        super().__init__()
        self.mfcc = Mfcc(config)
        self.register_buffer("mean", torch.as_tensor(np.asarray(mean), dtype=torch.float32), persistent=False)
        self.register_buffer("std", torch.as_tensor(np.asarray(std), dtype=torch.float32), persistent=False)
        self.conditions = Conditions(settings.conditions(), noise, seed)
        self.settings = settings
        self.seed = seed

    def new_epoch(self, epoch: int) -> None:
        """New rooms for `epoch`, the same ones whenever that epoch runs (a resumed run included)."""
        self.conditions.refresh(self.seed * 100_003 + epoch + 1)

    @torch.no_grad()
    def record(self, audio: torch.Tensor, gen: torch.Generator, speech: torch.Tensor | None = None) -> torch.Tensor:
        """int16 audio -> float audio with drawn recording conditions, on the CPU. `speech` (B,) marks the
        clips that get conditions; the rest (`_silence_`) get the time shift only."""
        x = self.conditions(to_float_audio(audio.cpu()), gen, speech)
        return torch.round(x * 32767) / 32767   # a recording is 16-bit PCM

    @torch.no_grad()
    def features(self, x: torch.Tensor, gen: torch.Generator | None) -> torch.Tensor:
        """Recorded float audio -> normalised (B, 1, T, F) features, masked when `gen` is given."""
        s = self.settings
        feats = (self.mfcc(x.to(self.mean.device)) - self.mean) / self.std
        if gen is not None:
            feats = spec_masks(feats, s.time_masks, s.freq_masks, s.mask_fraction, gen)
        return feats[:, None]

    def forward(self, audio: torch.Tensor, gen: torch.Generator, speech: torch.Tensor | None = None) -> torch.Tensor:
        return self.features(self.record(audio, gen, speech), gen)
