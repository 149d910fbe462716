"""Budgeted search on the built-in corpus: does the search land inside a board's budget, and at what accuracy?

    python benchmarks/bench_budget.py                       # everything (hours on 2 shared cores; resumable)
    python benchmarks/bench_budget.py --seeds 0 --epochs 4  # a quick look
    python benchmarks/bench_budget.py --jobs 2              # two pipelines at a time (one thread each)

Runs under benchmarks/runs/budget/ (every step skipped when its artifact exists and an interrupted
search or training resumed from its checkpoint, so an interrupted benchmark continues; each run logs
to RUN.log beside it) and writes benchmarks/results/budget.json and budget_pareto.png:

- two budgets, several seeds each: a tight Cortex-M4 (NUCLEO-F446RE: 128 KB SRAM, 512 KB flash,
  <= 100 ms per decision) and a looser Cortex-M7 (STM32F746G-DISCO, <= 50 ms); each seed is
  `dadarts search --target B --max-latency-ms X`, `train`, `export --int8`, `mcu-eval --target B`;
  reported: test accuracy on held-out voices (float and int8), estimated latency / arena / RAM /
  flash of the exported int8 model, and whether it fits;
- next to them, trained with the same recipe: DS-CNN-S and DS-CNN-M (on 640/320/40/10, the published
  49x10 input), the unbudgeted search of the darts space (the previous default), and a budgeted
  search on one fixed configuration (not data aware);
- does γ decide: how many seeds fire the γ early stop, and for the first seed of the M4 budget the
  derived cell trained on every configuration of the data space: where γ's choice ranks by accuracy,
  and by accuracy among the configurations that fit the budget;
- random search in the chain space under the M4 budget (`--random N`, default 5): N (configuration,
  architecture) pairs drawn uniformly and kept when the cost model puts them inside the budget, each
  trained, exported and estimated like the searched networks; their mean and best int8 accuracy,
  and the Kendall τ between the supernet of the first M4 seed's search (each sample's choices made
  one-hot, BatchNorm statistics recomputed on training batches, validation accuracy) and the
  samples' stand-alone test accuracy (after the γ early stop the supernet trains the winning
  configuration alone, so samples on other configurations sit at chance there: read τ on the winner's).

    python benchmarks/bench_budget.py --random-only runs/chain-demo --random 2 --epochs 1   # a smoke run
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import sys
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dadarts.rundir import write_text_atomic  # noqa: E402

BUDGETS = {"m4": ("NUCLEO-F446RE", 100.0), "m7": ("STM32F746G-DISCO", 50.0)}
BASELINES = {"ds-cnn-s": "640/320/40/10", "ds-cnn-m": "640/320/40/10"}
FIXED_CONFIG = "640/320/40/10"
DECISION_MS = 100.0      # the search's default decision period: the model once per 100 ms, the front-end every hop


def dadarts(*args: str, log: Path) -> None:
    """One CLI step in its own process (one thread: the machine is shared), output appended to `log`."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TF_CPP_MIN_LOG_LEVEL": "3"}
    cmd = [sys.executable, "-m", "dadarts.cli", *args]
    with open(log, "a") as f:
        f.write(f"\n$ dadarts {' '.join(args)}\n")
        f.flush()
        t = time.time()
        proc = subprocess.run(cmd, env=env, stdout=f, stderr=subprocess.STDOUT, cwd=ROOT)
        f.write(f"# exit {proc.returncode} after {time.time() - t:.0f} s\n")
    if proc.returncode != 0:
        raise SystemExit(f"bench_budget: `dadarts {' '.join(args)}` failed; see {log}")


