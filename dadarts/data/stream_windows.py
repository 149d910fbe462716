"""Training examples cut from short streams: what the model's input (one second by default) shows on a device.

On a stream the model's input is rarely a centred word: a keyword sits anywhere in the second, is
cut at the window's edge, follows or precedes other words, and most windows hold no keyword at all.
`StreamWindows.batch` builds such windows from the training split: a few words (a target and up to
two neighbours each side, neighbours from the split's non-keyword words and the out-of-vocabulary
training words of negatives.py) laid one after another with gaps, each at its own speech level, over
a faint noise floor; then a window as long as the training clips (the run's clip) is cut at a random
offset around the target.

The target of a window follows the share of each keyword's speech inside it: at least `full_share`
of a keyword -> that keyword; at most `none_share` -> not the keyword; in between a soft target
mixing the keyword with `_unknown_` by the share. What is not keyword goes to `_unknown_` when any
speech is in the window, else to `_silence_` (or `_unknown_` for tasks without it). A task without
`_unknown_` (gsc35) only gets windows with a whole keyword inside.

`StreamWindows.negative_windows` cuts windows every hop from a long stream of non-keyword words only:
the negative audio that hard-negative mining (dadarts/train/hard_negatives.py) scores with the model.

A word's speech is where its 10 ms frames rise above the clip's own noise floor (`speech_span`,
also the truth of the long-form "talk" and folder streams). Everything is drawn from the numpy generator the caller passes.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..frontend.spec import SAMPLE_RATE

ACTIVE_FRACTION = 0.02      # speech starts/ends where the clip first/last exceeds 2 % of its peak
MARGIN = int(0.05 * SAMPLE_RATE)   # kept around a word's speech when it is laid into a stream


def active_span(x: np.ndarray) -> tuple[int, int]:
    """[start, end) of the samples above ACTIVE_FRACTION of the clip's peak (the whole clip if silent).
    On a clip with a noise floor this spans nearly all of it: the long-form recipe v1 keeps it."""
    loud = np.flatnonzero(np.abs(x) > ACTIVE_FRACTION * max(1e-9, float(np.abs(x).max())))
    return (int(loud[0]), int(loud[-1]) + 1) if loud.size else (0, len(x))


def speech_span(x: np.ndarray, frame: int = 160) -> tuple[int, int]:
    """[start, end) of the speech in a clip that has a noise floor: the first to the last 10 ms frame
    whose energy rises above the floor (the 10th percentile of the frames) by a quarter of the
    clip's range in dB, and at least 3 dB (the whole clip if nothing does)."""
    n = len(x) // frame
    if n < 2:
        return 0, len(x)
    power = np.mean(np.asarray(x[:n * frame], np.float64).reshape(n, frame) ** 2, axis=1)
    db = 10 * np.log10(power + 1e-12)
    floor, peak = float(np.percentile(db, 10)), float(db.max())
    loud = np.flatnonzero(db > floor + max(3.0, 0.25 * (peak - floor)))
    if peak - floor < 3.0 or not loud.size:
        return 0, len(x)
    return int(loud[0]) * frame, min(len(x), (int(loud[-1]) + 1) * frame)


@dataclass
class StreamWindowSettings:
    # Of each training batch; 0 turns stream windows off. A quarter kept the clip accuracy that half cost
    # (docs/evaluate.md, "Measured here": 76.1 % against 77.4 % off and 69.3 % at half, DS-CNN-S, 20 epochs).
    share: float = 0.25
    keyword_share: float = 0.5                  # windows built around a keyword (else a non-keyword or a gap)
    gap_share: float = 0.15                     # windows built around a gap between words
    whole_share: float = 0.6                    # keyword targets placed wholly inside the window
    gap_s: tuple[float, float] = (0.05, 1.5)    # pause between two words
    level_dbfs: tuple[float, float] = (-38.0, -18.0)   # active speech RMS of each word
    floor_dbfs: tuple[float, float] = (-80.0, -50.0)   # RMS of the white noise floor under the window
    full_share: float = 0.95                    # share of a keyword inside from which it is that keyword
    none_share: float = 0.6                     # share at or below which it is not
    negatives: bool = True                      # out-of-vocabulary training words as neighbours and targets


