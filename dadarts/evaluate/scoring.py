"""False rejects and false accepts per hour of a detector on a stream with known keyword times.

A detection of keyword k counts for an occurrence of k when it comes between the start of the
word's speech and LATENCY_S after its end (the model needs the whole word in its 1 s input, and the
average then needs time to rise: on the built-in corpus 99 % of a searched model's first detections
came within 1.3 s of the end at a 1000 ms window, 1.0 s at 500 ms). Each occurrence is detected at most once: every other detection -
of a word that was not said, of another keyword during a word, or a second one for the same word -
is a false accept. False-reject rate = missed occurrences / occurrences; false accepts per hour =
false accepts / hours of the stream. Rates are per keyword and over all keywords (the mean of the
keywords' false-reject rates; false accepts summed, as a device sees them).
"""
from __future__ import annotations

import bisect
import math

import numpy as np

from .recognizer import Averages, detect

LATENCY_S = 1.5


def match(times_s, labels, events: list[dict], keywords: list[str]) -> dict:
    """Per keyword: occurrences, misses and false accepts of detections (times_s, labels)."""
    by_word = {k: sorted((e["start_s"], e["end_s"] + LATENCY_S) for e in events if e["word"] == k) for k in keywords}
    starts = {k: [a for a, _ in v] for k, v in by_word.items()}
    longest = {k: max((b - a for a, b in v), default=0.0) for k, v in by_word.items()}
    hit = {k: np.zeros(len(v), bool) for k, v in by_word.items()}
    false = dict.fromkeys(keywords, 0)
    for t, label in zip(times_s, labels):
        if label not in by_word:
            continue
        spans, j = by_word[label], bisect.bisect_right(starts[label], t) - 1
        # Occurrences that started by t and may still be open; the earliest undetected one gets it.
        open_ = []
        while j >= 0 and spans[j][0] >= t - longest[label]:
            if spans[j][1] >= t and not hit[label][j]:
                open_.append(j)
            j -= 1
        if open_:
            hit[label][min(open_)] = True
        else:
            false[label] += 1
    return {k: {"events": len(by_word[k]), "misses": int((~hit[k]).sum()), "false_accepts": false[k]} for k in keywords}


def rates(counts: dict, hours: float) -> dict:
    """Per keyword and overall false-reject rate and false accepts per hour from `match` counts."""
    per = {}
    for k, c in counts.items():
        per[k] = {**c, "false_reject_rate": c["misses"] / c["events"] if c["events"] else None,
                  "false_accepts_per_hour": c["false_accepts"] / hours}
    frrs = [v["false_reject_rate"] for v in per.values() if v["false_reject_rate"] is not None]
    total = {"events": sum(c["events"] for c in counts.values()), "misses": sum(c["misses"] for c in counts.values()),
             "false_accepts": sum(c["false_accepts"] for c in counts.values())}
    total.update(false_reject_rate=float(np.mean(frrs)) if frrs else None,
                 false_accepts_per_hour=total["false_accepts"] / hours)
    return {"overall": total, "per_keyword": per}


def sweep(avg: Averages, labels: list[str], truth: dict, thresholds, suppression_ms: int,
          minimum_count: int) -> list[dict]:
    """`rates` at each detection threshold, the other settings fixed (one decision pass each)."""
    is_keyword = [not name.startswith("_") for name in labels]
    keywords = [name for name, k in zip(labels, is_keyword) if k]
    hours = truth["seconds"] / 3600.0
    out = []
    for threshold in thresholds:
        found = detect(avg, is_keyword, int(threshold), suppression_ms, minimum_count)
        counts = match(avg.times[found] / 1000.0, [labels[int(i)] for i in avg.label[found]], truth["events"], keywords)
        out.append({"threshold": int(threshold), **rates(counts, hours)})
    return out


def curve_points(points: list[dict], keyword: str | None = None) -> list[dict]:
    """[{threshold, false_accepts_per_hour, false_reject_rate}] overall or for one keyword."""
    pick = (lambda p: p["overall"]) if keyword is None else (lambda p: p["per_keyword"][keyword])  # noqa: E731
    return [{"threshold": p["threshold"], "false_accepts_per_hour": pick(p)["false_accepts_per_hour"],
             "false_reject_rate": pick(p)["false_reject_rate"]} for p in points]


def frr_at(curve: list[dict], max_fa_per_hour: float) -> tuple[float | None, int | None]:
    """(lowest false-reject rate among thresholds with at most `max_fa_per_hour`, that threshold)."""
    ok = [p for p in curve if p["false_accepts_per_hour"] <= max_fa_per_hour and p["false_reject_rate"] is not None]
    if not ok:
        return None, None
    best = min(ok, key=lambda p: (p["false_reject_rate"], p["false_accepts_per_hour"], -p["threshold"]))
    return best["false_reject_rate"], best["threshold"]


def _poisson_cdf(k: int, mu: float) -> float:
    """P(X <= k) for X ~ Poisson(mu), summed in log space."""
    if mu <= 0:
        return 1.0
    return float(sum(math.exp(i * math.log(mu) - mu - math.lgamma(i + 1)) for i in range(k + 1)))


def poisson_interval(count: int, hours: float, level: float = 0.95) -> tuple[float, float]:
    """Exact (Garwood) two-sided interval of a rate per hour from `count` events in `hours`: the means
    under which seeing at least / at most `count` events has probability (1 - level) / 2. One hour
    that showed no false accept still allows up to 3.7 per hour."""
    tail = (1.0 - level) / 2.0

    def solve(f) -> float:          # f increasing in mu, f(lo) < 0 < f(hi)
        lo, hi = 0.0, 10.0 + 10.0 * count
        for _ in range(100):
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if f(mid) < 0 else (lo, mid)
        return 0.5 * (lo + hi)

    lower = 0.0 if count == 0 else solve(lambda mu: (1.0 - _poisson_cdf(count - 1, mu)) - tail)
    upper = solve(lambda mu: tail - _poisson_cdf(count, mu))
    return lower / hours, upper / hours


def describe_fa(count: int, hours: float) -> str:
    """'3 false accepts in 5.0 h: 0.60 per hour (95 % interval 0.12-1.75)': the rate with what it rests on."""
    lo, hi = poisson_interval(count, hours)
    return (f"{count} false accepts in {hours:.1f} h: {count / hours:.2f} per hour "
            f"(95 % interval {lo:.2f}-{hi:.2f})")
