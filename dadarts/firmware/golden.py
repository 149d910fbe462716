"""Golden vectors for the C front-end: synthetic clips, their tables and the fixed-point reference output.

A golden folder holds clips.s16 (raw int16 little-endian, clips one after another, CLIP samples each)
and, per configuration, a sub-folder with meta.json (normalisation and input quantisation used),
the generated frontend_tables.h/.c and expected.s8 (raw int8 frames of every clip, in order).
`python -m dadarts.firmware.golden tests/data/golden` regenerates them.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from ..frontend import ctables, fixed
from ..frontend.spec import SAMPLE_RATE, MfccConfig, dct_matrix, hann_window, mel_filterbank, LOG_FLOOR
from ..rundir import write_bytes_atomic, write_text_atomic

GOLDEN_CONFIGS = ("400/200/40", "400/100/80", "640/320/80")
CLIP = 8000                       # 0.5 s per golden clip keeps the stored files small


def synthetic_clips(n: int = CLIP, seed: int = 0) -> np.ndarray:
    """Loud chirp, quiet noise with a burst, near full-scale decaying tone + low hum: (3, n) int16."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / SAMPLE_RATE
    chirp = 12000 * np.sin(2 * np.pi * (150 * t + 0.5 * 7000 / t[-1] * t ** 2))
    quiet = rng.normal(0, 12, n) + (np.abs(t - t[-1] / 2) < 0.05) * rng.normal(0, 400, n)
    tone = 32000 * np.exp(-4 * t) * np.sin(2 * np.pi * 440 * t) + 600 * np.sin(2 * np.pi * 60 * t)
    return np.clip(np.round(np.stack([chirp, quiet, tone])), -32768, 32767).astype(np.int16)


def float_mfcc(frames: np.ndarray, config: MfccConfig) -> np.ndarray:
    """float64 MFCC of int16 frames, following spec exactly (the torch reference in double precision)."""
    x = frames.astype(np.float64) / 32768.0 * hann_window(config.window)
    power = np.abs(np.fft.rfft(x, n=config.n_fft)) ** 2
    log_mel = np.log(np.maximum(power @ mel_filterbank(config.n_fft, config.n_mels).T, LOG_FLOOR))
    return log_mel @ dct_matrix(config.n_mels, config.n_mfcc).T


def quantisation_for(mfcc: np.ndarray) -> dict:
    """Normalisation statistics and an int8 input quantisation over the normalised features' range,
    as TFLite's converter calibrates it (scale = range / 255, zero point puts the minimum at -128)."""
    flat = mfcc.reshape(-1, mfcc.shape[-1])
    mean, std = flat.mean(0), flat.std(0) + 1e-3
    x = (flat - mean) / std
    lo, hi = min(float(x.min()), 0.0), max(float(x.max()), 0.0)
    scale = max(hi - lo, 1e-6) / 255.0
    return {"mean": mean.tolist(), "std": std.tolist(),
            "input_scale": scale, "input_zero_point": int(np.clip(round(-128 - lo / scale), -128, 127))}


def config_dir(root: Path, config: MfccConfig) -> Path:
    return Path(root) / config.name.replace("/", "_")


def write_golden(root, configs=GOLDEN_CONFIGS) -> list[Path]:
    root = Path(root)
    clips = synthetic_clips()
    write_bytes_atomic(root / "clips.s16", clips.astype("<i2").tobytes())
    written = [root / "clips.s16"]
    for name in configs:
        config = MfccConfig.parse(name)
        frames = [fixed.stream_frames(c, config) for c in clips]
        meta = {"config": config.name, "clip_samples": CLIP, "n_clips": len(clips),
                **quantisation_for(np.concatenate([float_mfcc(f, config) for f in frames]))}
        tables = fixed.make_tables(config, meta["mean"], meta["std"], meta["input_scale"], meta["input_zero_point"])
        out = config_dir(root, config)
        expected = np.concatenate([fixed.features_from_frames(f, tables) for f in frames])
        write_text_atomic(out / "meta.json", json.dumps(meta, indent=1) + "\n")
        write_bytes_atomic(out / "expected.s8", expected.astype(np.int8).tobytes())
        written += [out / "meta.json", out / "expected.s8"]
        written += ctables.write_tables(out, tables, source=f"golden vectors ({config.name})")
    return written


def load_golden(root, config: MfccConfig | str):
    """(clips (n, CLIP) int16, meta dict, expected (frames, F) int8, tables) of one stored configuration."""
    config = MfccConfig.parse(config) if isinstance(config, str) else config
    root = Path(root)
    d = config_dir(root, config)
    meta = json.loads((d / "meta.json").read_text())
    clips = np.fromfile(root / "clips.s16", dtype="<i2").reshape(meta["n_clips"], meta["clip_samples"])
    expected = np.fromfile(d / "expected.s8", dtype=np.int8).reshape(-1, config.n_mfcc)
    tables = fixed.make_tables(config, meta["mean"], meta["std"], meta["input_scale"], meta["input_zero_point"])
    return clips, meta, expected, tables


if __name__ == "__main__":
    for p in write_golden(sys.argv[1] if len(sys.argv) > 1 else "tests/data/golden"):
        print(p)
