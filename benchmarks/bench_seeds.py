"""Seeds of the main job against its rivals: the budgeted search, the streaming search, DS-CNN-S.

Issue #20 asks that the searched network beat DS-CNN-S (and the search's random rivals) as a mean over
seeds, issue #24 that a search with `--streaming` beat the non-streaming one by 1.5 points, mean of 3
seeds, both on the built-in test split and on the real recordings. For each seed this runs (or, when
its artifact exists, reads) three pipelines under `--runs`, each trained with the main job's recipe
(40 epochs, stream windows, on-the-fly conditions) and that seed:

- `chain-sS`: `dadarts search --target NUCLEO-F446RE --seed S` on 2 torch threads (the main job; the
  same as bench_stability's `sS-t2`, whose search is reused when it is there), then `train --seed S`;
- `stream-sS`: `dadarts search --target NUCLEO-F446RE --streaming --seed S` on 1 thread (the budget is
  the streaming cost per decision), `train --seed S`, `export --int8 --streaming`;
- `dscnn-s-sS`: `dadarts train --model ds-cnn-s --mfcc 640/320/40/10 --seed S`;
- on demand (`--arms dscnn-m,dscnn-l`): DS-CNN-M and -L likewise (does capacity pay on this corpus?);
- on demand (`--arms derived,stream-derived`): `derived-sS` and `stream-derived-sS`, the main job's and
  the streaming search pricing the derived network (`search --price derived`), each on 1 thread;
  `stream-wide-sS`: the streaming search with width choices up to DS-CNN-M's (`--widths 16,32,64,96,128,172`);
  `wide-sS`: the main job's search with width choices up to 128 (`--widths 16,32,64,96,128`);
  `stream-causal-sS`, `stream-causal-wide-sS`: the streaming searches (default widths, and up to 172)
  with `--time-padding causal`, trained with `--stream-history`;
  `stream-wide-hop20-sS` and `wide-hop20-sS`: issue 24's comparison, the streaming and the non-streaming
  search with the same width choices (up to 172) and the same 20 ms hop (`--data-space` of the space's
  three 640/320 configurations), each on 1 thread; `stream-causal-wide-hop20`: the streaming side causal in
  time, trained with `--stream-history`;
- on demand (`--arms m-valid,m-causal`): DS-CNN-M's widths as a chain network (M_CHAIN) on 640/320/40/10,
  valid or causal in time, `train --model chain --arch ...`, `export --int8 --streaming` (what the time
  padding costs a streamable network); `m-causal-history`: the causal one trained with `--stream-history`;

- on demand (`--arms ARM-over`, e.g. `wide-hop20-over`): for every seed whose ARM search ended with its argmax
  over the budget (the search failed, or narrowed it to fit: dadarts.search.chain.within_budget), that argmax
  trained anyway with the same recipe (`train --model chain --arch LINE --mfcc CONFIG --seed S`): what the
  search would have given had its budget been waived, the generous side of a comparison (the arch is the
  search's record here, or the failure's in the earlier results file); the summary's "ARM with-over" takes
  these argmax networks in place of ARM's for their seeds; an ARM-over run whose ARM search, run again here,
  no longer ends with that argmax over budget (it fitted, or derived another) is left out, and says so;

- on demand (`--arms ARM-kd`, e.g. `dscnn-s-kd`, `stream-wide-hop20-kd`): ARM's trained network of that seed
  (its model, configuration and architecture, read from its train/metrics.json) trained again with the same
  recipe and DS-CNN-M of the same seed as its teacher (`train --teacher runs/dscnn-m-sS`, the default
  distillation weight and temperature; dadarts/train/distill.py): what distillation from a network far over
  the budget buys (run `--arms dscnn-m,ARM` first);

then `export --int8`, `mcu-eval --target NUCLEO-F446RE [--streaming]` and `evaluate --data REAL` (measure
only). Trainings use one torch thread; `--jobs 2` runs two seeds at once. It writes
benchmarks/results/<name>.json: per run the float and int8 test-split accuracy, the real recordings'
accuracy (int8 + fixed-point front-end, the device's path), the predicted latency per decision on the
F446RE (streaming cost for the streaming runs) and whether it fits; per arm the mean and standard
deviation over the seeds that finished; a search whose derived network ended over the budget (`dadarts
search` fails, nothing is trained) is listed under "failed_searches". A run of an earlier results file of the same
name whose directory is absent here (another machine ran it) is kept, not run again, marked "kept_from". A causal run (`--time-padding causal`) is scored as the device
runs it: its int8 step model streamed over the clips before each clip (the step export's
report["streaming"]["clips"] on the test split, `dadarts evaluate`'s streamed_fixed on the real
recordings), its window-alone figures kept beside them.

    python benchmarks/bench_seeds.py --seeds 0,1,2 --jobs 2      # hours on 2 cores; resumable
    python benchmarks/bench_seeds.py --collect                   # the summary of whatever finished
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dadarts.costmodel.chain import to_str  # noqa: E402
from dadarts.rundir import write_text_atomic  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
BOARD = "NUCLEO-F446RE"
HOP20 = "640/320/40/10,640/320/40/20,640/320/80/20"
ARMS = ("chain", "stream", "dscnn-s")
# The searching arms: search flags and torch threads. The main job's search runs on 2 threads (as
# bench_stability's sS-t2, which it reuses); the others on 1, so that two run at once. derived..wide run only
# on demand (--arms).
SEARCHES = {"chain": ([], 2), "stream": (["--streaming"], 1),
            "derived": (["--price", "derived"], 1), "stream-derived": (["--streaming", "--price", "derived"], 1),
            # the streaming search with width choices up to DS-CNN-M's 172 channels
            "stream-wide": (["--streaming", "--widths", "16,32,64,96,128,172"], 1),
            # the main job's search with width choices up to 128 (what a whole window affords in 100 ms)
            "wide": (["--widths", "16,32,64,96,128"], 1),
            # the streaming searches with causal time padding (the maps keep their frames)
            "stream-causal": (["--streaming", "--time-padding", "causal"], 1),
            "stream-causal-wide": (["--streaming", "--time-padding", "causal", "--widths", "16,32,64,96,128,172"], 1),
            # issue 24's comparison: the same hop (20 ms: the space's three 640/320 configurations) and the same
            # width choices on both sides, streaming or whole window
            "stream-wide-hop20": (["--streaming", "--widths", "16,32,64,96,128,172", "--data-space", HOP20], 1),
            "wide-hop20": (["--widths", "16,32,64,96,128,172", "--data-space", HOP20], 1),
            # the same, the streaming side causal in time ('valid' cost the stream the test split's points in
            # issue 24's comparison; README "Stream it": causal + --stream-history gives them back). Seeds 0 and 2
            # searched on 2026-12-07 (docs/search.md); training is about 4 min per epoch on one thread
            "stream-causal-wide-hop20": (["--streaming", "--time-padding", "causal", "--widths", "16,32,64,96,128,172",
                                          "--data-space", HOP20], 1)}
# Train flags of searching arms: a causal network trains on what its stream step computes (--stream-history;
# README "Stream it": +1.5 points streamed on the built-in test split for DS-CNN-M's widths, seed 0).
TRAIN_FLAGS = {"stream-causal": ["--stream-history"], "stream-causal-wide": ["--stream-history"],
               "stream-causal-wide-hop20": ["--stream-history"]}
# Hand-written streamable chains (on demand): DS-CNN-M's stem and widths (172 channels, four 3x3 blocks,
# the first striding 2) on DS-CNN's 640/320/40/10, valid or causal in time: what the time padding costs.
M_CHAIN = {"stem": "conv_10x4_s2x1", "stem_channels": 172,
           "blocks": [{"op": "dw_3x3", "channels": 172, "stride": 2}] + [{"op": "dw_3x3", "channels": 172, "stride": 1}] * 3
           + [{"op": "skip"}] * 2}
# arm: (architecture, extra train flags); m-causal-history trains the causal one after stream history
CHAINS = {"m-valid": ({**M_CHAIN, "time_padding": "valid"}, []), "m-causal": ({**M_CHAIN, "time_padding": "causal"}, []),
          "m-causal-history": ({**M_CHAIN, "time_padding": "causal"}, ["--stream-history"])}
OVER = "-over"            # ARM-over: the argmax networks ARM's searches ended with over budget, trained anyway
KD = "-kd"                # ARM-kd: ARM's network trained again with TEACHER of the same seed as its teacher
TEACHER = "dscnn-m"


def sh(log: Path, args: list[str], threads: int) -> None:
    """One dadarts command, appended to `log`; a failure stops this pipeline with the log's last line."""
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads), "TF_CPP_MIN_LOG_LEVEL": "3"}
    with open(log, "a") as f:
        f.write("$ dadarts " + " ".join(args) + "\n")
        f.flush()
        done = subprocess.run([sys.executable, "-m", "dadarts.cli", *args], env=env, stdout=f,
                              stderr=subprocess.STDOUT, cwd=ROOT)
    if done.returncode:
        raise RuntimeError(f"{' '.join(args[:2])} failed: {log.read_text().strip().splitlines()[-1]}")


