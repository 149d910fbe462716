"""Stream benchmark: false rejects at 1 false accept per hour per keyword, before and after calibration,
and the streaming path's throughput.

For an exported run (`dadarts export RUN --int8`) it builds the run's long-form test stream (testing
split) and calibration stream (validation split) - 60 minutes each by default - runs the firmware's
streaming path over both with the int8 model on `--threads` LiteRT threads (timed: wall and CPU time,
with the load average; outputs an earlier run saved in RUN/stream/cache/ are reused with the timings
recorded then), then scores the test stream at the recogniser settings `dadarts export` writes for the run
("before": micro_speech's defaults, the model every 2 hops or once per decision period of a budgeted
search), calibrates on the
calibration stream for `--target` false accepts per hour, and scores the test stream again at the
chosen settings ("after"). Per keyword it reports the false-reject rate at the lowest threshold with at
most 1 false accept per hour on that keyword's curve, and the rates at the settings' own threshold.
Prints a table and writes benchmarks/results/<name>.json; of the run it only adds to RUN/stream/cache/.

    python benchmarks/bench_stream.py --run runs/kws [--minutes 60] [--target 1] [--threads 2] [--name stream]
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
    return {"settings": m["settings"], "operating_point": m["operating_point"],
            "frr_at_1_fa_per_hour": m["frr_at_1_fa_per_hour"], "per_keyword": per}


def timed_outputs(models, wav: Path, every_hops: int):
    """The streaming path over a recording and its throughput. Outputs a previous run saved (this
    benchmark or `dadarts stream`) are reused with the timings, load and date recorded when measured."""
    from dadarts.evaluate import session
    cached = session.outputs_cache(models, wav, every_hops).is_file()
    out = session.model_outputs(models, wav, every_hops)
    return out, {**session.throughput(out), "from_cache": cached}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", required=True, help="exported run directory")
    parser.add_argument("--minutes", type=float, default=60.0, help="length of each stream (default 60)")
    parser.add_argument("--target", type=float, default=1.0, help="calibration target, false accepts per hour")
    parser.add_argument("--threads", type=int, default=2, help="LiteRT threads (default 2)")
    parser.add_argument("--name", default="stream", help="results/<name>.json")
    args = parser.parse_args()

    from dadarts.evaluate import session
    from dadarts.evaluate.calibrate import calibrate
    from dadarts.evaluate.runmodels import load_run
    from dadarts.export.recognizer_settings import default_settings

    t0 = time.perf_counter()
    models = load_run(args.run, need_int8=True, threads=args.threads)
    ds = session.stream_dataset(models, None)
    defaults = default_settings(models.run, models.config)   # what `dadarts export` writes for this run
    test_wav, test_truth = session.run_stream(models, ds, "testing", args.minutes)
    cal_wav, cal_truth = session.run_stream(models, ds, "validation", args.minutes)
    test_out, speed = timed_outputs(models, test_wav, defaults.inference_every_hops)
    cal_out, cal_speed = timed_outputs(models, cal_wav, defaults.inference_every_hops)
    before = session.metrics(models, test_out, test_truth, defaults)
    calibration = calibrate(models, cal_out, cal_truth, defaults, args.target)
    after = session.metrics(models, test_out, test_truth, calibration["settings"])

    streams = {name: {"wav": str(w), "split": t["split"], "seconds": t["seconds"], "events": len(t["events"]),
                      "keyword_events": sum(e["keyword"] for e in t["events"])}
               for name, w, t in (("test", test_wav, test_truth), ("calibration", cal_wav, cal_truth))}
    result = {"benchmark": "stream", "run": str(Path(args.run).resolve()), "task": models.task,
              "config": models.config.name, "keywords": models.keywords, "streams": streams,
              "target_fa_per_hour": args.target, "before": summary(before),
              "calibrated": {k: v for k, v in calibration["chosen"].items()},
              "calibration_grid": calibration["grid"], "after": summary(after),
              "throughput_test_stream": speed, "throughput_calibration_stream": cal_speed,
              "machine": platform.platform(), "cpu_count": len(os.sched_getaffinity(0)),
              "wall_s": round(time.perf_counter() - t0, 1),
              "notes": "FRR at 1 FA/h: lowest false-reject rate on the threshold curve (other settings fixed) "
                       "with at most 1 false accept per hour, per keyword on its own curve. 'before' = export "
                       "defaults; 'after' = calibrated on the validation stream, measured on the test stream. "
                       "Wall-clock throughput depends on the machine's load (load averages recorded)."}
    pct = lambda v: "    -" if v is None else f"{v * 100:5.1f}"  # noqa: E731
    print(f"\n{models.task} {models.config}: test stream {streams['test']['seconds'] / 60:.0f} min, "
          f"{streams['test']['keyword_events']} keywords; calibrated for {args.target:g} FA/h: "
          f"window {calibration['chosen']['average_window_ms']} ms, threshold {calibration['chosen']['detection_threshold']}, "
          f"suppression {calibration['chosen']['suppression_ms']} ms")
    print(f"{'keyword':<10}{'FRR@1FA/h before':>18}{'after':>8}{'FRR before':>12}{'FA/h':>7}{'FRR after':>11}{'FA/h':>7}")
    for k in models.keywords:
        b, a = result["before"]["per_keyword"][k], result["after"]["per_keyword"][k]
        print(f"{k:<10}{pct(b['frr_at_1_fa_per_hour']):>18}{pct(a['frr_at_1_fa_per_hour']):>8}"
              f"{pct(b['false_reject_rate']):>12}{b['false_accepts_per_hour']:>7.2f}"
              f"{pct(a['false_reject_rate']):>11}{a['false_accepts_per_hour']:>7.2f}")
    b, a = result["before"], result["after"]
    print(f"{'all':<10}{pct(b['frr_at_1_fa_per_hour']):>18}{pct(a['frr_at_1_fa_per_hour']):>8}"
          f"{pct(b['operating_point']['false_reject_rate']):>12}{b['operating_point']['false_accepts_per_hour']:>7.2f}"
          f"{pct(a['operating_point']['false_reject_rate']):>11}{a['operating_point']['false_accepts_per_hour']:>7.2f}")
    print(f"throughput ({speed['threads']} LiteRT threads): {speed['audio_hours_per_minute']:.3f} hours of audio per "
          f"wall minute, {speed['audio_hours_per_cpu_minute']:.3f} per CPU minute (load {speed.get('load_average', '?')})")
    out = RESULTS / f"{args.name}.json"
    write_text_atomic(out, json.dumps(result, indent=2) + "\n")
    print(f"saved {out}")


if __name__ == "__main__":
    main()
