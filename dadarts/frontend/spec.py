"""The front-end contract: MFCC configurations and the constant tables every implementation shares.

This module is the single source of truth for the audio front-end. The float torch reference
(`dadarts.frontend.mfcc`), the fixed-point reference and the firmware's C tables are all derived
from the numbers and tables defined here. `docs/frontend.md` explains each constant.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np

SAMPLE_RATE = 16000
CLIP_SAMPLES = 16000          # the default clip: 1 s, zero-padded at the end if shorter
CLIP_MS_RANGE = (500, 3000)   # clip lengths a configuration may ask for (a phrase of up to 2 s fits, with margin)


def ms_to_samples(ms: int) -> int:
    """Whole milliseconds -> samples at SAMPLE_RATE."""
    return int(ms) * SAMPLE_RATE // 1000


MAX_CLIP_SAMPLES = ms_to_samples(CLIP_MS_RANGE[1])   # the longest clip a corpus word is read as
F_MIN_HZ = 20.0               # lowest mel band edge
F_MAX_HZ = 8000.0             # highest mel band edge (Nyquist)
LOG_FLOOR = 1e-6              # mel energies below this are clamped before the log
PCM_SCALE = 1.0 / 32768.0     # int16 PCM -> float in [-1, 1)
FRONTEND_VERSION = 1          # bump when any constant or table changes (invalidates caches)

_CONFIG_RE = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*/\s*(\d+)\s*(?:/\s*(\d+)\s*)?(?:@\s*(\d+)\s*ms\s*)?$")
# The firmware's front-end state is sized at compile time (KWS_FE_MAX_* in kws_frontend.h); these are
# its defaults, which every configuration of the data spaces below respects.
FIRMWARE_MAX_WINDOW = 640
FIRMWARE_MAX_FFT = 1024
FIRMWARE_MAX_MELS = 80


def check_clip(samples: int) -> None:
    """Refuse a clip length outside CLIP_MS_RANGE or not a whole number of milliseconds."""
    lo, hi = CLIP_MS_RANGE
    if samples % ms_to_samples(1) or not (ms_to_samples(lo) <= samples <= ms_to_samples(hi)):
        raise ValueError(f"A clip of {samples / SAMPLE_RATE * 1000:g} ms is out of range: use whole milliseconds "
                         f"from {lo} to {hi} (1000, one second, is the default).")


@dataclass(frozen=True, order=True)
class MfccConfig:
    """One data configuration: analysis window and hop in samples at 16 kHz, number of mel filters,
    number of cepstral coefficients kept (the first n_mfcc of the DCT; 0 means all n_mels) and the clip
    the model sees at once (samples; 1 s by default, longer for phrases).

    A configuration's feature map is (n_frames, n_mfcc). Its name is "WINDOW/HOP/MELS" when every
    coefficient is kept and "WINDOW/HOP/MELS/MFCC" otherwise, followed by "@CLIPms" when the clip is
    not the default 1 s (e.g. "400/200/40/10@1500ms"): the name is what runs, caches and the firmware's
    headers record, so a 1 s configuration reads exactly as before clips had a length.
    """
    window: int
    hop: int
    n_mels: int
    n_mfcc: int = 0
    clip_samples: int = CLIP_SAMPLES

    def __post_init__(self):
        if self.n_mfcc == 0:
            object.__setattr__(self, "n_mfcc", self.n_mels)
        check_clip(self.clip_samples)
        if not (16 <= self.window <= self.clip_samples):
            raise ValueError(f"MFCC window {self.window} is out of range: use 16..{self.clip_samples} samples.")
        if not (1 <= self.hop <= self.window):
            raise ValueError(f"MFCC hop {self.hop} must be between 1 and the window ({self.window}).")
        if not (4 <= self.n_mels <= self.n_fft // 2):
            raise ValueError(f"MFCC mel count {self.n_mels} is out of range: use 4..{self.n_fft // 2}.")
        if not (1 <= self.n_mfcc <= self.n_mels):
            raise ValueError(f"MFCC coefficient count {self.n_mfcc} is out of range: use 1..{self.n_mels} "
                             f"(at most the number of mel filters).")

    @classmethod
    def parse(cls, text: str) -> "MfccConfig":
        """Parse 'WINDOW/HOP/MELS[/MFCC][@CLIPms]', e.g. '400/200/40', '640/320/40/10' or '400/200/40@2000ms'."""
        m = _CONFIG_RE.match(str(text))
        if not m:
            raise ValueError(f"'{text}' is not an MFCC configuration: write WINDOW/HOP/MELS[/MFCC] in samples, "
                             f"e.g. 400/200/40 or 640/320/40/10, optionally with the clip length, e.g. 400/200/40@2000ms.")
        window, hop, mels, mfcc, clip_ms = m.groups()
        return cls(int(window), int(hop), int(mels), int(mfcc or 0),
                   CLIP_SAMPLES if clip_ms is None else ms_to_samples(clip_ms))

    def with_clip_ms(self, clip_ms: int | None) -> "MfccConfig":
        """This configuration with a clip of `clip_ms` milliseconds (None keeps its own)."""
        if clip_ms is None:
            return self
        return replace(self, clip_samples=ms_to_samples(clip_ms))

    @property
    def clip_ms(self) -> int:
        return self.clip_samples * 1000 // SAMPLE_RATE

    @property
    def name(self) -> str:
        base = f"{self.window}/{self.hop}/{self.n_mels}"
        base = base if self.n_mfcc == self.n_mels else f"{base}/{self.n_mfcc}"
        return base if self.clip_samples == CLIP_SAMPLES else f"{base}@{self.clip_ms}ms"

    @property
    def n_fft(self) -> int:
        return 1 << (self.window - 1).bit_length()

    @property
    def n_bins(self) -> int:
        return self.n_fft // 2 + 1

    @property
    def n_frames(self) -> int:
        return 1 + (self.clip_samples - self.window) // self.hop

    @property
    def shape(self) -> tuple[int, int]:
        """Feature map shape (time, frequency)."""
        return (self.n_frames, self.n_mfcc)

    def firmware_problem(self) -> str | None:
        """Why the firmware's streaming front-end cannot run this configuration, or None.

        It slides the window by whole hops (kws_frontend.c), so the hop must divide the window; its
        default buffers hold windows up to FIRMWARE_MAX_WINDOW, FFTs up to FIRMWARE_MAX_FFT points and
        FIRMWARE_MAX_MELS filters.
        """
        if self.window % self.hop:
            return (f"MFCC configuration {self.name}: the hop ({self.hop}) does not divide the window "
                    f"({self.window}), which the firmware's streaming front-end needs; choose a hop that divides it.")
        if self.window > FIRMWARE_MAX_WINDOW or self.n_fft > FIRMWARE_MAX_FFT or self.n_mels > FIRMWARE_MAX_MELS:
            return (f"MFCC configuration {self.name} exceeds the firmware front-end's buffers (window <= "
                    f"{FIRMWARE_MAX_WINDOW}, FFT <= {FIRMWARE_MAX_FFT}, mels <= {FIRMWARE_MAX_MELS}); choose a smaller one.")
        return None

    def __str__(self) -> str:
        return self.name


DEFAULT_SPACE: tuple[MfccConfig, ...] = tuple(
    MfccConfig.parse(s) for s in (
        "400/100/40", "400/100/80", "400/200/40", "400/200/80",
        "640/160/40", "640/160/80", "640/320/40", "640/320/80",
    )
)


# The data space of the microcontroller search space: the number of coefficients kept is a dimension
# (10 and 20, as KWS models on microcontrollers keep, and all 40 of the paper's GSC choice), next to
# time resolution (hops of 100 to 320 samples) and the number of mel filters.
MCU_SPACE: tuple[MfccConfig, ...] = tuple(
    MfccConfig.parse(s) for s in (
        "400/200/40/10", "400/200/40/20", "400/100/40/10", "640/320/40/10",
        "640/320/40/20", "640/160/40/10", "640/320/80/20", "400/200/40",
    )
)


def parse_space(text: str | None, default: tuple[MfccConfig, ...] = DEFAULT_SPACE,
                clip_ms: int | None = None) -> tuple[MfccConfig, ...]:
    """Parse a comma-separated list of configurations; None or '' gives `default`. `clip_ms` sets every
    configuration's clip (a search compares configurations on the same clips)."""
    configs = default if not text else tuple(MfccConfig.parse(part) for part in str(text).split(",") if part.strip())
    configs = tuple(c.with_clip_ms(clip_ms) for c in configs)
    if len(set(configs)) != len(configs):
        raise ValueError(f"The data space '{text}' lists a configuration twice: list each once.")
    if len({c.clip_samples for c in configs}) > 1:
        raise ValueError(f"The data space '{text}' mixes clip lengths: give every configuration the same one "
                         f"(or set it for all with --clip-ms).")
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