def resume(path: Path) -> list[str]:
    return ["--resume"] if path.is_file() else []


def failed_arch(arm: str, seed: int, runs: Path, earlier: dict) -> dict | None:
    """For an ARM-over arm: the config and argmax line of ARM's search of `seed` where that argmax was over the
    budget (narrowed, or failed), from its run here, or when that run is absent here, the earlier results
    file's failure; None otherwise (the search fitted, or has not ended)."""
    name = arm[: -len(OVER)]
    base = runs / f"{name}-s{seed}"
    if not base.is_dir():                    # searched elsewhere: what the earlier results file says of it
        return next((f for f in earlier.get("failed_searches", []) if f["arm"] == name and f["seed"] == seed), None)
    result = _search_result(base)
    if result.get("argmax"):                 # narrowed to fit: its argmax, kept beside it
        return {"config": result["config"], "genotype": result["argmax"]["genotype_str"]}
    return failure(base, result)


def stale_over(row: dict, runs: Path, earlier: dict) -> bool:
    """Whether an ARM-over row trained an argmax that ARM's search, run here, no longer ends with over budget
    (run again, it fitted or derived another): that network no longer stands for the search, and is left out."""
    if not (runs / f"{row['arm'][: -len(OVER)]}-s{row['seed']}").is_dir():
        return False                         # searched elsewhere: the earlier results file's pairing stands
    over = failed_arch(row["arm"], row["seed"], runs, earlier)
    return over is None or (row["config"], to_str(row["arch"])) != (over["config"], over["genotype"])