def pipeline(run: Path, search_args: list[str] | None, train_args: list[str], target: str, log: Path) -> Path:
    """search (unless a baseline) -> train -> export --int8 -> mcu-eval on `target`, skipping finished steps
    and resuming an interrupted search or training from its checkpoint; returns the estimates file of that target."""
    if search_args is not None and not (run / "search" / "result.json").exists():
        if (run / "search" / "checkpoint.pt").exists():
            dadarts("search", "--run", str(run), "--quiet", "--resume", log=log)
        else:
            dadarts("search", "--run", str(run), "--quiet", *search_args, log=log)
    if not (run / "train" / "metrics.json").exists():
        resume = ["--resume"] if (run / "train" / "checkpoint.pt").exists() else train_args
        dadarts("train", str(run), "--quiet", *resume, log=log)
    if not (run / "export" / "report.json").exists():
        dadarts("export", str(run), "--int8", log=log)
    kept = run / "mcu" / f"estimates-{target}.json"
    if not kept.exists():
        # every network judged at the same decision rate, baselines too (they have no search to record it)
        dadarts("mcu-eval", str(run), "--target", target, "--decision-ms", str(DECISION_MS), log=log)
        (run / "mcu" / "estimates.json").replace(kept)
    return kept


def summary(run: Path, estimates: Path, target: str, budget_ms: float | None) -> dict:
    read = lambda p: json.loads((run / p).read_text())   # noqa: E731
    metrics, report, est = read("train/metrics.json"), read("export/report.json"), json.loads(estimates.read_text())
    t = est["targets"][target]
    row = {"run": str(run.relative_to(ROOT) if run.is_relative_to(ROOT) else run), "model": metrics["model"], "config": metrics["config"],
           "params": metrics["params"], "macs": metrics["macs"],
           "accuracy": metrics["accuracy"], "int8_accuracy": report["int8"]["accuracy"],
           "target": target, "latency_ms": t["latency_ms"], "invoke_ms": t["invoke_ms"],
           "arena_kb": est["model"]["arena_bytes"] / 1024, "ram_kb": t["ram_bytes"] / 1024,
           "flash_kb": t["flash_bytes"] / 1024, "fits_memory": t["fits"],
           "latency_budget_ms": budget_ms,
           "fits_budget": t["fits"] and (budget_ms is None or t["latency_ms"] <= budget_ms)}
    if (run / "search" / "result.json").exists():
        result = read("search/result.json")
        row.update({"gamma_stop_epoch": result.get("gamma_stop_epoch"), "predicted": result.get("predicted"),
                    "network": result.get("network"), "search_val_accuracy": result.get("search_val_accuracy"),
                    "genotype": result["genotype_str"]})
    if "budget_check" in report:
        row["export_budget_check"] = report["budget_check"]
    return row


