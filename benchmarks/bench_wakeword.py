"""Wake words from their text alone: FRR at the calibrated false-accept rate, on voices and an engine never heard.

For three phrases of different length (one word, two words, three syllables) it runs
`dadarts wakeword PHRASE --target BOARD --max-fa-per-hour 1` (a re-run continues a finished or
interrupted run) and reads what the command measured:
  - FRR and false accepts per hour at the calibrated recogniser settings on the test stream of the
    held-out base voices (the "talk" recipe: words and voices training never used, unheard noises);
  - the same settings on a stream of the held-out engine (every voice of one speech engine, kept out
    of training and calibration);
  - for a phrase that is a Speech Commands word ("sheila"), the same settings on a stream of the real
    recordings in --real (../shared/data/gsc-real-dev), with `dadarts stream RUN --from-folder`. Those
    clips are MEASURED only: nothing of them enters the corpus, the search, training, thresholds or
    calibration (the loaders of every learning stage refuse the folder: it holds a MEASURE_ONLY marker).

The full setting (`--scale 1`, the default search and 40 training epochs, 5-hour streams) takes hours
per phrase on 2 shared cores; `--reduced` (the default here) is a labelled small setting that fits a
single measurement in about 15 minutes. Saves benchmarks/results/wakeword.json.

    OMP_NUM_THREADS=1 python benchmarks/bench_wakeword.py                 # reduced
    OMP_NUM_THREADS=1 python benchmarks/bench_wakeword.py --full          # the issue's setting
"""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from dadarts.cli import main
from dadarts.rundir import read_json, versions, write_json_atomic

RESULTS = Path(__file__).resolve().parent / "results" / "wakeword.json"
REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "gsc-real-dev"
KIND = "bench_wakeword"
PHRASES = (("sheila", "one word, real recordings in gsc-real-dev"), ("hey kettle", "two words"),
           ("computer", "three syllables"))
# The reduced setting: 80 voices (a twelfth) for the phrase and its near misses, the cpu preset's chain
# search (20 epochs, 5 warm-up, latency floor 0.85) on two configurations and 2 500 training clips,
# 30 training epochs, 60-minute calibration and test streams (the full setting: 300).
REDUCED = ["--scale", "0.08", "--other-every", "10", "--search-max-train", "2500",
           "--search-args", "--data-space 400/200/40/10,640/320/40/10",
           "--epochs", "30", "--stream-minutes", "60"]


def measure(phrase: str, run: Path, target: str, full: bool, real: Path | None, threads: int,
            search_extra: str = "") -> dict:
    t0 = time.time()
    setting = [] if full else list(REDUCED)
    if search_extra:   # e.g. a lower --latency-floor when a search ended just over the budget
        if "--search-args" in setting:
            i = setting.index("--search-args") + 1
            setting[i] = f"{setting[i]} {search_extra}"
        else:
            setting += ["--search-args", search_extra]
    argv = ["wakeword", phrase, "--target", target, "--run", str(run), "--max-fa-per-hour", "1",
            "--threads", str(threads), "--quiet", *setting]
    status = main(argv)
    if status:
        raise SystemExit(f"dadarts {' '.join(argv)} failed with status {status}")
    result = read_json(run / "wakeword" / "result.json", "wakeword_result")
    train = read_json(run / "train" / "metrics.json", "train_metrics")
    search = read_json(run / "search" / "result.json", "search_result")
    out = {"phrase": phrase, "run": str(run), "command": "dadarts " + " ".join(argv), "wall_s": round(time.time() - t0, 1),
           "settings": result["settings"], "calibration": result["calibration"],
           "held_out_voices": result["held_out_voices"], "held_out_engine": result["held_out_engine"],
           "clip_accuracy_test_split": train.get("accuracy"), "params": train.get("params"),
           "config": search.get("config"), "predicted": search.get("predicted")}
    label = result["labels"][0]
    if real is not None and (real / label).is_dir():
        # Measuring only: the real clips are streamed at the settings calibrated on synthetic speech.
        assert main(["stream", str(run), "--from-folder", str(real), "--threads", str(threads)]) == 0
        m = read_json(run / "stream" / f"folder-{real.resolve().name}.json", "stream_metrics")
        op = m["operating_point"]
        out["real"] = {"folder": str(real), "hours": m["hours"],
                       **{k: op[k] for k in ("false_reject_rate", "events", "misses", "false_accepts",
                                             "false_accepts_per_hour")}}
    return out


def main_() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--full", action="store_true", help="the issue's full setting (hours per phrase)")
    p.add_argument("--target", default="NUCLEO-F446RE")
    p.add_argument("--runs", default="runs/bench-wakeword", help="folder of the runs (one per phrase)")
    p.add_argument("--real", default=str(REAL), help="real recordings, measured only")
    p.add_argument("--phrases", default=None, help="comma-separated subset of the phrases (default: all three)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--search-extra", default="", metavar="'ARGS'",
                   help="more search options for these phrases (recorded in each row's command)")
    args = p.parse_args()
    chosen = [(ph, why) for ph, why in PHRASES if not args.phrases or ph in args.phrases.split(",")]
    real = Path(args.real) if Path(args.real).is_dir() else None
    rows = []
    for phrase, why in chosen:
        run = Path(args.runs) / (("full-" if args.full else "reduced-") + phrase.replace(" ", "-"))
        rows.append({"what": why, **measure(phrase, run, args.target, args.full, real, args.threads, args.search_extra)})
    pct = lambda p: "-" if p is None else f"{p['false_reject_rate'] * 100:5.1f} % ({p['misses']}/{p['events']}), {p['false_accepts_per_hour']:.2f} FA/h"  # noqa: E731
    print(f"\nsetting: {'full' if args.full else 'REDUCED (see REDUCED in this file)'}; target {args.target}; "
          "FRR at the settings calibrated for 1 FA/h on the validation voices' stream")
    for r in rows:
        print(f"{r['phrase']!r:>13} ({r['what']}): held-out voices {pct(r['held_out_voices'])}; held-out engine "
              f"{pct(r['held_out_engine'])}; real {pct(r.get('real'))}; {r['wall_s']:.0f} s")
    # Rows of other phrases measured earlier in the same setting are kept (phrases run one per process).
    setting = "full" if args.full else "reduced"
    if RESULTS.is_file():
        before = read_json(RESULTS, KIND)
        if before.get("setting") == setting and before.get("reduced_args") == (None if args.full else REDUCED):
            mine = {r["phrase"] for r in rows}
            rows = [r for r in before["rows"] if r["phrase"] not in mine] + rows
            rows.sort(key=lambda r: [ph for ph, _ in PHRASES].index(r["phrase"]))
    write_json_atomic(RESULTS, {"setting": setting, "reduced_args": None if args.full else REDUCED,
                                "target": args.target, "rows": rows, "versions": versions(),
                                "load_average": os.getloadavg(), "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())},
                      kind=KIND)
    print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main_())
