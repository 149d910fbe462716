"""Long-form recordings with known keyword times, built from one split of a dataset.

A device hears hours of speech that is mostly not a keyword, pauses, and noise, in rooms. The stream
is made of word events: a clip of the split (keyword with probability `keyword_share`, otherwise any
other word of the split), at a random speech level, dry or reverberated with a synthetic room
response (`name_augment.reverberate`: exponentially decaying noise reaching -60 dB at RT60), separated
by random gaps and sometimes by long pauses. Under it runs background noise from the dataset's
_background_noise_ files, one noise and one SNR per block (SNR relative to the mean speech level;
`None` leaves the block quiet). Every draw is seeded, and clips are used in shuffled rounds so each
is heard about equally often. The ground truth (kind "stream_truth") records every event: the
word, where its speech starts and ends, its source clip and conditions.

The evaluation stream uses the testing split and the calibration stream the validation split, whose
voices the test never hears (the built-in corpus and Speech Commands lists are speaker-disjoint).
Streams are cached in the dadarts cache by (dataset, split, keywords, recipe).
"""
from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..data.datasets import KwsDataset
from ..data.stream_windows import active_span
from ..data.wavio import read_wav, to_int16, write_wav
from ..errors import UserError
from ..frontend.spec import CLIP_SAMPLES, MAX_CLIP_SAMPLES, SAMPLE_RATE
from ..rundir import atomic_path, read_json, write_json_atomic

TRUTH_KIND = "stream_truth"
STREAM_VERSION = 1


