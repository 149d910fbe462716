"""Audio and MFCC features of a dataset split, computed once in batches and cached on disk.

The cache key is the dataset fingerprint (file list, task, split), the split name and, for features,
the MFCC configuration and the front-end version. Searching over eight configurations therefore
reads eight arrays from disk instead of computing MFCCs per sample in the training loop.
Arrays are written atomically, so an interrupted run never leaves a truncated cache entry.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..frontend.mfcc import Mfcc
from ..frontend.spec import CLIP_SAMPLES, FRONTEND_VERSION, MfccConfig
from ..rundir import atomic_path
from .conditions import ConditionSettings, render
from .datasets import KwsDataset, noise_region
from .synth import cache_dir

_BATCH = 512
FROZEN_CONDITIONS = "frozen-conditions-v1"   # bump when conditions.py changes what a frozen render is


@dataclass
class AudioSplit:
    audio: torch.Tensor   # (N, clip samples) int16
    y: torch.Tensor       # (N,) int64


@dataclass
class Features:
    x: torch.Tensor       # (N, T, F) float16, raw (unnormalised) MFCC
    y: torch.Tensor       # (N,) int64
    config: MfccConfig


@dataclass
class Normalizer:
    """Per-coefficient normalisation learned on the training split: x -> (x - mean) / std."""
    mean: np.ndarray      # (F,) float32
    std: np.ndarray       # (F,) float32

    def apply(self, x: torch.Tensor) -> torch.Tensor:
        mean = torch.as_tensor(self.mean, device=x.device)
        std = torch.as_tensor(self.std, device=x.device)
        return (x.float() - mean) / std

    def to_dict(self) -> dict:
        return {"mean": [float(v) for v in self.mean], "std": [float(v) for v in self.std]}

    @classmethod
    def from_dict(cls, d: dict) -> "Normalizer":
        return cls(np.asarray(d["mean"], np.float32), np.asarray(d["std"], np.float32))


def _key(ds: KwsDataset, split: str, *extra) -> str:
    return hashlib.sha1("|".join(map(str, (ds.cache_key(split), split, *extra))).encode()).hexdigest()[:20]


def _cache_file(kind: str, key: str) -> Path:
    return cache_dir() / kind / f"{key}.npy"


def _save(path: Path, array: np.ndarray) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.save(f, array)


def labels_of(ds: KwsDataset, split: str) -> torch.Tensor:
    return torch.tensor([c.label for c in ds.splits[split]], dtype=torch.int64)


def load_audio_split(ds: KwsDataset, split: str, dry: bool = False, samples: int = CLIP_SAMPLES) -> AudioSplit:
    """All clips of a split as one int16 (N, samples) tensor, cached; `samples` is the run's clip
    (MfccConfig.clip_samples, one second by default): shorter files are zero-padded at the end.

    A corpus' dry clips (KwsDataset.dry) come with frozen conditions (conditions.py; the split's own seed
    and noise region), so that the search, the normaliser and every measurement hear recordings; `dry`
    keeps them dry, for training that draws new conditions every epoch."""
    clips = ds.splits[split]
    rows = np.array([c.path in ds.dry for c in clips], bool) if ds.dry and not dry else np.zeros(len(clips), bool)
    frozen = (FROZEN_CONDITIONS,) if rows.any() else ()
    path = _cache_file("audio", _key(ds, split, samples, *frozen))
    if path.is_file():
        audio = np.load(path)
    else:
        audio = np.stack([ds.load_audio(c, samples) for c in clips]).astype(np.int16)
        if rows.any():
            seed = int(hashlib.sha1(f"{ds.cache_key(split)}|{split}|frozen".encode()).hexdigest()[:8], 16)
            noises = [noise_region(n, split) for n in ds.background_noise]
            audio[rows] = render(audio[rows], ConditionSettings(), noises, seed)
        _save(path, audio)
    return AudioSplit(torch.from_numpy(audio), labels_of(ds, split))


@torch.no_grad()
def compute_mfcc(audio: torch.Tensor, config: MfccConfig, device: torch.device | str = "cpu") -> torch.Tensor:
    """Batched MFCC of (N, samples) int16 audio -> (N, T, F) float16 on the CPU."""
    module = Mfcc(config).to(device)
    out = torch.empty((audio.shape[0], *config.shape), dtype=torch.float16)
    for i in range(0, audio.shape[0], _BATCH):
        out[i:i + _BATCH] = module(audio[i:i + _BATCH].to(device)).to("cpu", torch.float16)
    return out


def load_features(ds: KwsDataset, split: str, config: MfccConfig,
                  device: torch.device | str = "cpu") -> Features:
    """Raw MFCC features of a split under one configuration, cached by (dataset, split, config)."""
    path = _cache_file("features", _key(ds, split, config.name, FRONTEND_VERSION))
    if path.is_file():
        x = torch.from_numpy(np.load(path))
    else:
        x = compute_mfcc(load_audio_split(ds, split, samples=config.clip_samples).audio, config, device)
        _save(path, x.numpy())
    return Features(x, labels_of(ds, split), config)


def fit_normalizer(ds: KwsDataset, config: MfccConfig) -> Normalizer:
    """Per-coefficient mean and standard deviation over every frame of the training split."""
    x = load_features(ds, "train", config).x.float().reshape(-1, config.n_mfcc)
    mean = x.mean(0)
    std = x.std(0).clamp_min(1e-3)
    return Normalizer(mean.numpy().astype(np.float32), std.numpy().astype(np.float32))