def distilled(arm: str, seed: int, runs: Path, r: str) -> list[str]:
    """The train arguments of an ARM-kd run: ARM's network of `seed` (its model, configuration, architecture
    and stream history, from its train/metrics.json) with TEACHER's run of `seed` as its teacher."""
    base, teacher = runs / f"{arm[: -len(KD)]}-s{seed}", runs / f"{TEACHER}-s{seed}"
    for need in (base / "train" / "metrics.json", teacher / "train" / "model.pt"):
        if not need.is_file():
            raise RuntimeError(f"{need} is missing: run --arms {need.parents[1].name.rsplit('-s', 1)[0]} "
                               f"--seeds {seed} first")
    train = json.loads((base / "train" / "metrics.json").read_text())
    settings = train["settings"]
    if settings["model"] not in ("chain", *(f"ds-cnn-{s}" for s in "sml")):
        raise RuntimeError(f"{base} trained a {settings['model']} network: ARM-kd trains chain and DS-CNN networks")
    arch = settings["model_kwargs"].get("arch")
    return ["--model", settings["model"], "--mfcc", train["config"], "--run", r,
            *(["--arch", json.dumps(arch)] if arch else []), *(["--stream-history"] if settings.get("stream_history") else []),
            "--teacher", str(teacher)]


def pipeline(arm: str, seed: int, runs: Path, stability: Path, real: str, earlier: dict) -> None:
    """Run whatever is missing of one (arm, seed) pipeline."""
    run = runs / f"{arm}-s{seed}"
    log = run.with_suffix(".log")
    over = failed_arch(arm, seed, runs, earlier) if arm.endswith(OVER) else None
    if arm.endswith(OVER) and over is None:
        return                       # that seed's search fitted (or has not ended): nothing to train over budget
    run.mkdir(parents=True, exist_ok=True)
    r = str(run)
    streams = arm.startswith("stream") or arm in CHAINS
    if arm in SEARCHES and not (run / "search" / "result.json").is_file():
        done = stability / f"s{seed}-t2"
        if arm == "chain" and (done / "search" / "result.json").is_file():   # bench_stability ran this very search
            shutil.copytree(done / "search", run / "search", dirs_exist_ok=True)
            shutil.copy2(done / "run.json", run / "run.json")
        else:
            flags, threads = SEARCHES[arm]
            sh(log, ["search", "--run", r, "--target", BOARD, *flags, "--seed", str(seed), "--quiet",
                     *resume(run / "search" / "checkpoint.pt")], threads)
    if not (run / "train" / "model.pt").is_file():
        model = (distilled(arm, seed, runs, r) if arm.endswith(KD) else
                 ["--model", "ds-cnn-" + arm.split("-")[1], "--mfcc", "640/320/40/10", "--run", r]
                 if arm.startswith("dscnn-") else
                 ["--model", "chain", "--arch", json.dumps(CHAINS[arm][0]), "--mfcc", "640/320/40/10", "--run", r,
                  *CHAINS[arm][1]]
                 if arm in CHAINS else
                 ["--model", "chain", "--arch", over["genotype"], "--mfcc", over["config"], "--run", r]
                 if over else [r, *TRAIN_FLAGS.get(arm, [])])
        sh(log, ["train", *model, "--seed", str(seed), "--threads", "1", "--quiet",
                 *resume(run / "train" / "checkpoint.pt")], 1)
    if not (run / "export" / "model_int8.tflite").is_file():
        # a streaming search's model over its budget is recorded (fits: false), not dropped
        sh(log, ["export", r, "--int8", *(["--allow-over-budget"] if streams else [])], 1)
    if streams and (not (run / "export" / "model_step_int8.tflite").is_file()
                    or causal(run) and "clips" not in json.loads((run / "export" / "report.json").read_text()).get("streaming", {})):
        sh(log, ["export", r, "--int8", "--streaming"], 1)       # (a causal run's streamed test clips: its report)
    # (every run, an argmax trained without its search or a baseline included, priced at one decision per
    # 100 ms, the front-end's frames of that period included: the search's rule and mcu-eval's default)
    sh(log, ["mcu-eval", r, "--target", BOARD, *(["--streaming"] if streams else [])], 1)
    real_metrics = run / "evaluate" / Path(real).name / "metrics.json"
    if not real_metrics.is_file() or (causal(run) and "streamed_fixed" not in json.loads(real_metrics.read_text())["paths"]):
        sh(log, ["evaluate", r, "--data", real], 1)


