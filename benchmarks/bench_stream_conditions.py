"""Where a spotter misses on the talk test stream: the keyword's best score by the stream's conditions.

Issue #23's streams miss nearly every keyword at 1 false accept per hour, and the reason measured so far is
the scores themselves (the right keyword's best averaged score rarely reaches the calibrated threshold).
This asks which keywords: for every keyword occurrence of the talk test stream (recipe frozen in
docs/evaluate.md) it takes the recogniser's averaged score of that keyword, best over the occurrence
(from its start to its end plus scoring.LATENCY_S, the window the scorer credits), and groups the
occurrences by the block's SNR, its noise, the word's level, whether another word is within a second of
it (the stream's utterances hold 1-4 words 0.05-0.4 s apart) and the keyword. Per group: occurrences, the
median best score and the share whose best score reaches 128, 200 and 240 (of 255). The other side of
the same curve, `negatives`: every word that is not a keyword (the split's other corpus words, and the
out-of-vocabulary words training never used), with the best average score any keyword gets over it.
And `test_clips`: the same shares for the test split's keyword clips heard alone (the float whole-window
model's softmax of the right keyword), the figure the stream's keywords compare with.

The model's outputs are the ones `dadarts stream` / bench_stream.py cached in RUN/stream/cache/ (computed
here otherwise); `--streaming` takes the step model's. Averaging window: `--window-ms` (default 500).

    python benchmarks/bench_stream_conditions.py --run RUN [--streaming] [--name stream_conditions]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from dadarts.rundir import write_text_atomic  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
LEVELS = (128, 200, 240)


def best_scores(models, out, truth: dict, window_ms: int, every_hops: int) -> list[dict]:
    """Every keyword occurrence with its conditions and the best averaged score of its own label."""
    from dadarts.evaluate.recognizer import averages
    from dadarts.evaluate.scoring import LATENCY_S
    from dadarts.export.recognizer_settings import RecognizerSettings
    history = RecognizerSettings(average_window_ms=window_ms, inference_every_hops=every_hops).history(models.config.hop)
    avg = averages(out.scores, out.times_ms, window_ms, history)
    label_of = {name: i for i, name in enumerate(models.labels)}
    t = avg.times / 1000.0
    rows, negatives = [], []
    events = sorted(truth["events"], key=lambda e: e["start_s"])
    keyword_labels = np.array([label_of[k] for k in models.keywords])
    for j, e in enumerate(events):
        if not e["keyword"]:
            lo, hi = np.searchsorted(t, e["start_s"]), np.searchsorted(t, e["end_s"] + LATENCY_S, side="right")
            any_kw = np.isin(avg.label[lo:hi], keyword_labels)
            kind = "corpus word" if ":" not in e["source"] else "out-of-vocabulary word"
            negatives.append({"kind": kind, "best": int(avg.score[lo:hi][any_kw].max()) if any_kw.any() else 0})
            continue
        gap_before = e["start_s"] - events[j - 1]["end_s"] if j else float("inf")
        gap_after = events[j + 1]["start_s"] - e["end_s"] if j + 1 < len(events) else float("inf")
        lo, hi = np.searchsorted(t, e["start_s"]), np.searchsorted(t, e["end_s"] + LATENCY_S, side="right")
        mine = avg.label[lo:hi] == label_of[e["word"]]
        rows.append({"word": e["word"], "snr_db": e.get("snr_db"), "noise": e.get("noise"),
                     "level_dbfs": e.get("level_dbfs"), "best": int(avg.score[lo:hi][mine].max()) if mine.any() else 0,
                     "context": "alone (no word within 1 s)" if min(gap_before, gap_after) >= 1.0 else
                                "another word within 1 s"})
    return rows, negatives


def clip_confidence(run: str) -> dict:
    """The same shares on the test split's keyword clips alone: the float whole-window model's softmax of the
    right keyword, in 255ths (what the stream would give a clip heard alone and perfectly aligned)."""
    import torch
    from bench_causal_history import test_windows
    from dadarts.train.models import load_checkpoint
    from dadarts.rundir import RunDir
    model, x, y = test_windows(run)
    labels = load_checkpoint(RunDir.of(run).model)["labels"]
    with torch.no_grad():
        p = torch.cat([torch.softmax(model(x[i:i + 256, None]), 1) for i in range(0, len(x), 256)]).numpy()
    keyword = np.array([not labels[t].startswith("_") for t in y])
    score = 255 * p[np.arange(len(y)), y][keyword]
    return {"keyword_clips": int(keyword.sum()), "argmax_accuracy": float((p.argmax(1) == y)[keyword].mean()),
            **{f"reach_{v}": float((score >= v).mean()) for v in LEVELS}}


def group(rows: list[dict], key) -> dict:
    out = {}
    for name in sorted({key(r) for r in rows}, key=str):
        best = np.array([r["best"] for r in rows if key(r) == name])
        out[str(name)] = {"occurrences": int(len(best)), "median_best": float(np.median(best)),
                          **{f"reach_{v}": float((best >= v).mean()) for v in LEVELS}}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", required=True, help="exported run directory")
    ap.add_argument("--streaming", action="store_true", help="the step model (export --int8 --streaming)")
    ap.add_argument("--window-ms", type=int, default=500, help="recogniser averaging window (default 500)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--name", default="stream_conditions")
    args = ap.parse_args()

    from dadarts.evaluate import session
    from dadarts.evaluate.runmodels import load_run, load_step
    models = load_run(args.run, need_int8=True, threads=args.threads)
    if args.streaming:
        models = load_step(models, exact=False)
    every = session.at_model_rate(models, session.run_settings(models)).inference_every_hops
    wav, truth = session.run_stream(models, session.stream_dataset(models, None), "testing")
    rows, negatives = best_scores(models, session.model_outputs(models, wav, every), truth, args.window_ms, every)
    snr = lambda r: ("no noise (room tone)" if r["snr_db"] is None else  # noqa: E731
                     f"{5 * int(r['snr_db'] // 5):02d}-{5 * int(r['snr_db'] // 5) + 5:02d} dB")
    level = lambda r: f"{5 * int(r['level_dbfs'] // 5)} dBFS"  # noqa: E731
    result = {"benchmark": "stream_conditions", "run": args.run, "model": "step" if args.streaming else "whole window",
              "stream": str(wav), "window_ms": args.window_ms, "occurrences": len(rows),
              "all": group(rows, lambda r: "all")["all"], "by_snr": group(rows, snr), "by_noise": group(rows, lambda r: r["noise"] or "none"),
              "by_level": group(rows, level), "by_context": group(rows, lambda r: r["context"]), "by_keyword": group(rows, lambda r: r["word"]),
              "negatives": group(negatives, lambda r: r["kind"]), "test_clips": clip_confidence(args.run)}
    for name in ("by_snr", "by_noise", "by_level", "by_context", "by_keyword", "negatives"):
        print(name)
        for k, v in result[name].items():
            print(f"  {k:14s} {v['occurrences']:4d}  median best {v['median_best']:5.0f}  reach "
                  + "  ".join(f"{lv}: {v[f'reach_{lv}'] * 100:5.1f} %" for lv in LEVELS))
    c = result["test_clips"]
    print(f"test split's {c['keyword_clips']} keyword clips alone (float): right keyword on top {c['argmax_accuracy'] * 100:.1f} %, "
          "its score reaches " + ", ".join(f"{lv}: {c[f'reach_{lv}'] * 100:.1f} %" for lv in LEVELS))
    a = result["all"]
    print(f"all {a['occurrences']} occurrences: median best {a['median_best']:.0f}, reach "
          + ", ".join(f"{lv}: {a[f'reach_{lv}'] * 100:.1f} %" for lv in LEVELS))
    out = RESULTS / f"{args.name}.json"
    write_text_atomic(out, json.dumps(result, indent=2) + "\n")
    print(f"saved {out}")


if __name__ == "__main__":
    main()
