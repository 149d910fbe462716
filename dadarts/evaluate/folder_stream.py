"""A stream made of a Speech Commands-layout folder: its clips one after another, in the folder's order
(sorted by path; the clips testing_list.txt names when it has one), each followed by a gap cut from
the folder's own `_background_noise_` recordings (0.5-2 s, taken in turn), so that the stream holds
only the folder's sound: real voices, real rooms, real noise. Levels are the clips' own.

For measuring only: a folder of real recordings kept for evaluation (../shared/data/gsc-real-dev)
must never choose a threshold, so `calibrate` has no such option. Built once into the dadarts cache,
keyed by the folder's files (names, sizes, times); the truth (kind "stream_truth") names every clip.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from ..data.datasets import BACKGROUND
from ..data.stream_windows import speech_span
from ..data.wavio import BadWav, read_wav
from ..errors import UserError
from ..frontend.spec import SAMPLE_RATE
from .longform import cached_recording

RECIPE = "folder-1"
GAP_S = (0.5, 2.0)
SEED = 0


def _listing(root: Path) -> tuple[list[Path], list[Path]]:
    listed = None
    if (root / "testing_list.txt").is_file():
        listed = {line.strip() for line in (root / "testing_list.txt").read_text().splitlines() if line.strip()}
    clips = sorted(p for p in root.glob("*/*.wav") if not p.parent.name.startswith(("_", "."))
                   and (listed is None or f"{p.parent.name}/{p.name}" in listed))
    background = sorted((root / BACKGROUND).glob("*.wav"))
    return clips, background


def build_folder_stream(root: Path, keywords: list[str]) -> tuple[np.ndarray, dict]:
    clips, background = _listing(root)
    if not clips or not background:
        raise UserError(f"{root} needs <word>/*.wav clips and {BACKGROUND}/*.wav recordings to make a stream of "
                        f"(found {len(clips)} clips, {len(background)} background files).")
    rng = np.random.default_rng(SEED)
    noise = np.concatenate([read_wav(p) for p in background]).astype(np.int16)
    pieces, events, pos, cursor, skipped = [], [], 0, 0, 0
    for path in clips:
        try:
            x = read_wav(path)
        except BadWav:
            skipped += 1
            continue
        a, b = speech_span(x.astype(np.float32))
        events.append({"start_s": (pos + a) / SAMPLE_RATE, "end_s": (pos + b) / SAMPLE_RATE,
                       "word": path.parent.name, "keyword": path.parent.name in keywords,
                       "source": f"{path.parent.name}/{path.name}"})
        gap = int(rng.uniform(*GAP_S) * SAMPLE_RATE)
        seg = noise[(cursor + np.arange(gap)) % noise.size]   # the background recordings in turn, wrapping round
        cursor = (cursor + gap) % noise.size
        pieces += [x, seg]
        pos += x.size + gap
    pcm = np.concatenate(pieces).astype(np.int16)
    truth = {"split": "folder", "dataset": str(root), "keywords": list(keywords),
             "recipe": {"recipe": RECIPE, "folder": str(root), "gap_s": list(GAP_S), "seed": SEED},
             "seconds": pcm.size / SAMPLE_RATE, "skipped_files": skipped, "events": events,
             "background_files": [p.name for p in background]}
    return pcm, truth


def cached_folder_stream(folder: str | Path, keywords: list[str], log=print) -> tuple[Path, dict]:
    """(WAV path, ground truth) of the folder's stream, built once into the dadarts cache."""
    from ..data.synth import cache_dir
    root = Path(folder).expanduser()
    if not root.is_dir():
        raise UserError(f"Folder {root} does not exist: give a folder in Speech Commands layout.")
    clips, background = _listing(root)
    stats = [(str(p.relative_to(root)), p.stat().st_size, p.stat().st_mtime_ns) for p in clips + background]
    key = hashlib.sha1(json.dumps([RECIPE, str(root.resolve()), list(keywords), stats]).encode()).hexdigest()[:16]
    base = cache_dir() / "streams" / f"folder-{root.resolve().name}-{key}"
    return cached_recording(base, lambda: build_folder_stream(root, keywords),
                            f"building the stream of {root} ({len(clips)} clips, gaps from {len(background)} "
                            f"background files)", log)
