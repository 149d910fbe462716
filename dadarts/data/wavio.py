"""Reading WAV files as 16 kHz mono int16 (converting what real folders hold) and writing them.

Real recordings come at 8, 22.05, 44.1 or 48 kHz, in stereo, as 8/24/32-bit integers or 32/64-bit
floats, often in WAVE_FORMAT_EXTENSIBLE headers that Python's `wave` module (3.11) cannot open. The
RIFF chunks are parsed here directly; `read_wav` converts every such file to what the pipeline uses
(downmix by averaging the channels, resample with torchaudio's windowed-sinc resampler, round to
int16) and `WavInfo.conversions` names what was converted, so a loader can print one counted notice.
A 16 kHz mono 16-bit file is read unchanged, sample for sample. Only files that cannot be decoded at
all (not a RIFF/WAVE file, compressed encodings such as mu-law or ADPCM, no samples) raise BadWav.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..frontend.spec import SAMPLE_RATE

_PCM, _FLOAT, _EXTENSIBLE = 1, 3, 0xFFFE
_INT_BITS = (8, 16, 24, 32)
_FLOAT_BITS = (32, 64)


class BadWav(Exception):
    """A WAV file that cannot be used; `reason` is a short category for counted warnings."""

    def __init__(self, reason: str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


@dataclass(frozen=True)
class WavInfo:
    rate: int
    channels: int
    bits: int
    is_float: bool
    frames: int
    data_offset: int     # byte offset of the first sample in the file

    def conversions(self) -> list[str]:
        """What reading this file as 16 kHz mono 16-bit changes (empty: read as it is)."""
        out = []
        if self.rate != SAMPLE_RATE:
            out.append(f"resampled from {self.rate} Hz")
        if self.channels != 1:
            out.append(f"downmixed from {self.channels} channels")
        if self.is_float or self.bits != 16:
            out.append(f"converted from {self.bits}-bit {'float' if self.is_float else 'integer'}")
        return out


def _chunks(f, size: int):
    """(id, offset of the data, declared size) of each RIFF chunk after the 12-byte header."""
    pos = 12
    while pos + 8 <= size:
        f.seek(pos)
        cid, length = struct.unpack("<4sI", f.read(8))
        yield cid, pos + 8, length
        pos += 8 + length + (length & 1)


def check_header(path: str | Path) -> WavInfo:
    """The format of a WAV file that can be read (converted if need be); raise BadWav otherwise."""
    path = Path(path)
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            head = f.read(12)
            if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
                raise BadWav("unreadable", f"{path} is not a RIFF/WAVE file")
            fmt, data = None, None
            for cid, offset, length in _chunks(f, size):
                if cid == b"fmt ":
                    f.seek(offset)
                    fmt = f.read(min(length, 40))
                elif cid == b"data":
                    data = (offset, min(length, size - offset))   # streamed files declare a bogus size
                    break
    except OSError as exc:
        raise BadWav("unreadable", f"{path} ({exc})") from None
    if fmt is None or len(fmt) < 16 or data is None:
        raise BadWav("unreadable", f"{path} has no {'fmt' if fmt is None or len(fmt) < 16 else 'data'} chunk")
    tag, channels, rate, _, _, bits = struct.unpack("<HHIIHH", fmt[:16])
    if tag == _EXTENSIBLE and len(fmt) >= 26:
        tag = struct.unpack("<H", fmt[24:26])[0]        # the sub-format GUID starts with the format code
    supported = (tag == _PCM and bits in _INT_BITS) or (tag == _FLOAT and bits in _FLOAT_BITS)
    if not supported or channels < 1 or rate < 1:
        raise BadWav("unsupported encoding",
                     f"{path} is format {tag} with {bits}-bit samples and {channels} channels "
                     f"(readable: integer PCM {'/'.join(map(str, _INT_BITS))}-bit or float 32/64-bit)")
    frames = data[1] // (channels * bits // 8)
    if frames == 0:
        raise BadWav("empty", f"{path} has no samples")
    return WavInfo(rate, channels, bits, tag == _FLOAT, frames, data[0])


def _decode(raw: bytes, info: WavInfo) -> np.ndarray:
    """(frames, channels) float64 in [-1, 1) from the raw sample bytes."""
    if info.is_float:
        x = np.frombuffer(raw, "<f4" if info.bits == 32 else "<f8").astype(np.float64)
        x = np.clip(np.nan_to_num(x), -1.0, 1.0)
    elif info.bits == 8:
        x = (np.frombuffer(raw, np.uint8).astype(np.float64) - 128.0) / 128.0   # 8-bit WAV is unsigned
    elif info.bits == 24:
        b = np.frombuffer(raw, np.uint8).reshape(-1, 3).astype(np.int32)
        v = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        x = np.where(v >= 1 << 23, v - (1 << 24), v) / float(1 << 23)
    else:
        x = np.frombuffer(raw, "<i2" if info.bits == 16 else "<i4") / float(1 << (info.bits - 1))
    return x.reshape(-1, info.channels)


def to_int16(x: np.ndarray) -> np.ndarray:
    """Float samples in [-1, 1] -> int16 (x * 32768, rounded and clipped: 16-bit input maps back exactly)."""
    return np.clip(np.round(np.asarray(x, np.float64) * 32768.0), -32768, 32767).astype(np.int16)


def resample(x: np.ndarray, rate: int) -> np.ndarray:
    """Float mono samples at `rate` -> 16 kHz (torchaudio's band-limited sinc interpolation)."""
    import torch
    import torchaudio.functional as AF
    return AF.resample(torch.from_numpy(np.ascontiguousarray(x, np.float32)), rate, SAMPLE_RATE).numpy()


def read_wav(path: str | Path) -> np.ndarray:
    """int16 samples at 16 kHz, mono: a 16 kHz mono 16-bit file as it is, anything else converted."""
    info = check_header(path)
    nbytes = info.frames * info.channels * info.bits // 8
    with open(path, "rb") as f:
        f.seek(info.data_offset)
        raw = f.read(nbytes)
    raw = raw[:len(raw) - len(raw) % (info.channels * info.bits // 8)]
    if not info.conversions():
        return np.frombuffer(raw, "<i2").astype(np.int16)
    x = _decode(raw, info).mean(axis=1)
    if info.rate != SAMPLE_RATE:
        x = resample(x, info.rate)
    return to_int16(x)


def write_wav(path: str | Path, samples: np.ndarray, rate: int = SAMPLE_RATE) -> None:
    """Write int16 (or float in [-1, 1]) samples as a 16-bit WAV; (n, channels) arrays write channels."""
    import wave
    samples = np.asarray(samples)
    if samples.dtype != np.int16:
        samples = np.clip(np.round(samples.astype(np.float64) * 32767.0), -32768, 32767).astype(np.int16)
    channels = 1 if samples.ndim == 1 else samples.shape[1]
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(samples.astype("<i2").tobytes())
