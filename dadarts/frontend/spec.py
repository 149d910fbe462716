"""The front-end contract: MFCC configurations and the constant tables every implementation shares.

This module is the single source of truth for the audio front-end. The float torch reference
(`dadarts.frontend.mfcc`), the fixed-point reference and the firmware's C tables are all derived
from the numbers and tables defined here. `docs/frontend.md` explains each constant.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

SAMPLE_RATE = 16000
CLIP_SAMPLES = 16000          # 1 s clips, zero-padded at the end if shorter
F_MIN_HZ = 20.0               # lowest mel band edge
F_MAX_HZ = 8000.0             # highest mel band edge (Nyquist)
LOG_FLOOR = 1e-6              # mel energies below this are clamped before the log
PCM_SCALE = 1.0 / 32768.0     # int16 PCM -> float in [-1, 1)
FRONTEND_VERSION = 1          # bump when any constant or table changes (invalidates caches)

_CONFIG_RE = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*/\s*(\d+)\s*$")


@dataclass(frozen=True, order=True)
class MfccConfig:
    """One data configuration: analysis window and hop in samples at 16 kHz, number of mel filters.

    The number of cepstral coefficients kept equals the number of mel filters, so a configuration's
    feature map is (n_frames, n_mels).
    """
    window: int
    hop: int
    n_mels: int

    def __post_init__(self):
        if not (16 <= self.window <= CLIP_SAMPLES):
            raise ValueError(f"MFCC window {self.window} is out of range: use 16..{CLIP_SAMPLES} samples.")
        if not (1 <= self.hop <= self.window):
            raise ValueError(f"MFCC hop {self.hop} must be between 1 and the window ({self.window}).")
        if not (4 <= self.n_mels <= self.n_fft // 2):
            raise ValueError(f"MFCC mel count {self.n_mels} is out of range: use 4..{self.n_fft // 2}.")

    @classmethod
    def parse(cls, text: str) -> "MfccConfig":
        """Parse 'WINDOW/HOP/MELS', e.g. '400/200/40'."""
        m = _CONFIG_RE.match(str(text))
        if not m:
            raise ValueError(f"'{text}' is not an MFCC configuration: write WINDOW/HOP/MELS in samples, e.g. 400/200/40.")
        return cls(*(int(g) for g in m.groups()))

    @property
    def name(self) -> str:
        return f"{self.window}/{self.hop}/{self.n_mels}"

    @property
    def n_fft(self) -> int:
        return 1 << (self.window - 1).bit_length()

    @property
    def n_bins(self) -> int:
        return self.n_fft // 2 + 1

    @property
    def n_frames(self) -> int:
        return 1 + (CLIP_SAMPLES - self.window) // self.hop

    @property
    def n_mfcc(self) -> int:
        return self.n_mels

    @property
    def shape(self) -> tuple[int, int]:
        """Feature map shape (time, frequency)."""
        return (self.n_frames, self.n_mfcc)

    def __str__(self) -> str:
        return self.name


DEFAULT_SPACE: tuple[MfccConfig, ...] = tuple(
    MfccConfig.parse(s) for s in (
        "400/100/40", "400/100/80", "400/200/40", "400/200/80",
        "640/160/40", "640/160/80", "640/320/40", "640/320/80",
    )
)


def parse_space(text: str | None) -> tuple[MfccConfig, ...]:
    """Parse a comma-separated list of configurations; None or '' gives the default space."""
    if not text:
        return DEFAULT_SPACE
    configs = tuple(MfccConfig.parse(part) for part in str(text).split(",") if part.strip())
    if len(set(configs)) != len(configs):
        raise ValueError(f"The data space '{text}' lists a configuration twice: list each once.")
    return configs


def hz_to_mel(f):
    return 2595.0 * np.log10(1.0 + np.asarray(f, dtype=np.float64) / 700.0)


def mel_to_hz(m):
    return 700.0 * (10.0 ** (np.asarray(m, dtype=np.float64) / 2595.0) - 1.0)


@lru_cache(maxsize=None)
def hann_window(window: int) -> np.ndarray:
    """Periodic Hann window of `window` samples (float64)."""
    n = np.arange(window, dtype=np.float64)
    return 0.5 - 0.5 * np.cos(2.0 * math.pi * n / window)


@lru_cache(maxsize=None)
def mel_filterbank(n_fft: int, n_mels: int) -> np.ndarray:
    """HTK-mel triangular filters, shape (n_mels, n_fft//2+1), unnormalised (peak 1 at the centre)."""
    freqs = np.arange(n_fft // 2 + 1, dtype=np.float64) * SAMPLE_RATE / n_fft
    edges = mel_to_hz(np.linspace(hz_to_mel(F_MIN_HZ), hz_to_mel(F_MAX_HZ), n_mels + 2))
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (freqs[None, :] - lower) / (centre - lower)
    falling = (upper - freqs[None, :]) / (upper - centre)
    return np.clip(np.minimum(rising, falling), 0.0, None)


@lru_cache(maxsize=None)
def dct_matrix(n_mels: int, n_mfcc: int) -> np.ndarray:
    """Orthonormal DCT-II, shape (n_mfcc, n_mels): mfcc = D @ log_mel."""
    k = np.arange(n_mfcc, dtype=np.float64)[:, None]
    n = np.arange(n_mels, dtype=np.float64)[None, :]
    d = np.cos(math.pi / n_mels * (n + 0.5) * k) * math.sqrt(2.0 / n_mels)
    d[0] *= 1.0 / math.sqrt(2.0)
    return d