def causal(run: Path) -> bool:
    """Whether the trained run is a chain network causal in time: the device's step hears the audio before
    each window, so its clip accuracy is the streamed one (dadarts/export/streamed_clips.py)."""
    from dadarts.costmodel.chain import time_padding
    arch = json.loads((run / "train" / "metrics.json").read_text())["settings"]["model_kwargs"].get("arch")
    return isinstance(arch, dict) and time_padding(arch) == "causal"


def read(run: Path, real: str) -> dict | None:
    """What the benchmark keeps of a finished run (None while any artifact is missing)."""
    files = [run / "train" / "metrics.json", run / "export" / "report.json", run / "mcu" / "estimates.json",
             run / "evaluate" / Path(real).name / "metrics.json"]
    if not all(f.is_file() for f in files):
        return None
    train, export, mcu, ev = (json.loads(f.read_text()) for f in files)
    test_int8, real_fixed = export["int8"]["accuracy"], ev["paths"]["fixed"]["accuracy"]
    streamed = None
    if causal(run):          # the device's figures: the int8 step streamed over the clips before each clip
        clips = export.get("streaming", {}).get("clips")
        if clips is None or "streamed_fixed" not in ev["paths"]:
            return None
        streamed = {"test_int8_window": test_int8, "real_fixed_window": real_fixed}
        test_int8 = clips["int8"]
        real_fixed = ev["paths"]["streamed_fixed"]["accuracy"]
    est = mcu["targets"][BOARD]
    stream = est.get("streaming")
    settings = train["settings"]
    return {"run": str(run.relative_to(ROOT)), "config": train["config"], "model": train["model"],
            "arch": settings["model_kwargs"].get("arch"), "params": train["params"], "epochs": train["epochs"],
            "train_seed": train["seed"], "test_float": train["accuracy"], "test_int8": test_int8, "real_fixed": real_fixed,
            "real_int8": ev["paths"]["int8"]["accuracy"],
            # a causal run's test_int8 / real_fixed are streamed (its window-alone figures kept beside them)
            "streamed": streamed is not None, **(streamed or {}),
            "latency_ms": (stream or est)["latency_ms"], "whole_window_latency_ms": est["latency_ms"],
            "ram_kb": ((stream or {}).get("ram_bytes") or est["ram_bytes"]) / 1024,
            # export's re-check of the search's budget (streaming cost for a streaming search); a baseline
            # without a search: mcu-eval's fit on the board
            "fits": bool(export["budget_check"]["fits"]) if export.get("budget_check") else bool(est["fits"]),
            # the search's argmax was over the budget and was narrowed to fit (dadarts.search.chain.within_budget)
            "narrowed": _search_result(run).get("narrowed")}