def gamma_ranking(run: Path, target: str, budget_ms: float, train_args: list[str], out: Path,
                  pool: ThreadPoolExecutor) -> dict:
    """The derived cell of `run` trained on every configuration of its data space, same recipe and size."""
    from dadarts.costmodel.targets import get_target
    from dadarts.frontend.spec import MfccConfig
    from dadarts.mcu_eval.analytic import estimate_from_genotype
    result = json.loads((run / "search" / "result.json").read_text())
    net = result["network"]

    def train_on(name: str) -> Path:
        sub = out / name.replace("/", "_")
        if not (sub / "search" / "result.json").exists():
            (sub / "search").mkdir(parents=True, exist_ok=True)
            # the same search result with only the configuration changed: train builds exactly that system
            write_text_atomic(sub / "search" / "result.json", json.dumps({**result, "config": name}, indent=1))
        if not (sub / "train" / "metrics.json").exists():
            resume = ["--resume"] if (sub / "train" / "checkpoint.pt").exists() else train_args
            # on a configuration γ did not choose the network may be over the budget: trained all the same
            resume = resume if resume == ["--resume"] else resume + ["--allow-over-budget"]
            dadarts("train", str(sub), "--quiet", *resume, log=sub.with_suffix(".log"))
        return sub

    subs = list(pool.map(train_on, result["data_space"]))
    rows = []
    for name, sub in zip(result["data_space"], subs):
        m = json.loads((sub / "train" / "metrics.json").read_text())
        if net["space"] == "chain":
            from dadarts.costmodel.chain import chain_graph
            from dadarts.costmodel.estimate import estimate_netgraph
            est = estimate_netgraph(chain_graph(result["genotype"], MfccConfig.parse(name).shape, len(result["labels"])),
                                    MfccConfig.parse(name), get_target(target), result.get("decision_ms"))
        else:
            est = estimate_from_genotype(result["genotype"], MfccConfig.parse(name), len(result["labels"]),
                                         net["channels"], net["layers"], get_target(target), space=net["space"],
                                         decision_ms=result.get("decision_ms"))
        rows.append({"config": name, "gamma": result["gamma"][name], "accuracy": m["accuracy"],
                     "latency_ms": est["latency_ms"], "fits": est["fits"] and est["latency_ms"] <= budget_ms})
    by_acc = sorted(rows, key=lambda r: -r["accuracy"])
    fitting = [r for r in by_acc if r["fits"]]
    chosen = result["config"]
    return {"run": str(run.relative_to(ROOT)), "chosen": chosen, "rows": rows,
            "rank_by_accuracy": 1 + [r["config"] for r in by_acc].index(chosen),
            "rank_by_accuracy_within_budget": (1 + [r["config"] for r in fitting].index(chosen)
                                               if chosen in [r["config"] for r in fitting] else None),
            "configs": len(rows), "configs_within_budget": len(fitting)}


def sample_fitting(result: dict, target: str, budget_ms: float, n: int, seed: int) -> list[tuple[str, dict]]:
    """`n` (configuration, chain architecture) pairs drawn uniformly from the search's data space and the
    chain space, kept when the cost model puts them inside the budget (latency, RAM, flash)."""
    from dadarts.costmodel import chain as space
    from dadarts.costmodel.estimate import estimate_netgraph
    from dadarts.costmodel.targets import get_target
    from dadarts.frontend.spec import MfccConfig
    board, rng, out = get_target(target), random.Random(seed), []
    for _ in range(100000):
        if len(out) == n:
            break
        config, arch = rng.choice(result["data_space"]), space.sample(rng)
        est = estimate_netgraph(space.chain_graph(arch, MfccConfig.parse(config).shape, len(result["labels"])),
                                MfccConfig.parse(config), board, DECISION_MS)
        if est["fits"] and est["latency_ms"] <= budget_ms:
            out.append((config, arch))
    return out


def random_search(search_run: Path, target: str, budget_ms: float, n: int, train_args: list[str], out: Path,
                  pool: ThreadPoolExecutor) -> dict:
    """Random search in the chain space under the budget, every sample trained like the searched networks,
    and the Kendall τ between the supernet's ranking of the samples and their stand-alone accuracy."""
    from dadarts.costmodel import chain as space
    result = json.loads((search_run / "search" / "result.json").read_text())
    samples = sample_fitting(result, target, budget_ms, n, seed=len(result["labels"]) * 1000 + n)

    def one(k: int) -> dict:
        config, arch = samples[k]
        sub = out / f"sample{k}"
        if not (sub / "search" / "result.json").exists():
            (sub / "search").mkdir(parents=True, exist_ok=True)
            # a search result naming the sample: train builds exactly it, export checks it against the budget
            write_text_atomic(sub / "search" / "result.json", json.dumps(
                {**result, "config": config, "genotype": arch, "genotype_str": space.to_str(arch), "predicted": None},
                indent=1))
        return summary(sub, pipeline(sub, None, train_args, target, sub.with_suffix(".log")), target, budget_ms)

    rows = list(pool.map(one, range(len(samples))))
    supernet = supernet_accuracy(search_run, samples)
    for row, acc in zip(rows, supernet):
        row["supernet_val_accuracy"] = acc
    ints = [r["int8_accuracy"] for r in rows]
    return {"search_run": str(search_run), "samples": len(rows), "rows": rows,
            "mean_int8_accuracy": sum(ints) / len(ints), "best_int8_accuracy": max(ints),
            "kendall_tau_supernet_vs_standalone": kendall_tau(supernet, [r["accuracy"] for r in rows])}