@dataclass(frozen=True)
class StreamRecipe:
    minutes: float = 60.0
    keyword_share: float = 0.4                 # share of word events that are keywords
    gap_s: tuple[float, float] = (0.5, 3.0)    # pause between two words
    pause_prob: float = 0.05                   # chance of a long pause instead of a gap
    pause_s: tuple[float, float] = (5.0, 20.0)
    snr_db: tuple = (None, 20.0, 10.0, 5.0)    # background conditions, one per block (None: quiet)
    block_s: float = 60.0
    rt60_s: tuple = (0.0, 0.3, 0.6)            # room per word (0: dry)
    level_dbfs: tuple[float, float] = (-32.0, -20.0)   # active speech RMS
    seed: int = 0

    def __post_init__(self):
        if not self.minutes > 0 or not 0 < self.keyword_share <= 1:
            raise UserError(f"A stream needs a positive length (--minutes, got {self.minutes}) and a keyword share "
                            f"in (0, 1] (got {self.keyword_share}).")

    def key(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    def build(self, ds: KwsDataset, split: str, keywords: list[str]) -> tuple[np.ndarray, dict]:
        return build_stream(ds, split, keywords, self)


def _rms_dbfs_to_amplitude(db: float) -> float:
    return 10.0 ** (db / 20.0)


class Rounds:
    """Items drawn in shuffled rounds: every item once per round."""

    def __init__(self, items: list, rng: np.random.Generator):
        self.items, self.rng, self.order = items, rng, []

    def next(self):
        if not self.order:
            self.order = list(self.rng.permutation(len(self.items)))
        return self.items[self.order.pop()]


def word_clips(ds: KwsDataset, split: str, keywords: list[str]) -> tuple[list, list]:
    """(keyword clips, other-word clips) of a split; silence entries have no file and are left out."""
    clips = [c for c in ds.splits[split] if c.path is not None]
    kw = [c for c in clips if c.word in keywords]
    other = [c for c in clips if c.word not in keywords]
    missing = sorted(set(keywords) - {c.word for c in kw})
    if missing:
        raise UserError(f"The {split} split of {ds.root} has no clips of {', '.join(missing)}: a stream needs "
                        f"every keyword of the run.")
    return kw, other


def build_stream(ds: KwsDataset, split: str, keywords: list[str], recipe: StreamRecipe) -> tuple[np.ndarray, dict]:
    """(int16 recording, ground truth) built from the split's clips (see the module doc)."""
    from ..data.name_augment import reverberate, speech_power
    import torch

    rng = np.random.default_rng(recipe.seed)
    gen = torch.Generator().manual_seed(recipe.seed)
    kw, other = word_clips(ds, split, keywords)
    kw_rounds, other_rounds = Rounds(kw, rng), Rounds(other or kw, rng)
    n = int(round(recipe.minutes * 60 * SAMPLE_RATE))
    out = np.zeros(n, np.float32)
    events = []
    pos = int(rng.uniform(*recipe.gap_s) * SAMPLE_RATE)
    while pos + CLIP_SAMPLES <= n:
        is_kw = not other or rng.random() < recipe.keyword_share
        clip = (kw_rounds if is_kw else other_rounds).next()
        x = read_wav(ds.root / clip.path)[:min(MAX_CLIP_SAMPLES, n - pos)].astype(np.float32) / 32768.0
        level = float(rng.uniform(*recipe.level_dbfs))
        rt60 = float(recipe.rt60_s[int(rng.integers(len(recipe.rt60_s)))])
        start, end = active_span(x)
        x = x * (_rms_dbfs_to_amplitude(level) / math.sqrt(float(speech_power(torch.from_numpy(x))) + 1e-12))
        if rt60 > 0:
            x = reverberate(torch.from_numpy(x), rt60, gen).numpy()
        out[pos:pos + len(x)] += x
        events.append({"start_s": (pos + start) / SAMPLE_RATE, "end_s": (pos + end) / SAMPLE_RATE,
                       "word": clip.word, "keyword": bool(clip.word in keywords), "source": clip.path,
                       "level_dbfs": round(level, 2), "rt60_s": rt60})
        long_pause = rng.random() < recipe.pause_prob
        pos += len(x) + int(rng.uniform(*(recipe.pause_s if long_pause else recipe.gap_s)) * SAMPLE_RATE)
    blocks = _add_noise(out, ds.background_noise, recipe, rng)
    for e in events:
        b = blocks[min(int(e["start_s"] // recipe.block_s), len(blocks) - 1)]
        e["snr_db"], e["noise"] = b["snr_db"], b["noise"]
    clipped = int(np.sum(np.abs(out) >= 1.0))
    truth = {"split": split, "dataset": str(ds.root), "fingerprint": ds.fingerprint, "keywords": list(keywords),
             "recipe": asdict(recipe), "seconds": n / SAMPLE_RATE, "clipped_samples": clipped,
             "events": events, "blocks": blocks}
    return to_int16(out), truth


def _add_noise(out: np.ndarray, noises: list[np.ndarray], recipe: StreamRecipe, rng) -> list[dict]:
    """Background noise block by block, in place; returns the blocks' conditions."""
    names = [f"noise {i}" for i in range(len(noises))]
    conditions = Rounds(list(recipe.snr_db) if noises else [None], rng)
    which = Rounds(list(range(len(noises))), rng) if noises else None
    reference = _rms_dbfs_to_amplitude(float(np.mean(recipe.level_dbfs)))
    block = int(recipe.block_s * SAMPLE_RATE)
    blocks = []
    for start in range(0, len(out), block):
        stop = min(len(out), start + block)
        snr = conditions.next()
        k = which.next() if (which and snr is not None) else None
        if k is not None:
            noise = noises[k]
            segment = np.resize(np.roll(noise, -int(rng.integers(len(noise)))), stop - start)
            rms = float(np.sqrt(np.mean(noise.astype(np.float64) ** 2))) + 1e-12
            out[start:stop] += (segment * (reference / 10 ** (snr / 20) / rms)).astype(np.float32)
        blocks.append({"start_s": start / SAMPLE_RATE, "end_s": stop / SAMPLE_RATE,
                       "noise": names[k] if k is not None else None, "snr_db": snr if k is not None else None})
    return blocks


def stream_key(ds: KwsDataset, split: str, keywords: list[str], recipe: StreamRecipe) -> str:
    text = json.dumps([STREAM_VERSION, ds.fingerprint, split, list(keywords), recipe.key()])
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def cached_recording(base: Path, build, message: str, log=print) -> tuple[Path, dict]:
    """(base.wav, its ground truth from base.json), built by `build()` -> (int16 pcm, truth) the first time."""
    wav, truth_path = base.with_suffix(".wav"), base.with_suffix(".json")
    if wav.is_file() and truth_path.is_file():
        return wav, read_json(truth_path, TRUTH_KIND)
    log(f"{message} -> {wav}")
    pcm, truth = build()
    with atomic_path(wav) as tmp:
        write_wav(tmp, pcm)
    write_json_atomic(truth_path, truth, kind=TRUTH_KIND)
    return wav, read_json(truth_path, TRUTH_KIND)


def cached_stream(ds: KwsDataset, split: str, keywords: list[str], recipe,
                  log=print) -> tuple[Path, dict]:
    """(WAV path, ground truth) of the stream, built once into the dadarts cache."""
    from ..data.synth import cache_dir
    base = cache_dir() / "streams" / f"{split}-{stream_key(ds, split, keywords, recipe)}"
    return cached_recording(base, lambda: recipe.build(ds, split, keywords),
                            f"building a {recipe.minutes:g}-minute {split} stream from {ds.root}", log)


TRUTH_TOLERANCE_S = 0.5   # a truth's "seconds" may differ this much from its recording's length


def read_truth(path: str | Path, audio_seconds: float | None = None, keywords: list[str] | None = None) -> dict:
    """A ground-truth file (kind "stream_truth", see docs/evaluate.md): written by dadarts, or by hand.

    Checked against what it describes, each mistake in one sentence: "seconds" must be the
    recording's length (`audio_seconds`, within TRUTH_TOLERANCE_S), every event needs a word and
    start_s <= end_s within the recording, and an event marked "keyword": true must name one of the
    run's `keywords` (a misspelt or another model's keyword would silently count as a miss)."""
    truth = read_json(path, TRUTH_KIND)
    seconds = truth.get("seconds")
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not seconds > 0:
        raise UserError(f'{path} needs "seconds", the recording\'s length in seconds (e.g. "seconds": 3600.0), '
                        f"got {seconds!r}: see docs/evaluate.md for the truth format.")
    if audio_seconds is not None and abs(seconds - audio_seconds) > TRUTH_TOLERANCE_S:
        raise UserError(f'{path} says the recording lasts {seconds:g} s but the audio holds {audio_seconds:.2f} s: '
                        f'give the truth file of this recording, or correct its "seconds".')
    events = truth.get("events")
    if not isinstance(events, list):
        raise UserError(f'{path} needs "events", a list of {{"start_s", "end_s", "word", "keyword"}} entries '
                        f"(an empty list for a recording without words): see docs/evaluate.md.")
    known = set(keywords) if keywords is not None else None
    for i, e in enumerate(events):
        try:
            start, end, word = float(e["start_s"]), float(e["end_s"]), e["word"]
        except (TypeError, KeyError, ValueError):
            raise UserError(f'{path}: event {i} ({e!r}) needs numbers "start_s" and "end_s" and a "word".') from None
        if not isinstance(word, str) or not 0 <= start <= end <= seconds + TRUTH_TOLERANCE_S:
            raise UserError(f'{path}: event {i} ({word} at {start:g}-{end:g} s) needs a word and 0 <= start_s <= '
                            f'end_s <= "seconds" ({seconds:g}).')
        if known is not None and e.get("keyword") and word not in known:
            raise UserError(f"{path}: event {i} marks '{word}' as a keyword, but the run's keywords are "
                            f"{', '.join(keywords)}: give the truth written for this run's words.")
    return truth
