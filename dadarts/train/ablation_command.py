"""`dadarts ablation`: data-aware search vs the same search on one fixed configuration, trained alike.

    dadarts ablation --run-prefix runs/abl [--data DIR] [--task gsc12] [--fixed-config 640/320/40]

This is the paper's "Not Data Aware" row in one command. It runs, in process and in order:
  1. `dadarts search --run PREFIX-data-aware`                      (γ picks the configuration)
  2. `dadarts search --run PREFIX-fixed --fixed-config CFG`         (same search, configuration given)
  3. `dadarts train` on both, with the same recipe and seed
  4. each `--baselines` model on the configuration the data-aware search chose
  5. `dadarts compare` of everything into PREFIX-compare/
A step whose artifact already exists is skipped, and one that was interrupted is resumed, so the
command can simply be run again after a stop.
"""
from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--run-prefix", default="runs/ablation", help="run directories are PREFIX-data-aware, "
                   "PREFIX-fixed, PREFIX-<baseline> and PREFIX-compare (default runs/ablation)")
    p.add_argument("--data", metavar="DIR", help="dataset folder (default: the built-in corpus)")
    p.add_argument("--task", default="gsc12", choices=["gsc12", "gsc35", "names"])
    p.add_argument("--fixed-config", default="640/320/40", metavar="W/H/M",
                   help="configuration of the not-data-aware search (default 640/320/40: 40 ms window, 20 ms hop)")
    p.add_argument("--data-space", metavar="W/H/M,...", help="data space of the data-aware search (default: the default space)")
    p.add_argument("--preset", default="cpu", help="search preset (default cpu)")
    p.add_argument("--search-args", default="", metavar="'ARGS'",
                   help="more `dadarts search` options for both searches, e.g. '--epochs 4 --warmup-epochs 1'")
    p.add_argument("--epochs", type=int, default=15, help="training epochs of every network (default 15)")
    p.add_argument("--channels", type=int, default=8, help="searched networks: channels (default 8)")
    p.add_argument("--layers", type=int, default=5, help="searched networks: cells (default 5)")
    p.add_argument("--baselines", default="ds-cnn-s", help="comma-separated baselines to train too ('' for none)")
    p.add_argument("--augment", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int, default=0, help="CPU threads for torch in every step (default: torch's choice)")


def _step(title: str, argv: list[str]) -> int:
    from ..cli import main
    print(f"\n== dadarts ablation: {title}\n   dadarts {' '.join(argv)}", flush=True)
    return main(argv)


def run(args) -> int:
    import shlex

    from ..errors import UserError
    from ..rundir import RunDir, read_json, record_run

    if args.threads > 0:   # every step runs in this process, so this holds for searches and trainings alike
        import torch
        torch.set_num_threads(args.threads)
    prefix = args.run_prefix.rstrip("/")
    aware, fixed = RunDir.of(f"{prefix}-data-aware"), RunDir.of(f"{prefix}-fixed")
    data = ["--data", args.data] if args.data else []
    common = [*data, "--task", args.task, "--seed", str(args.seed), "--device", args.device]
    search = [*common, "--preset", args.preset, *shlex.split(args.search_args)]
    train = [*common, "--epochs", str(args.epochs), "--augment" if args.augment else "--no-augment"]
    baselines = [b.strip() for b in args.baselines.split(",") if b.strip()]
    if "searched" in baselines:
        raise UserError("--baselines lists 'searched': the searched networks are trained anyway, list baselines only.")

    steps = [
        ("data-aware search", aware.search_result, aware.search_checkpoint,
         ["search", "--run", str(aware.root), *search] + (["--data-space", args.data_space] if args.data_space else [])),
        ("not-data-aware search", fixed.search_result, fixed.search_checkpoint,
         ["search", "--run", str(fixed.root), *search, "--fixed-config", args.fixed_config]),
    ]
    for name, run_dir in (("data-aware", aware), ("not data aware", fixed)):
        steps.append((f"train {name}", run_dir.train_metrics, run_dir.train_checkpoint,
                      ["train", str(run_dir.root), *train, "--channels", str(args.channels),
                       "--layers", str(args.layers)]))
    baseline_runs = []
    for b in baselines:
        run_dir = RunDir.of(f"{prefix}-{b}")
        baseline_runs.append(run_dir)
        # The configuration is known only after the data-aware search: filled in when the step runs.
        steps.append((f"train baseline {b}", run_dir.train_metrics, run_dir.train_checkpoint,
                      ["train", "--run", str(run_dir.root), "--model", b, *train, "--mfcc", None]))

    for title, done, checkpoint, argv in steps:
        if done.exists():
            print(f"\n== dadarts ablation: {title}: {done} exists, skipped", flush=True)
            continue
        if None in argv:
            chosen = read_json(aware.search_result, "search_result")["config"]
            argv = [chosen if a is None else a for a in argv]
        if checkpoint.exists():
            argv = [*argv, "--resume"]
        rc = _step(title, argv)
        if rc != 0:
            print(f"dadarts ablation: '{title}' failed (exit {rc}); fix it and run the same command again "
                  f"to continue from there.", flush=True)
            return rc

    runs = [str(aware.root), str(fixed.root), *(str(r.root) for r in baseline_runs)]
    rc = _step("compare", ["compare", *runs, "--out", f"{prefix}-compare"])
    if rc == 0:
        for r in runs:
            record_run(RunDir.of(r), "ablation", args._argv)
    return rc
