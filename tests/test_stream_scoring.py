"""Counting false rejects and false accepts on a stream with known keyword times."""
from __future__ import annotations

import numpy as np

from dadarts.evaluate.recognizer import Averages
from dadarts.evaluate.scoring import LATENCY_S, frr_at, match, rates, sweep

EVENTS = [{"start_s": 1.0, "end_s": 1.5, "word": "yes"}, {"start_s": 3.0, "end_s": 3.4, "word": "no"},
          {"start_s": 4.0, "end_s": 4.5, "word": "yes"}, {"start_s": 4.9, "end_s": 5.3, "word": "yes"},
          {"start_s": 8.0, "end_s": 8.6, "word": "bed"}]


def test_each_occurrence_is_detected_once_and_everything_else_is_a_false_accept():
    detections = [(1.7, "yes"),                     # hit
                  (2.2, "yes"),                     # same word again: a false accept
                  (3.1, "yes"),                     # another keyword during "no": a false accept for yes
                  (3.5, "no"),                      # hit
                  (3.4 + LATENCY_S + 0.1, "no"),    # too late for "no": a false accept
                  (5.0, "yes"), (5.2, "yes"),       # two overlapping "yes": the earlier one, then the next
                  (8.3, "yes")]                     # a non-keyword word
    counts = match([t for t, _ in detections], [w for _, w in detections], EVENTS, ["yes", "no"])
    assert counts == {"yes": {"events": 3, "misses": 0, "false_accepts": 3},
                      "no": {"events": 1, "misses": 0, "false_accepts": 1}}
    r = rates(counts, hours=0.5)
    assert r["per_keyword"]["yes"]["false_accepts_per_hour"] == 6.0
    assert r["overall"]["false_accepts_per_hour"] == 8.0 and r["overall"]["false_reject_rate"] == 0.0
    missed = rates(match([1.7], ["yes"], EVENTS, ["yes", "no"]), hours=1.0)
    assert missed["per_keyword"]["yes"]["false_reject_rate"] == 2 / 3 and missed["overall"]["false_reject_rate"] == 0.5 * (2 / 3 + 1)


def test_threshold_sweep_trades_false_accepts_for_misses():
    # One step per 20 ms over 10 s: "yes" (label 0) is confident during its words, mildly likely elsewhere.
    times = np.arange(0, 10000, 20)
    label = np.zeros(len(times), np.int64)
    score = np.full(len(times), 120)
    for e in EVENTS[:1] + EVENTS[2:4]:
        score[(times >= e["end_s"] * 1000) & (times < e["end_s"] * 1000 + 300)] = 230
    avg = Averages(times, label, score, np.full(len(times), 10))
    truth = {"seconds": 10.0, "events": EVENTS}
    points = sweep(avg, ["yes", "no", "_unknown_"], truth, range(256), suppression_ms=1000, minimum_count=3)
    yes = [p["per_keyword"]["yes"] for p in points]
    assert yes[121]["false_accepts"] == 0 and yes[121]["misses"] == 0
    assert yes[100]["false_accepts"] > 0 and yes[231]["misses"] == 3
    curve = [{"threshold": p["threshold"], **{k: p["overall"][k] for k in ("false_accepts_per_hour", "false_reject_rate")}}
             for p in points]
    frr, threshold = frr_at(curve, 0.0)
    assert threshold == 230 and frr == 0.5      # "yes" perfect, "no" never; ties go to the higher threshold