def supernet_accuracy(search_run: Path, samples: list[tuple[str, dict]], calibration_batches: int = 20) -> list[float]:
    """Validation accuracy of each sample inside the search's supernet: its choices one-hot, its configuration
    alone, BatchNorm's running statistics recomputed on training batches first."""
    import torch

    from dadarts.costmodel import chain as space
    from dadarts.data.datasets import load_dataset
    from dadarts.frontend.spec import MfccConfig
    from dadarts.search.loop import evaluate, prepare_data
    from dadarts.search.model import DataAwareSupernet
    from dadarts.search.settings import SearchSettings
    ckpt = torch.load(search_run / "search" / "checkpoint.pt", map_location="cpu", weights_only=False)
    settings = SearchSettings.from_dict(ckpt["settings"])
    configs = [MfccConfig.parse(c) for c in ckpt["data_space"]]
    data = prepare_data(load_dataset(ckpt["source"].get("data"), ckpt["source"].get("task") or "gsc12", quiet=True),
                        configs, torch.device("cpu"), max_train=settings.max_train, seed=settings.seed)
    model = DataAwareSupernet([c.shape for c in configs], data.num_classes, settings)
    accs = []
    for config, arch in samples:
        model.load_state_dict(ckpt["model"])
        hot = lambda n, i: torch.where(torch.arange(n) == i, 30.0, -30.0)   # noqa: E731
        net, blocks = model.net, arch["blocks"]
        with torch.no_grad():
            net.alpha_stem.copy_(hot(len(space.SEARCH_STEMS), space.SEARCH_STEMS.index(arch["stem"])))
            net.alpha_stem_width.copy_(hot(len(space.WIDTHS), space.WIDTHS.index(arch["stem_channels"])))
            for i, b in enumerate(blocks):
                net.alpha_kernel[i].copy_(hot(len(space.KERNELS), list(space.KERNELS).index(b["op"])))
                net.alpha_width[i].copy_(hot(len(space.WIDTHS), space.WIDTHS.index(b.get("channels", space.WIDTHS[0]))))
                net.alpha_stride[i].copy_(hot(len(space.STRIDES), space.STRIDES.index(b.get("stride", 1))))
            model.active.fill_([c.name for c in configs].index(config))
            for m in model.modules():
                if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                    m.reset_running_stats()
                    m.momentum = None                         # a plain average over the calibration batches
            model.train()
            d = int(model.active)
            for b in range(calibration_batches):
                idx = torch.arange(b * 64, min((b + 1) * 64, data.train_y.numel()))
                model([data.train_x[d][idx].float() if k == d else None for k in range(len(configs))])
        accs.append(evaluate(model, data.val_x, data.val_y, torch.device("cpu"), _single())[1])
    return accs


def _single():
    from dadarts.search.distributed import DistInfo
    return DistInfo()