def _search_result(run: Path) -> dict:
    res = run / "search" / "result.json"
    return json.loads(res.read_text()) if res.is_file() else {}


def failure(run: Path, result: dict | None = None) -> dict | None:
    """A search that ended over its budget (`dadarts search` fails, so nothing is trained): what it derived
    (`result`: its search/result.json when the caller has read it)."""
    result = _search_result(run) if result is None else result
    if not result or (run / "train" / "model.pt").is_file():
        return None
    predicted = result.get("predicted") or {}
    return {"run": str(run.relative_to(ROOT)), "config": result["config"], "genotype": result.get("genotype_str"),
            "over": predicted["over"], "predicted": predicted} if predicted.get("over") else None


def mean_sd(values: list[float]) -> dict:
    return {"mean": statistics.fmean(values), "sd": statistics.stdev(values) if len(values) > 1 else None,
            "n": len(values)}


def _summary(rows: list[dict]) -> dict:
    out = {k: mean_sd([r[k] for r in rows]) for k in ("test_float", "test_int8", "real_fixed", "latency_ms")}
    return {**out, "fit": sum(r["fits"] for r in rows), "seeds": sorted(r["seed"] for r in rows)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--arms", default=",".join(ARMS))
    ap.add_argument("--jobs", type=int, default=1, help="pipelines at once (each trains on one thread)")
    ap.add_argument("--runs", default=str(ROOT / "benchmarks" / "runs" / "seeds"))
    ap.add_argument("--stability-runs", default=str(ROOT / "benchmarks" / "runs" / "stability"))
    ap.add_argument("--real", default=str(ROOT.parent / "shared" / "data" / "gsc-real-dev"),
                    help="real recordings, measured only (default ../shared/data/gsc-real-dev)")
    ap.add_argument("--name", default="seeds")
    ap.add_argument("--collect", action="store_true", help="only read the runs that finished")
    args = ap.parse_args()
    seeds, arms, runs = [int(s) for s in args.seeds.split(",")], args.arms.split(","), Path(args.runs)
    out = RESULTS / f"{args.name}.json"
    earlier = json.loads(out.read_text()) if out.is_file() else {}
    def kept(arm: str, s: int, key: str = "") -> list[dict]:
        """What the earlier results file says of (arm, seed) under `key` ("runs", "failed_searches"; both by
        default) when its run directory is absent here: it ran on another machine, and is kept rather than run
        again (remove it from that file to run it again)."""
        if (runs / f"{arm}-s{s}").is_dir():
            return []
        return [{**e, "kept_from": out.name} for k in ([key] if key else ["runs", "failed_searches"])
                for e in earlier.get(k, []) if e["arm"] == arm and e["seed"] == s]

    if not args.collect:
        work = [(arm, s) for s in seeds for arm in arms if not kept(arm, s)]
        with ThreadPoolExecutor(args.jobs) as pool:
            for (arm, s), fut in zip(work, [pool.submit(pipeline, a, s, runs, Path(args.stability_runs), args.real, earlier)
                                            for a, s in work]):
                try:
                    fut.result()
                except RuntimeError as exc:      # one broken pipeline does not stop the others
                    print(f"{arm} seed {s}: {exc}", flush=True)
    rows, summary, failed = [], {}, []
    for arm in arms:
        got, lost = [], []
        for s in seeds:
            run = runs / f"{arm}-s{s}"
            r = read(run, args.real)
            f = None if r else failure(run)
            if r:   # (an ARM-over run is over its search's budget by construction, whatever the board's fit says)
                got.append({"arm": arm, "seed": s, **r, **({"fits": False, "over_budget": True} if arm.endswith(OVER) else {})})
            elif f:
                lost.append({"arm": arm, "seed": s, **f})
            else:                        # run elsewhere: what the earlier results file says of it
                got, lost = got + kept(arm, s, "runs"), lost + kept(arm, s, "failed_searches")
        for r in [r for r in got if arm.endswith(OVER) and stale_over(r, runs, earlier)]:
            print(f"{arm} seed {r['seed']}: left out: it trained {r['config']} {to_str(r['arch'])}, which "
                  f"{arm[: -len(OVER)]} seed {r['seed']}'s search here no longer ends with over budget")
            got.remove(r)
        rows, failed = rows + got, failed + lost
        if got:
            summary[arm] = _summary(got)
        if arm.endswith(OVER) and got and (base := [r for r in rows if r["arm"] == arm[: -len(OVER)]]):
            # the base arm with its over-budget argmax networks in place of what its search handed on (nothing,
            # or the narrowed network): the comparison's generous side
            argmax = {r["seed"]: r for r in base} | {r["seed"]: r for r in got}
            summary[arm[: -len(OVER)] + " with" + OVER] = _summary(list(argmax.values()))
    if not rows:        # (a stopped benchmark leaves an earlier results file as it was)
        print(f"no run of {args.arms} has finished: nothing written")
        return
    for r in rows:
        print(f"{r['arm']:>8} seed {r['seed']}  {r['config']:>14}  test float {r['test_float']:.2%} int8 "
              f"{r['test_int8']:.2%}  real {r['real_fixed']:.2%}  {r['latency_ms']:.1f} ms/decision  fits {r['fits']}")
    for f in failed:
        print(f"{f['arm']:>8} seed {f['seed']}  {f['config']:>14}  search FAILED: over the budget in "
              f"{', '.join(f['over'])} ({f['predicted']['latency_ms']:.1f} ms predicted); its network trains only as {f['arm']}{OVER}")
    for arm, m in summary.items():
        print(f"{arm:>8} mean of {m['test_int8']['n']}: test int8 {m['test_int8']['mean']:.2%} "
              f"(sd {m['test_int8']['sd'] or 0:.2%}), real {m['real_fixed']['mean']:.2%} (sd {m['real_fixed']['sd'] or 0:.2%})")
    write_text_atomic(out, json.dumps({"benchmark": "seeds", "target": BOARD, "real": Path(args.real).name,
                                       "summary": summary, "runs": rows, "failed_searches": failed},
                                      indent=1) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
