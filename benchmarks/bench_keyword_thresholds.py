"""Do per-keyword thresholds beat the firmware's one threshold? Fitted on the calibration stream,
judged on the held-out test stream.

Issue #23 asks for per-keyword thresholds in recognizer.c and its twin *if they help*. This measures
whether they would, for a run that `dadarts calibrate RUN --max-fa-per-hour X` has calibrated: it keeps
the averaging window, suppression and minimum count calibrate chose, and
- single: calibrate's one threshold (what the device does today);
- per keyword: one threshold per keyword, fitted on the calibration stream only. Each keyword's curve
  (its misses and false accepts at every threshold, the other keywords off) is read from the
  calibration stream; starting from "detect nothing", the threshold of the keyword with the largest
  drop in false-reject rate per added false accept is lowered, step by step, while all keywords'
  false accepts together stay within X per hour of the calibration stream. Then both settings are
  scored jointly (suppression shared across keywords, as the device does) on both streams.
The test stream never enters the fit. Outputs come from RUN/stream/cache/ (calibrate saved them).

    python benchmarks/bench_keyword_thresholds.py --run runs/demo [--target 1] [--name keyword_thresholds]
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from dadarts.rundir import write_text_atomic

RESULTS = Path(__file__).resolve().parent / "results"


def score(avg, labels: list[str], truth: dict, thresholds, suppression_ms: int, minimum_count: int) -> dict:
    """Overall and per-keyword rates of the recogniser at per-label `thresholds` on one stream."""
    from dadarts.evaluate import scoring
    from dadarts.evaluate.recognizer import detect
    is_keyword = [not name.startswith("_") for name in labels]
    keywords = [name for name, k in zip(labels, is_keyword) if k]
    found = detect(avg, is_keyword, np.asarray(thresholds), suppression_ms, minimum_count)
    counts = scoring.match(avg.times[found] / 1000.0, [labels[int(i)] for i in avg.label[found]],
                           truth["events"], keywords)
    return scoring.rates(counts, truth["seconds"] / 3600.0)


def fit_thresholds(avg, labels, truth, suppression_ms: int, minimum_count: int, max_fa_per_hour: float) -> list[int]:
    """Per-label thresholds (256 = never) by the greedy allocation of the false-accept budget above."""
    keys = [i for i, name in enumerate(labels) if not name.startswith("_")]
    off = [256] * len(labels)
    grid = list(range(256, -1, -1))                     # index 0 = "detect nothing"
    curves = {}                                          # label -> [(misses, false accepts, events)] along grid
    for k in keys:
        rows = []
        for t in grid:
            r = score(avg, labels, truth, [t if i == k else 256 for i in range(len(labels))],
                      suppression_ms, minimum_count)["per_keyword"][labels[k]]
            rows.append((r["misses"], r["false_accepts"], max(r["events"], 1)))
        curves[k] = rows
    budget = int(np.floor(max_fa_per_hour * truth["seconds"] / 3600.0 + 1e-9))
    at = dict.fromkeys(keys, 0)
    spent = 0
    while True:
        best = None
        for k in keys:
            m0, f0, n = curves[k][at[k]]
            for j in range(at[k] + 1, len(grid)):
                m1, f1, _ = curves[k][j]
                if spent - f0 + f1 > budget:
                    break
                if m1 < m0:
                    gain = ((m0 - m1) / n) / (f1 - f0 + 0.5)
                    if best is None or gain > best[0]:
                        best = (gain, k, j)
        if best is None:
            break
        _, k, j = best
        spent += curves[k][j][1] - curves[k][at[k]][1]
        at[k] = j
    out = list(off)
    for k in keys:
        out[k] = grid[at[k]]
    return out


def separation(out, labels: list[str], truth: dict) -> dict:
    """How far apart the model's raw scores (0..255, before averaging) are on a stream: per keyword
    occurrence, the right keyword's best decision between the word's start and the scoring latency
    after its end (median and share >= 200); away from any keyword (0.2 s before to the latency
    after), the decisions where some keyword scores >= 200."""
    from dadarts.evaluate.scoring import LATENCY_S
    p = out.scores.astype(np.int64) + 128
    t = out.times_ms / 1000.0
    index = {name: i for i, name in enumerate(labels)}
    best, near = [], np.zeros(len(t), bool)
    for e in truth["events"]:
        if e["word"] not in index:
            continue
        inside = (t >= e["start_s"]) & (t <= e["end_s"] + LATENCY_S)
        best.append(int(p[inside, index[e["word"]]].max()) if inside.any() else 0)
        near |= (t >= e["start_s"] - 0.2) & (t <= e["end_s"] + LATENCY_S)
    keys = [i for i, name in enumerate(labels) if not name.startswith("_")]
    away = p[~near][:, keys]
    best = np.asarray(best)
    return {"keyword_best_median": float(np.median(best)), "keyword_best_share_200": float((best >= 200).mean()),
            "negative_decisions": int(len(away)), "negative_decisions_200": int((away.max(axis=1) >= 200).sum())}


def summary(rates: dict, hours: float) -> dict:
    from dadarts.evaluate.scoring import poisson_interval
    o = rates["overall"]
    return {"false_reject_rate": o["false_reject_rate"], "false_accepts": o["false_accepts"],
            "false_accepts_per_hour": o["false_accepts_per_hour"], "hours": hours,
            "false_accepts_per_hour_95": list(poisson_interval(o["false_accepts"], hours)),
            "per_keyword": {k: {f: v[f] for f in ("false_reject_rate", "false_accepts")}
                            for k, v in rates["per_keyword"].items()}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", action="append", required=True, help="a calibrated run (repeatable)")
    ap.add_argument("--target", type=float, default=1.0, help="false accepts per hour on the calibration stream")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--name", default="keyword_thresholds")
    args = ap.parse_args()
    from dadarts.evaluate import session
    from dadarts.evaluate.recognizer import averages
    from dadarts.evaluate.runmodels import load_run
    from dadarts.rundir import read_json

    results = []
    for run in args.run:
        models = load_run(run, need_int8=True, threads=args.threads)
        op = read_json(Path(run) / "stream" / "operating_point.json", "operating_point")
        s = session.run_settings(models)
        history = s.history(models.config.hop)
        minimum = min(s.minimum_count, history)
        ds = session.stream_dataset(models, None)
        streams, row_sep = {}, {}
        for split in ("validation", "testing"):
            wav, truth = session.run_stream(models, ds, split, None, op["recipe"])
            out = session.model_outputs(models, wav, s.inference_every_hops)
            streams[split] = (averages(out.scores, out.times_ms, s.average_window_ms, history), truth)
            row_sep[split] = separation(out, models.labels, truth)
        avg, truth = streams["validation"]
        per = fit_thresholds(avg, models.labels, truth, s.suppression_ms, minimum, args.target)
        single = [s.detection_threshold] * len(models.labels)
        row = {"run": str(run), "settings": {**s.to_dict(), "history": history},
               "separation": row_sep, "thresholds": {name: t for name, t in zip(models.labels, per) if not name.startswith("_")}}
        for name, th in (("single", single), ("per_keyword", per)):
            row[name] = {split: summary(score(a, models.labels, tr, th, s.suppression_ms, minimum),
                                        tr["seconds"] / 3600.0)
                         for split, (a, tr) in streams.items()}
        results.append(row)
        for name in ("single", "per_keyword"):
            c, t = row[name]["validation"], row[name]["testing"]
            print(f"{run} {name:>11}: calibration FRR {100 * c['false_reject_rate']:.1f} % at "
                  f"{c['false_accepts_per_hour']:.2f} FA/h; test FRR {100 * t['false_reject_rate']:.1f} % at "
                  f"{t['false_accepts_per_hour']:.2f} FA/h (95 % {t['false_accepts_per_hour_95'][0]:.2f}-"
                  f"{t['false_accepts_per_hour_95'][1]:.2f})")
        print(f"  thresholds: {row['thresholds']}")
        for split, v in row_sep.items():
            print(f"  {split}: right keyword's best decision median {v['keyword_best_median']:.0f}/255 "
                  f"({100 * v['keyword_best_share_200']:.0f} % reach 200); {v['negative_decisions_200']} of "
                  f"{v['negative_decisions']} decisions away from keywords score a keyword >= 200")
    out = RESULTS / f"{args.name}.json"
    write_text_atomic(out, json.dumps({"benchmark": "keyword_thresholds", "target_fa_per_hour": args.target,
                                       "runs": results}, indent=1) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