def kendall_tau(a: list[float], b: list[float]) -> float | None:
    """Kendall's τ-a between two rankings of the same items (None for fewer than two)."""
    n = len(a)
    if n < 2:
        return None
    s = sum((1 if (a[i] - a[j]) * (b[i] - b[j]) > 0 else -1 if (a[i] - a[j]) * (b[i] - b[j]) < 0 else 0)
            for i in range(n) for j in range(i + 1, n))
    return s / (n * (n - 1) / 2)


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7, 4.5))
    groups: dict[str, list[dict]] = {}
    for r in rows:
        groups.setdefault(r["group"], []).append(r)
    for group, rs in groups.items():
        ax.scatter([r["latency_ms"] for r in rs], [100 * r["int8_accuracy"] for r in rs], label=group, s=36)
    for budget_name, (target, ms) in BUDGETS.items():
        ax.axvline(ms, ls="--", lw=0.8, color="grey")
        ax.text(ms, ax.get_ylim()[0], f" {ms:g} ms ({target})", rotation=90, va="bottom", fontsize=7, color="grey")
    ax.set_xscale("log")
    ax.set_xlabel("estimated latency per decision on the group's board (ms, log)")
    ax.set_ylabel("int8 test accuracy, held-out voices (%)")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=130)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="0,1,2", help="seeds of each budgeted search (default 0,1,2)")
    ap.add_argument("--epochs", type=int, default=20, help="training epochs of every network (default 20)")
    ap.add_argument("--skip-gamma-ranking", action="store_true")
    ap.add_argument("--runs", default=str(ROOT / "benchmarks" / "runs" / "budget"))
    ap.add_argument("--jobs", type=int, default=1, help="pipelines run at once (default 1; each uses one thread)")
    ap.add_argument("--random", type=int, default=5, help="random-search samples under the M4 budget (0: none)")
    ap.add_argument("--random-only", metavar="RUN", default=None,
                    help="only the random search and Kendall τ against the finished chain search RUN (a smoke run)")
    args = ap.parse_args()
    if args.random_only:
        target, ms = BUDGETS["m4"]
        with ThreadPoolExecutor(max_workers=args.jobs) as pool:
            rnd = random_search(Path(args.random_only).resolve(), target, ms, args.random,
                                ["--epochs", str(args.epochs)], Path(args.runs) / "random-only", pool)
        write_text_atomic(ROOT / "benchmarks" / "results" / "budget_random.json", json.dumps(rnd, indent=1))
        print(f"random search: {rnd['samples']} samples, int8 mean {100 * rnd['mean_int8_accuracy']:.2f} %, best "
              f"{100 * rnd['best_int8_accuracy']:.2f} %; Kendall τ supernet vs stand-alone: "
              f"{rnd['kendall_tau_supernet_vs_standalone']}")
        return 0
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    runs = Path(args.runs)
    runs.mkdir(parents=True, exist_ok=True)
    train_args = ["--epochs", str(args.epochs)]
    t0 = time.time()
    target_m4, ms_m4 = BUDGETS["m4"]
    # (row fields, run, search args or None for a baseline, train args, target, latency budget): independent
    # pipelines, run `--jobs` at a time (each step is its own process).
    jobs = [({"group": f"budgeted search, {target} <= {ms:g} ms", "seed": seed}, runs / f"{key}-seed{seed}",
             ["--target", target, "--max-latency-ms", str(ms), "--seed", str(seed)],
             train_args + ["--seed", str(seed)], target, ms)
            for key, (target, ms) in BUDGETS.items() for seed in seeds]
    jobs.append(({"group": f"budgeted search on one configuration ({FIXED_CONFIG})"}, runs / "m4-fixed-config",
                 ["--target", target_m4, "--max-latency-ms", str(ms_m4), "--fixed-config", FIXED_CONFIG],
                 train_args, target_m4, ms_m4))
    jobs.append(({"group": "unbudgeted search (darts space, the previous default)"}, runs / "unbudgeted-darts",
                 ["--preset", "cpu-darts"], train_args, target_m4, ms_m4))
    jobs += [({"group": f"{name} on {target}"}, runs / name, None,
              train_args + ["--model", name, "--mfcc", config], target, ms)
             for name, config in BASELINES.items() for key, (target, ms) in BUDGETS.items()]
    # A baseline trains once and is estimated on both boards: its second pipeline waits for the first.
    done: dict[Path, Future] = {}
    pool = ThreadPoolExecutor(max_workers=args.jobs)

    def one(job, before: Future | None):
        fields, run, search_args, train, target, ms = job
        if before is not None:
            before.result()
        # each pipeline logs to its own file, so that parallel ones do not interleave
        return {**fields, **summary(run, pipeline(run, search_args, train, target, run.with_suffix(".log")), target, ms)}

    futures = []
    for job in jobs:
        futures.append(pool.submit(one, job, done.get(job[1])))
        done.setdefault(job[1], futures[-1])
    rows = [f.result() for f in futures]
    out = {"settings": {"seeds": seeds, "train_epochs": args.epochs, "budgets": BUDGETS, "decision_ms": DECISION_MS,
                        "corpus": "built-in (dadarts data info)", "baselines": BASELINES}, "rows": rows}
    budgeted = [r for r in rows if r["group"].startswith("budgeted search,")]
    out["every_budgeted_seed_fits"] = all(r["fits_budget"] for r in budgeted)
    out["gamma_early_stops"] = sum(1 for r in budgeted if r.get("gamma_stop_epoch"))
    ds_s = next(r for r in rows if r["group"] == f"ds-cnn-s on {target_m4}")
    m4 = [r for r in budgeted if r["target"] == target_m4]
    out["m4_vs_ds_cnn_s"] = {"ds_cnn_s": {"int8_accuracy": ds_s["int8_accuracy"], "latency_ms": ds_s["latency_ms"]},
                             "budgeted_mean_int8_accuracy": sum(r["int8_accuracy"] for r in m4) / len(m4),
                             "budgeted_max_latency_ms": max(r["latency_ms"] for r in m4),
                             "beats_at_no_more_latency": [r["seed"] for r in m4 if r["int8_accuracy"] > ds_s["int8_accuracy"]
                                                          and r["latency_ms"] <= ds_s["latency_ms"]]}
    if args.random:
        out["random_search"] = random_search(runs / f"m4-seed{seeds[0]}", target_m4, ms_m4, args.random, train_args,
                                             runs / "random", pool)
        out["m4_vs_random_search"] = {"budgeted_mean_int8_accuracy": out["m4_vs_ds_cnn_s"]["budgeted_mean_int8_accuracy"],
                                      "random_mean_int8_accuracy": out["random_search"]["mean_int8_accuracy"],
                                      "random_best_int8_accuracy": out["random_search"]["best_int8_accuracy"]}
    if not args.skip_gamma_ranking:
        out["gamma_ranking"] = gamma_ranking(runs / f"m4-seed{seeds[0]}", target_m4, ms_m4, train_args,
                                             runs / "gamma-ranking", pool)
    pool.shutdown()
    out["wall_s"] = round(time.time() - t0, 1)      # of this invocation (a resumed one skips finished steps)
    # every step's own time, as the per-run logs recorded it, over all invocations (steps ran --jobs at a time)
    out["steps_s"] = sum(float(t) for log in runs.rglob("*.log")
                         for t in re.findall(r"^# exit 0 after (\d+) s$", log.read_text(), re.M))
    results = ROOT / "benchmarks" / "results"
    write_text_atomic(results / "budget.json", json.dumps(out, indent=1))
    plot(rows, results / "budget_pareto.png")
    print(f"{'group':<58} {'seed':>4} {'config':>14} {'int8 %':>7} {'ms':>8} {'arena KB':>9} {'flash KB':>9} fits")
    for r in rows:
        print(f"{r['group'][:58]:<58} {r.get('seed', ''):>4} {r['config']:>14} {100 * r['int8_accuracy']:>7.2f} "
              f"{r['latency_ms']:>8.1f} {r['arena_kb']:>9.1f} {r['flash_kb']:>9.1f} {r['fits_budget']}")
    if "gamma_ranking" in out:
        g = out["gamma_ranking"]
        print(f"γ chose {g['chosen']}: rank {g['rank_by_accuracy']}/{g['configs']} by accuracy, "
              f"{g['rank_by_accuracy_within_budget']}/{g['configs_within_budget']} among those within the budget")
    print(f"γ early stop fired in {out['gamma_early_stops']}/{len(budgeted)} budgeted searches; "
          f"wrote {results / 'budget.json'} and budget_pareto.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