class StreamWindows:
    """Windows cut from short streams of training clips (see the module doc).

    `audio`: (N, clip samples) int16 training clips, `y`: their labels; `labels`: the task's labels;
    `extra_negatives`: (M, 16000) int16 clips of words outside every vocabulary."""

    def __init__(self, audio: np.ndarray, y: np.ndarray, labels: list[str], extra_negatives: np.ndarray | None,
                 settings: StreamWindowSettings):
        self.s, self.labels = settings, list(labels)
        self.clip = int(np.shape(audio)[1])       # windows as long as the training clips (the run's clip)
        self.n_labels = len(labels)
        self.unknown = labels.index("_unknown_") if "_unknown_" in labels else None
        self.silence = labels.index("_silence_") if "_silence_" in labels else self.unknown
        keyword_ids = [i for i, name in enumerate(labels) if not name.startswith("_")]
        y = np.asarray(y)
        self.keywords = [self._word(audio[i]) + (int(y[i]),) for i in np.flatnonzero(np.isin(y, keyword_ids))]
        others = [audio[i] for i in np.flatnonzero(y == self.unknown)] if self.unknown is not None else []
        if settings.negatives and extra_negatives is not None and self.unknown is not None:
            others += list(extra_negatives)
        self.others = [self._word(x) for x in others]
        if not self.keywords:
            raise ValueError("stream windows need keyword clips in the training split")

    @staticmethod
    def _word(clip: np.ndarray) -> tuple[np.ndarray, int, int]:
        """(float samples around the speech, scaled to unit speech RMS; speech start and end in them)."""
        x = np.asarray(clip, np.float32) / 32768.0
        a, b = speech_span(x)
        lo, hi = max(0, a - MARGIN), min(len(x), b + MARGIN)
        seg = x[lo:hi]
        rms = float(np.sqrt(np.mean(x[a:b] ** 2))) + 1e-9
        return seg / rms, a - lo, b - lo

    def _window(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        s = self.s
        draw = rng.random()
        kind = "keyword" if draw < s.keyword_share or self.unknown is None else \
            "gap" if draw < s.keyword_share + s.gap_share or not self.others else "other"
        if kind == "keyword":
            target = self.keywords[int(rng.integers(len(self.keywords)))]
        elif kind == "other":
            target = self.others[int(rng.integers(len(self.others)))] + (self.unknown,)
        else:
            target = None
        before = int(rng.integers(0, 3)) if self.others and self.unknown is not None else 0
        after = int(rng.integers(0, 3)) if self.others and self.unknown is not None else 0
        words = [self.others[int(rng.integers(len(self.others)))] + (self.unknown,) for _ in range(before)]
        if target is not None:
            words.append(target)
        words += [self.others[int(rng.integers(len(self.others)))] + (self.unknown,) for _ in range(after)]
        # Lay the words out with gaps; a gap window gets an empty target slot between its neighbours.
        gaps = (rng.uniform(*s.gap_s, len(words) + 2) * SAMPLE_RATE).astype(int)
        pos, spans, layout = self.clip + gaps[0], [], []
        target_span = None
        for k, (seg, a, b, label) in enumerate(words):
            if target is None and k == before:
                target_span = (pos, pos + gaps[-1])
                pos += gaps[-1]
            gain = 10 ** (rng.uniform(*s.level_dbfs) / 20)
            layout.append((pos, seg * gain))
            spans.append((pos + a, pos + b, label))
            if k == before and target is not None:
                target_span = (pos + a, pos + b)
            pos += len(seg) + gaps[k + 1]
        if target_span is None:
            target_span = (pos, pos + gaps[-1])
            pos += gaps[-1]
        stream = np.zeros(pos + 2 * self.clip, np.float32)
        for p, seg in layout:
            stream[p:p + len(seg)] += seg
        a, b = target_span
        if kind == "keyword" and rng.random() < s.whole_share and b - a < self.clip:
            start = int(rng.integers(b - self.clip, a + 1))          # the whole word inside
        else:
            start = int(rng.integers(a - self.clip + 1, b))          # any overlap
        return self._over_floor(stream[start:start + self.clip], rng), self._target(spans, start)

    def _over_floor(self, window: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """`window` over a white noise floor at a level drawn from floor_dbfs (a device never hears digital zeros)."""
        noise = rng.standard_normal(self.clip).astype(np.float32)   # drawn before the level: the order is the seed's
        return window + noise * 10 ** (rng.uniform(*self.s.floor_dbfs) / 20)

    def _target(self, spans, start: int) -> np.ndarray:
        """Soft target of a window starting at `start` from the words' speech spans (module doc)."""
        s, t = self.s, np.zeros(self.n_labels, np.float32)
        stop, speech, best, best_label = start + self.clip, False, 0.0, None
        for a, b, label in spans:
            inside = max(0, min(b, stop) - max(a, start)) / max(1, b - a)
            speech |= inside > 0
            if label != self.unknown and inside > best:
                best, best_label = inside, label
        weight = 0.0 if best_label is None else float(np.clip((best - s.none_share) / (s.full_share - s.none_share), 0, 1))
        if best_label is not None and weight > 0:
            t[best_label] = weight
        rest = 1.0 - weight
        if rest > 0:
            other = self.unknown if speech else self.silence
            if other is None:        # no class for it (gsc35): the caller keeps only whole keywords
                return None
            t[other] += rest
        return t

    def negative_windows(self, seconds: float, hop: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Long negative audio for hard-negative mining (dadarts/train/hard_negatives.py): `seconds` of a
        stream of the split's non-keyword words only (its `_unknown_` clips and the out-of-vocabulary
        training words), with the gaps and levels of `_window`, cut into (M, clip samples) int16 windows every
        `hop` samples, each over its own noise floor; targets `_unknown_` where speech is inside, else
        `_silence_`. Needs a task with `_unknown_`."""
        s = self.s
        if self.unknown is None or not self.others:
            raise ValueError("negative windows need a task with _unknown_ and non-keyword words")
        length = int(seconds * SAMPLE_RATE)
        stream, spans, pos = np.zeros(length + 2 * self.clip, np.float32), [], 0
        while pos < length:
            seg, a, b = self.others[int(rng.integers(len(self.others)))]
            stream[pos:pos + len(seg)] += seg * 10 ** (rng.uniform(*s.level_dbfs) / 20)
            spans.append((pos + a, pos + b))
            pos += len(seg) + int(rng.uniform(*s.gap_s) * SAMPLE_RATE)
        starts = np.arange(0, length - self.clip + 1, hop)
        begin, end = np.array(spans).T
        first = np.searchsorted(end, starts, side="right")      # spans end in order: the first that may overlap
        audio, targets = np.empty((len(starts), self.clip), np.int16), np.empty((len(starts), self.n_labels), np.float32)
        for k, start in enumerate(starts):
            near = [(a, b, self.unknown) for a, b in zip(begin[first[k]:first[k] + 8], end[first[k]:first[k] + 8])]
            window = self._over_floor(stream[start:start + self.clip], rng)
            audio[k] = np.clip(np.round(window * 32767), -32768, 32767)
            targets[k] = self._target(near, int(start))
        return audio, targets

    def batch(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """(n, clip samples) int16 windows and their (n, labels) soft targets."""
        audio, targets = np.empty((n, self.clip), np.int16), np.empty((n, self.n_labels), np.float32)
        k = 0
        while k < n:
            x, t = self._window(rng)
            if t is None:
                continue
            audio[k] = np.clip(np.round(x * 32767), -32768, 32767)
            targets[k] = t
            k += 1
        return audio, targets


def training_windows(audio, y, labels: list[str], settings: StreamWindowSettings, log=print,
                     engines=None) -> StreamWindows:
    """Stream windows over a training split's (N, 16000) int16 clips, with the out-of-vocabulary
    training words (spoken by training voices only, of the corpus's `engines` when given; none that is
    a keyword) when the task has `_unknown_`."""
    extra = None
    if settings.negatives and "_unknown_" in labels:
        from .negatives import PER_WORD, negative_clips, rows_without
        extra = negative_clips("training", "train", log=log, engines=engines)[rows_without("training", PER_WORD, labels)]
    return StreamWindows(np.asarray(audio), np.asarray(y), labels, extra, settings)
