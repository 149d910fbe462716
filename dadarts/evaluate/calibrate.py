"""Recogniser settings for a false-accept target, chosen on a calibration stream.

The model runs once over the calibration stream (the validation split: voices neither the training
nor the test stream has); then every combination of averaging window and suppression is scored at
every threshold 0..255, which costs only the recogniser, not the model. Among the settings whose
false accepts per hour (all keywords together, as a device counts them) stay within the target, the
one with the lowest false-reject rate (mean over keywords) wins; ties go to fewer false accepts, then
to the higher threshold. The minimum count is kept (clamped to the history): with the model run at a
fixed stride the window always holds ceil(window / period) results, so it only matters in the first
window after a start. The inference stride is an input, not a result: it sets the device's load.
"""
from __future__ import annotations

from dataclasses import replace

from ..errors import UserError
from ..export.recognizer_settings import RecognizerSettings
from . import scoring
from .recognizer import averages
from .runmodels import RunModels
from .streaming import StreamOutput

WINDOWS_MS = (250, 500, 750, 1000, 1500)
SUPPRESSIONS_MS = (500, 1000, 1500, 2000)


def calibrate(models: RunModels, out: StreamOutput, truth: dict, base: RecognizerSettings, max_fa_per_hour: float,
              windows=WINDOWS_MS, suppressions=SUPPRESSIONS_MS, log=print) -> dict:
    """{"chosen": settings dict + its rates, "grid": best point per (window, suppression)}."""
    grid, best = [], None
    for window in windows:
        s = replace(base, average_window_ms=int(window))
        history = s.history(models.config.hop)
        s = replace(s, minimum_count=min(s.minimum_count, history))
        avg = averages(out.scores, out.times_ms, s.average_window_ms, history)
        for suppression in suppressions:
            points = scoring.sweep(avg, models.labels, truth, range(256), int(suppression), s.minimum_count)
            ok = [p for p in points if p["overall"]["false_accepts_per_hour"] <= max_fa_per_hour]
            if not ok:
                continue
            p = min(ok, key=lambda q: (q["overall"]["false_reject_rate"], q["overall"]["false_accepts_per_hour"],
                                       -q["threshold"]))
            row = {**replace(s, suppression_ms=int(suppression), detection_threshold=p["threshold"]).to_dict(),
                   "history": history, "false_reject_rate": p["overall"]["false_reject_rate"],
                   "false_accepts_per_hour": p["overall"]["false_accepts_per_hour"]}
            grid.append(row)
            key = (row["false_reject_rate"], row["false_accepts_per_hour"], -row["detection_threshold"])
            if best is None or key < best[0]:
                best = (key, row)
            log(f"  window {window:>5} ms  suppression {suppression:>5} ms  threshold {row['detection_threshold']:>3}: "
                f"false rejects {row['false_reject_rate'] * 100:5.1f} %, {row['false_accepts_per_hour']:.2f} false accepts/h")
    if best is None:
        raise UserError(f"No recogniser setting stays within {max_fa_per_hour:g} false accepts per hour on the "
                        f"calibration stream: ask for a higher --max-fa-per-hour.")
    chosen = best[1]
    settings = RecognizerSettings(**{k: chosen[k] for k in RecognizerSettings.__dataclass_fields__})
    return {"target_fa_per_hour": max_fa_per_hour, "chosen": chosen, "settings": settings, "grid": grid}
