"""Reading and writing 16 kHz mono 16-bit WAV files, with the checks a Speech Commands loader needs."""
from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

from ..frontend.spec import SAMPLE_RATE


class BadWav(Exception):
    """A WAV file that cannot be used; `reason` is a short category for counted warnings."""

    def __init__(self, reason: str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


def check_header(path: str | Path) -> int:
    """Return the number of frames of a usable WAV; raise BadWav otherwise."""
    try:
        with wave.open(str(path), "rb") as w:
            rate, channels, width, frames = w.getframerate(), w.getnchannels(), w.getsampwidth(), w.getnframes()
    except (wave.Error, EOFError, OSError) as exc:
        raise BadWav("unreadable", f"{path} ({exc})") from None
    if rate != SAMPLE_RATE:
        raise BadWav("wrong sample rate", f"{path} is {rate} Hz, not {SAMPLE_RATE} Hz")
    if channels != 1:
        raise BadWav("not mono", f"{path} has {channels} channels")
    if width != 2:
        raise BadWav("not 16-bit", f"{path} has {8 * width}-bit samples")
    if frames == 0:
        raise BadWav("empty", f"{path} has no samples")
    return frames


def read_wav(path: str | Path) -> np.ndarray:
    """int16 samples of a 16 kHz mono 16-bit WAV."""
    check_header(path)
    with wave.open(str(path), "rb") as w:
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.int16)


def write_wav(path: str | Path, samples: np.ndarray) -> None:
    """Write int16 (or float in [-1, 1]) samples as a 16 kHz mono 16-bit WAV."""
    if samples.dtype != np.int16:
        samples = np.clip(np.round(np.asarray(samples, np.float64) * 32767.0), -32768, 32767).astype(np.int16)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        w.writeframes(samples.astype("<i2").tobytes())
