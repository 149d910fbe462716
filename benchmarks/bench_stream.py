"""Stream benchmark: the device's operating point before and after a change, on old and new streams.

For each exported run (`--run`, repeatable: e.g. the same model trained with and without stream-aware
training) and each long-form recipe (`--recipes`: talk, the default streams, and v1, the first ones)
it builds the test stream (testing split) and calibration stream (validation split) at the recipe's
length, runs the firmware's streaming path over both with the int8 model (`--streaming`: the step model,
one decision per step, as a step build runs it) on `--threads` LiteRT threads
(timed: wall and CPU time, with the load average; outputs an earlier run saved in RUN/stream/cache/
are reused with the timings recorded then), then
- "before": the test stream at the settings `dadarts export` writes (micro_speech's defaults), with
  per keyword the false-reject rate at the lowest threshold with at most 1 false accept per hour on
  that keyword's own curve (the old headline: one threshold per keyword, chosen on the test stream);
- "operating point" (the headline): one threshold, averaging window and suppression calibrated on the
  calibration stream for `--target` false accepts per hour, then FRR and false accepts per hour (with
  their Poisson 95 % interval) measured on the test stream at exactly those settings;
- with `--folder DIR` (e.g. ../shared/data/gsc-real-dev, measured only), the same operating point (from
  the talk calibration stream) on the stream built from that folder's clips (`dadarts stream --from-folder`);
- the clip accuracy of RUN/train/metrics.json, and of RUN/evaluate/<folder name>/metrics.json when
  `dadarts evaluate RUN --data DIR` wrote it.
Prints a table and writes benchmarks/results/<name>.json; of the run it only adds to RUN/stream/cache/.

    python benchmarks/bench_stream.py --run runs/a [--run runs/b] [--recipes talk,v1] [--target 1]
        [--folder ../shared/data/gsc-real-dev] [--threads 1] [--streaming] [--name stream]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

from dadarts.rundir import write_text_atomic

RESULTS = Path(__file__).resolve().parent / "results"


def summary(m: dict) -> dict:
    """What the benchmark keeps of session.metrics: per keyword and overall rates, no curves."""
    keep = ("events", "misses", "false_reject_rate", "false_accepts", "false_accepts_per_hour")
    per = {k: {**{f: v[f] for f in keep}, "frr_at_1_fa_per_hour": v["frr_at_1_fa_per_hour"],
               "threshold_at_1_fa_per_hour": v["threshold_at_1_fa_per_hour"]} for k, v in m["per_keyword"].items()}
    return {"hours": m["hours"], "settings": m["settings"], "operating_point": m["operating_point"],
            "frr_at_1_fa_per_hour": m["frr_at_1_fa_per_hour"], "per_keyword": per}


def timed_outputs(models, wav: Path, every_hops: int):
    """The streaming path over a recording and its throughput. Outputs a previous run saved (this
    benchmark or `dadarts stream`) are reused with the timings, load and date recorded when measured."""
    from dadarts.evaluate import session
    cached = session.outputs_cache(models, wav, every_hops).is_file()
    out = session.model_outputs(models, wav, every_hops)
    return out, {**session.throughput(out), "from_cache": cached}


def measure(models, recipe: str, target: float, minutes, folder) -> dict:
    """One run on one recipe's streams: before, calibration, operating point (and on the folder's stream)."""
    from dadarts.evaluate import session
    from dadarts.evaluate.calibrate import calibrate
    from dadarts.evaluate.folder_stream import cached_folder_stream
    from dadarts.export.recognizer_settings import default_settings

    ds = session.stream_dataset(models, None)
    # what `dadarts export` writes for this run (for its step build: one decision per step)
    defaults = session.at_model_rate(models, default_settings(models.run, models.config))
    test_wav, test_truth = session.run_stream(models, ds, "testing", minutes, recipe)
    cal_wav, cal_truth = session.run_stream(models, ds, "validation", minutes, recipe)
    test_out, speed = timed_outputs(models, test_wav, defaults.inference_every_hops)
    cal_out, cal_speed = timed_outputs(models, cal_wav, defaults.inference_every_hops)
    before = session.metrics(models, test_out, test_truth, defaults)
    calibration = calibrate(models, cal_out, cal_truth, defaults, target, log=lambda *_: None)
    after = session.metrics(models, test_out, test_truth, calibration["settings"])
    streams = {name: {"wav": str(w), "split": t["split"], "seconds": t["seconds"], "events": len(t["events"]),
                      "keyword_events": sum(e["keyword"] for e in t["events"])}
               for name, w, t in (("test", test_wav, test_truth), ("calibration", cal_wav, cal_truth))}
    out = {"recipe": recipe, "streams": streams, "before": summary(before),
           "calibrated": dict(calibration["chosen"]), "operating_point": summary(after),
           "throughput_test_stream": speed, "throughput_calibration_stream": cal_speed}
    if folder:
        wav, truth = cached_folder_stream(folder, models.keywords)
        on_folder = session.metrics(models, session.model_outputs(models, wav, defaults.inference_every_hops),
                                    truth, calibration["settings"])
        out["folder"] = {"folder": str(folder), "seconds": truth["seconds"],
                         "keyword_events": sum(e["keyword"] for e in truth["events"]), **summary(on_folder)}
    return out


def clip_accuracy(run: Path, folder) -> dict:
    out = {}
    train = run / "train" / "metrics.json"
    if train.is_file():
        out["test_split"] = json.loads(train.read_text())["accuracy"]
    if folder:
        ev = run / "evaluate" / Path(folder).resolve().name / "metrics.json"
        if ev.is_file():
            m = json.loads(ev.read_text())
            out[Path(folder).name] = {name: path["accuracy"] for name, path in m["paths"].items()}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", action="append", required=True, help="exported run directory (repeat for several)")
    parser.add_argument("--recipes", default="talk,v1", help="long-form recipes to measure on (default talk,v1)")
    parser.add_argument("--minutes", type=float, help="length of each stream (default: the recipe's)")
    parser.add_argument("--target", type=float, default=1.0, help="calibration target, false accepts per hour")
    parser.add_argument("--folder", help="also score the operating point on a stream built from this folder")
    parser.add_argument("--threads", type=int, default=2, help="LiteRT threads (default 2)")
    parser.add_argument("--streaming", action="store_true",
                        help="run each run's step model (dadarts export --int8 --streaming), as its step build does")
    parser.add_argument("--name", default="stream", help="results/<name>.json")
    args = parser.parse_args()

    from dadarts.evaluate.runmodels import load_run, load_step

    t0 = time.perf_counter()
    pct = lambda v: "    -" if v is None else f"{v * 100:5.1f}"  # noqa: E731
    results = []
    for run in args.run:
        models = load_run(run, need_int8=True, threads=args.threads)
        if args.streaming:
            models = load_step(models, exact=False)
        entry = {"run": str(Path(run).resolve()), "task": models.task, "config": models.config.name,
                 "model": "step" if args.streaming else "whole window",
                 "keywords": models.keywords, "clip_accuracy": clip_accuracy(Path(run), args.folder),
                 "train_settings": _train_settings(Path(run)), "recipes": {}}
        for recipe in args.recipes.split(","):
            m = measure(models, recipe, args.target, args.minutes, args.folder if recipe == "talk" else None)
            entry["recipes"][recipe] = m
            op, c = m["operating_point"], m["calibrated"]
            lo, hi = op["operating_point"]["false_accepts_per_hour_95"]
            print(f"{run} [{recipe}: test {m['streams']['test']['seconds'] / 3600:.1f} h, "
                  f"{m['streams']['test']['keyword_events']} keywords] before: FRR at 1 FA/h all keywords "
                  f"{pct(m['before']['frr_at_1_fa_per_hour'])} %; operating point (threshold "
                  f"{c['detection_threshold']}, window {c['average_window_ms']} ms, suppression {c['suppression_ms']} ms "
                  f"for {args.target:g} FA/h on calibration): FRR {pct(op['operating_point']['false_reject_rate'])} % at "
                  f"{op['operating_point']['false_accepts_per_hour']:.2f} FA/h (95 % {lo:.2f}-{hi:.2f})")
            if "folder" in m:
                f = m["folder"]
                lo, hi = f["operating_point"]["false_accepts_per_hour_95"]
                print(f"    {args.folder} ({f['seconds'] / 3600:.1f} h, {f['keyword_events']} keywords) at that point: "
                      f"FRR {pct(f['operating_point']['false_reject_rate'])} % at "
                      f"{f['operating_point']['false_accepts_per_hour']:.2f} FA/h (95 % {lo:.2f}-{hi:.2f})")
        print(f"    clip accuracy: {entry['clip_accuracy']}")
        results.append(entry)
    result = {"benchmark": "stream", "target_fa_per_hour": args.target, "runs": results,
              "machine": platform.platform(), "cpu_count": len(os.sched_getaffinity(0)),
              "wall_s": round(time.perf_counter() - t0, 1),
              "notes": "operating point: one threshold + window + suppression calibrated on the calibration stream "
                       "(validation split) for the target, measured on the test stream (testing split); FRR = mean "
                       "over keywords; FA/h over all keywords with its exact Poisson 95 % interval. 'before' = export "
                       "defaults, per-keyword FRR at 1 FA/h on each keyword's own curve (chosen on the test stream). "
                       "Wall-clock throughput depends on the machine's load (load averages recorded)."}
    out = RESULTS / f"{args.name}.json"
    write_text_atomic(out, json.dumps(result, indent=2) + "\n")
    print(f"saved {out}")


def _train_settings(run: Path) -> dict | None:
    path = run / "train" / "metrics.json"
    if not path.is_file():
        return None
    settings = json.loads(path.read_text()).get("settings", {})
    return {k: settings.get(k) for k in ("model", "mfcc", "epochs", "lr", "augment", "stream_windows", "hard_negatives",
                                         "negative_weight", "init", "seed")}


if __name__ == "__main__":
    main()
