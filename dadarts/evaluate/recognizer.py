"""The Python twin of firmware/app/recognizer.c, bit-exact on the same int8 scores and times.

`Recognizer` follows the C code step by step (ring of results, drop by window, argmax of sums,
integer average, threshold, suppression, minimum count). `recognise` computes the same decision
sequence for a whole stream at once: what the averages are at each step does not depend on earlier
decisions, so it is vectorised; only the suppression, which does, runs as a loop over the steps
that pass the threshold. `scores_from_output` is kws_recognizer_scores (integer softmax).
tests/test_recognizer_twin.py compiles recognizer.c and compares all three on the same inputs.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..export.recognizer_settings import RecognizerSettings


def scores_from_output(output: np.ndarray, exp_q15: np.ndarray) -> np.ndarray:
    """(N, K) int8 model outputs -> (N, K) int8 probabilities 0..255 - 128, as kws_recognizer_scores."""
    output = np.asarray(output, np.int8)
    if len(exp_q15) == 0:
        return output.copy()
    o = output.astype(np.int64)
    d = o.max(axis=1, keepdims=True) - o
    table = np.concatenate([np.asarray(exp_q15, np.int64), [0]])
    e = table[np.minimum(d, len(exp_q15))]
    total = e.sum(axis=1, keepdims=True)
    return ((e * 255 + total // 2) // total - 128).astype(np.int8)


class Recognizer:
    """One-result-at-a-time mirror of kws_recognizer_t (used to check `recognise`)."""

    def __init__(self, settings: RecognizerSettings, is_keyword, history: int, zero_point: int = -128):
        self.s, self.history, self.zero_point = settings, int(history), int(zero_point)
        self.is_keyword = np.asarray(is_keyword, bool)
        if settings.minimum_count > self.history:
            raise ValueError(f"minimum count {settings.minimum_count} exceeds the history {history}")
        self.times = np.zeros(self.history, np.int64)
        self.scores = np.zeros((self.history, len(self.is_keyword)), np.int64)
        self.head = self.count = 0
        self.last_detection: int | None = None

    def process(self, scores, time_ms: int) -> tuple[int, int, bool]:
        """(best label, its average score, whether this result is a new detection)."""
        h = self.history
        if self.count and time_ms < self.times[(self.head - 1) % h]:
            raise ValueError("time went backwards")
        self.scores[self.head] = np.clip(np.asarray(scores, np.int64) - self.zero_point, 0, 255)
        self.times[self.head] = time_ms
        self.head = (self.head + 1) % h
        self.count = min(self.count + 1, h)
        while self.count > 1 and time_ms - self.times[(self.head - self.count) % h] >= self.s.average_window_ms:
            self.count -= 1
        rows = [(self.head - 1 - k) % h for k in range(self.count)]
        sums = self.scores[rows].sum(axis=0)
        best = int(np.argmax(sums))                       # first maximum, as the C loop's strict '>'
        score = int(sums[best]) // self.count
        quiet = self.last_detection is None or time_ms - self.last_detection >= self.s.suppression_ms
        new = bool(self.is_keyword[best] and quiet and self.count >= self.s.minimum_count
                   and score >= self.s.detection_threshold)
        if new:
            self.last_detection = time_ms
        return best, score, new


@dataclass
class Averages:
    """What the recogniser sees at every step, before any threshold or suppression."""
    times: np.ndarray      # (N,) int64 ms
    label: np.ndarray      # (N,) best label over the window
    score: np.ndarray      # (N,) its average score 0..255
    count: np.ndarray      # (N,) results in the window


def averages(scores: np.ndarray, times: np.ndarray, window_ms: int, history: int,
             zero_point: int = -128) -> Averages:
    """Best label and average score at every step, exactly as the C ring computes them.

    The C ring keeps the results newer than the window, at most `history` of them; with times that
    never decrease that is the last min(i - j + 1, history) results, j the first within the window."""
    times = np.asarray(times, np.int64)
    if np.any(np.diff(times) < 0):
        raise ValueError("time went backwards")
    s = np.clip(np.asarray(scores, np.int64) - zero_point, 0, 255)
    n = len(times)
    first = np.searchsorted(times, times - window_ms, side="right")
    count = np.minimum(np.arange(n) - first + 1, history)
    csum = np.concatenate([np.zeros((1, s.shape[1]), np.int64), np.cumsum(s, axis=0)])
    sums = csum[np.arange(1, n + 1)] - csum[np.arange(1, n + 1) - count]
    label = np.argmax(sums, axis=1)
    return Averages(times, label, sums[np.arange(n), label] // count, count)


def detect(avg: Averages, is_keyword, threshold, suppression_ms: int, minimum_count: int) -> np.ndarray:
    """Indices of the steps that are new detections (threshold, minimum count, suppression).

    A step detects when it passes the threshold and the minimum count and no detection happened in
    the suppression time before it, so after each detection the next is simply the first passing step
    at least `suppression_ms` later: one search per detection, not a loop over every step.
    `threshold` is one value (what recognizer.c does) or one per label (what
    benchmarks/bench_keyword_thresholds.py tries; the firmware has no per-label thresholds)."""
    threshold = np.asarray(threshold)
    passes = avg.score >= (threshold[avg.label] if threshold.ndim else threshold)
    candidates = np.flatnonzero(np.asarray(is_keyword, bool)[avg.label] & (avg.count >= minimum_count) & passes)
    times = avg.times[candidates]
    out, k = [], 0
    while k < len(candidates):
        out.append(candidates[k])
        k = max(k + 1, int(np.searchsorted(times, times[k] + suppression_ms, side="left")))
    return np.asarray(out, np.int64)


def recognise(scores: np.ndarray, times: np.ndarray, settings: RecognizerSettings, is_keyword,
              history: int, zero_point: int = -128) -> tuple[Averages, np.ndarray]:
    """The recogniser over a whole stream: (what it saw at each step, indices of the detections)."""
    if settings.minimum_count > history:
        raise ValueError(f"minimum count {settings.minimum_count} exceeds the history {history}")
    avg = averages(scores, times, settings.average_window_ms, history, zero_point)
    return avg, detect(avg, is_keyword, settings.detection_threshold, settings.suppression_ms,
                       settings.minimum_count)
