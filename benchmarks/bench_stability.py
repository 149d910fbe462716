"""Is the search's choice signal or noise? The same budgeted search over seeds and thread counts.

Issue #20 asks that over 3 seeds x {1, 2} threads the same front-end configuration win in at least 5 of
6 runs, and that the benchmark say how many distinct genotypes came out. This runs
`dadarts search --target BOARD --seed S` once per (seed, threads) with torch on that many threads
(OMP_NUM_THREADS / MKL_NUM_THREADS), each in its own run directory under `--runs`; a search that
finished is read, not redone, and an interrupted one resumes from its checkpoint (`--resume`), so the
benchmark continues where it stopped. It then counts the front-end configurations and genotypes that
won, the searches that fit their budget and those whose budget hinge was active (history.csv
`violated_steps`: architecture steps with a budget violated; issue #20 asks it be active at least
once in every budgeted search), and writes benchmarks/results/<name>.json:

    python benchmarks/bench_stability.py                                    # 3 seeds x {1, 2} threads, cpu preset
    python benchmarks/bench_stability.py --seeds 0 --threads 1 --search-args "--epochs 2 --max-train 300"   # smoke
    python benchmarks/bench_stability.py --seeds 1 --threads 1 & python benchmarks/bench_stability.py --seeds 2 --threads 1
    python benchmarks/bench_stability.py --collect              # the summary of whatever finished

Searches only (no training): what is compared is the choice, not its accuracy.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import shlex
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dadarts.rundir import write_text_atomic  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"


def hinge_epochs(history: Path) -> int | None:
    """Search epochs in which at least one architecture step had its budget violated (None: no such column)."""
    if not history.is_file():
        return None
    with history.open() as f:
        rows = list(csv.DictReader(f))
    if not rows or "violated_steps" not in rows[0]:
        return None
    return sum(float(r["violated_steps"] or 0) > 0 for r in rows)


def search(run: Path, board: str, seed: int, threads: int, extra: list[str]) -> dict:
    """The search of one (seed, threads) pair: run (or resume) it unless its result exists; its result."""
    result = run / "search" / "result.json"
    if not result.is_file():
        env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads),
               "TF_CPP_MIN_LOG_LEVEL": "3"}
        cmd = [sys.executable, "-m", "dadarts.cli", "search", "--run", str(run), "--target", board,
               "--seed", str(seed), "--quiet", *extra]
        if (run / "search" / "checkpoint.pt").is_file():
            cmd.append("--resume")
        run.mkdir(parents=True, exist_ok=True)
        t0 = time.time()
        with open(run.with_suffix(".log"), "a") as log:
            log.write(f"$ {shlex.join(cmd)}  (threads {threads})\n")
            log.flush()
            done = subprocess.run(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
        wall = time.time() - t0
        if done.returncode != 0 and not result.is_file():
            # A search that misses its budget fails and says so; that is a result here, not a crash.
            last = run.with_suffix(".log").read_text().strip().splitlines()[-1:]
            return {"run": str(run), "seed": seed, "threads": threads, "config": None, "genotype": None,
                    "failed": last[0] if last else f"exit {done.returncode}", "fits": False, "wall_s_this_call": wall}
    else:
        wall = None
    r = json.loads(result.read_text())
    predicted = r.get("predicted") or {}
    return {"run": str(run), "seed": seed, "threads": threads, "config": r["config"],
            "genotype": r.get("genotype_str") or json.dumps(r["genotype"], sort_keys=True),
            "gamma": r.get("gamma"), "gamma_stop_epoch": r.get("gamma_stop_epoch"),
            "search_val_accuracy": r.get("search_val_accuracy"),
            "latency_ms": predicted.get("latency_ms"), "fits": predicted.get("fits"),
            "hinge_active_epochs": hinge_epochs(run / "search" / "history.csv"), "wall_s_this_call": wall}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--threads", default="1,2", help="torch thread counts (default 1,2)")
    ap.add_argument("--target", default="NUCLEO-F446RE")
    ap.add_argument("--search-args", default="", help="more arguments for every search, e.g. \"--epochs 2\"")
    ap.add_argument("--runs", default=str(ROOT / "benchmarks" / "runs" / "stability"))
    ap.add_argument("--name", default="stability")
    ap.add_argument("--collect", action="store_true",
                    help="only read the searches that finished (several invocations may each run a part)")
    args = ap.parse_args()
    extra = shlex.split(args.search_args)
    rows = []
    for seed in (int(s) for s in args.seeds.split(",")):          # seed by seed: a partial run already compares threads
        for threads in (int(t) for t in args.threads.split(",")):
            run = Path(args.runs) / f"s{seed}-t{threads}"
            if args.collect and not (run / "search" / "result.json").is_file():
                print(f"seed {seed}, {threads} thread(s): not finished, left out", flush=True)
                continue
            row = search(run, args.target, seed, threads, extra)
            rows.append(row)
            print(f"seed {seed}, {threads} thread(s): " + (f"FAILED: {row['failed']}" if row["config"] is None else
                  f"{row['config']}  {row['genotype']}  {row['latency_ms']} ms"), flush=True)
    done = [r for r in rows if r["config"] is not None]
    configs, genotypes = Counter(r["config"] for r in done), Counter(r["genotype"] for r in done)
    top, wins = configs.most_common(1)[0] if configs else (None, 0)
    summary = {"runs": len(rows), "failed": len(rows) - len(done), "most_common_config": top, "its_wins": wins,
               "configs": dict(configs), "distinct_genotypes": len(genotypes),
               "distinct_systems": len({(r["config"], r["genotype"]) for r in done}),
               "fit": sum(bool(r["fits"]) for r in rows),
               "hinge_active": sum(bool(r.get("hinge_active_epochs")) for r in rows),
               # per seed with more than one thread count measured: did they choose the same system?
               "same_choice_across_threads": {
                   str(s): len({(r["config"], r["genotype"]) for r in done if r["seed"] == s}) == 1
                   for s in sorted({r["seed"] for r in done}) if sum(r["seed"] == s for r in done) > 1}}
    print(f"{top} won {wins} of {len(rows)} searches ({summary['failed']} failed); {summary['distinct_genotypes']} distinct genotypes; "
          f"{summary['fit']} fit the budget, the hinge was active in {summary['hinge_active']}; configurations {dict(configs)}")
    out = RESULTS / f"{args.name}.json"
    write_text_atomic(out, json.dumps({"benchmark": "stability", "target": args.target,
                                       "search_args": args.search_args, "summary": summary, "searches": rows},
                                      indent=1) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
