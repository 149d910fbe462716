"""Training throughput (samples/s) of `dadarts train`'s step on this machine, for DS-CNN-S and searched cells.

Measures the same step the training loop runs (forward, label-smoothed cross-entropy, backward,
clipping, AdamW) on random inputs of the right shape, with and without the augmentation front-end
(time shift + noise + MFCC + masks computed per batch from int16 audio). No dataset is needed.

    python benchmarks/bench_train.py [--steps 10] [--batch-size 64] [--device cpu]

Prints a table and writes benchmarks/results/train.json.

    python benchmarks/bench_train.py --ablation runs/abl-cpu runs/abl-cpu-s1

instead collects finished `dadarts ablation` runs (one prefix per seed: test accuracy, params, MACs,
training time, what each search chose) into benchmarks/results/train_ablation.json.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from dadarts.device import pick_device
from dadarts.frontend.spec import MfccConfig
from dadarts.rundir import versions, write_text_atomic
from dadarts.search.genotypes import PCDARTS, to_dict
from dadarts.train.augment import AugmentedFeatures, AugmentSettings
from dadarts.train.loop import TrainConfig, make_optimizer
from dadarts.train.metrics import model_size
from dadarts.train.models import BASELINES, build_model

CASES = [
    # (label, model, kwargs) — the searched case uses the PC-DARTS cell at `dadarts train`'s CPU default size
    ("ds-cnn-s", "ds-cnn-s", {}),
    ("searched C=8 L=5", "searched", {"genotype": to_dict(PCDARTS), "channels": 8, "layers": 5}),
]


def bench(model_name, kwargs, config: MfccConfig, augment: bool, steps: int, batch: int, device) -> tuple[float, float]:
    """(samples per wall-clock second, samples per CPU-second of this process).

    The second figure is what the step costs regardless of other load on a shared machine."""
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(0)
    model = build_model(model_name, config.shape, 12, **kwargs).to(device, memory_format=torch.channels_last).train()
    opt = make_optimizer(TrainConfig(), model)
    y = torch.randint(0, 12, (batch,), device=device)
    if augment:
        noise = [np.random.default_rng(0).uniform(-0.1, 0.1, 64000).astype(np.float32)]
        front = AugmentedFeatures(config, np.zeros(config.n_mfcc), np.ones(config.n_mfcc), noise, AugmentSettings()).to(device)
        audio = torch.randint(-3000, 3000, (batch, 16000), dtype=torch.int16)
    else:
        x = torch.randn(batch, 1, *config.shape, device=device)

    def step():
        xb = front(audio.to(device), gen) if augment else x
        loss = F.cross_entropy(model(xb.contiguous(memory_format=torch.channels_last)), y, label_smoothing=0.1)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()

    for _ in range(2):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(steps):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return steps * batch / wall, steps * batch / cpu


def ablation_summary(prefixes: list[str], out: str) -> None:
    """Gather the trained runs of `dadarts ablation` prefixes (one per seed) into one JSON file."""
    from dadarts.rundir import RunDir, read_json

    rows = []
    for prefix in prefixes:
        base = Path(prefix).name
        for path in sorted(Path(prefix).parent.glob(base + "-*")):
            run, kind = RunDir.of(path), path.name[len(base) + 1:]
            # PREFIX-data-aware, PREFIX-fixed, PREFIX-<baseline>; not another prefix's runs (abl-s1-...)
            if kind not in ("data-aware", "fixed", *BASELINES) or not run.train_metrics.is_file():
                continue
            m = read_json(run.train_metrics, "train_metrics")
            row = {"prefix": prefix, "run": path.name, "kind": kind, "model": m["model"], "config": m["config"], "seed": m["seed"],
                   "test_accuracy": m["accuracy"], "balanced_accuracy": m["balanced_accuracy"],
                   "validation_accuracy": m["validation_accuracy"], "test_clips": m["n"], "params": m["params"],
                   "macs": m["macs"], "epochs": m["epochs"], "train_wall_time_s": round(m["wall_time_s"], 1),
                   "train_settings": m["settings"]}
            if run.search_result.is_file():
                r = read_json(run.search_result, "search_result")
                row["search"] = {k: r.get(k) for k in ("config", "gamma", "align", "search_val_accuracy", "genotype_str")}
                row["search"]["settings"] = {k: r["settings"].get(k) for k in
                                             ("channels", "layers", "epochs", "warmup_epochs", "batch_size", "max_train")}
            rows.append(row)
    by_kind: dict[str, list[float]] = {}
    for r in rows:
        by_kind.setdefault(r["kind"], []).append(r["test_accuracy"])
    summary = {k: {"seeds": len(v), "mean_test_accuracy": float(np.mean(v)), "min": min(v), "max": max(v)}
               for k, v in by_kind.items()}
    for k, v in summary.items():
        print(f"{k:<14} {v['seeds']} seed(s)  mean test accuracy {100 * v['mean_test_accuracy']:.2f} %  "
              f"[{100 * v['min']:.2f}, {100 * v['max']:.2f}]")
    obj = {"benchmark": "train_ablation", "prefixes": prefixes, "summary": summary, "runs": rows,
           "cpu_count": os.cpu_count(), "load_average": list(os.getloadavg()), "versions": versions(),
           "note": "Test accuracy of the last epoch on the built-in corpus' test split (voices unseen in "
                   "training); with a few hundred test clips one standard error is about 2 points."}
    write_text_atomic(out, json.dumps(obj, indent=2) + "\n")
    print(f"written {out}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--mfcc", default="400/200/40")
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", default="1,2", help="comma-separated torch thread counts to measure (CPU)")
    p.add_argument("--out", default=None, help="output JSON (default results/train.json, or train_ablation.json)")
    p.add_argument("--ablation", nargs="+", metavar="PREFIX", help="summarise finished `dadarts ablation` runs instead")
    args = p.parse_args()
    results_dir = Path(__file__).parent / "results"
    if args.ablation:
        ablation_summary(args.ablation, args.out or str(results_dir / "train_ablation.json"))
        return
    args.out = args.out or str(results_dir / "train.json")
    device = pick_device(args.device)
    config = MfccConfig.parse(args.mfcc)
    load_before = list(os.getloadavg())
    results = []
    cases = [(t, c) for t in (int(t) for t in args.threads.split(",")) for c in CASES]
    for threads, (label, name, kwargs) in cases:
        torch.set_num_threads(threads)
        size = model_size(build_model(name, config.shape, 12, **kwargs), config.shape)
        for augment in (False, True):
            sps, per_cpu_s = bench(name, kwargs, config, augment, args.steps, args.batch_size, device)
            results.append({"model": label, "augment": augment, "threads": threads, "samples_per_s": round(sps, 1),
                            "samples_per_cpu_s": round(per_cpu_s, 1), **size})
            print(f"{threads} thr  {label:<18} {'augmented audio' if augment else 'cached features':<16} "
                  f"{sps:8.1f} samples/s {per_cpu_s:8.1f} samples/CPU-s  {size['params']:>9,} params  "
                  f"{size['macs'] / 1e6:7.2f} M MACs", flush=True)
    out = {
        "benchmark": "train_throughput", "mfcc": config.name, "input_shape": list(config.shape),
        "batch_size": args.batch_size, "steps": args.steps, "device": str(device),
        "cpu_count": os.cpu_count(), "processor": platform.processor(),
        "load_average_before": load_before, "load_average_after": list(os.getloadavg()),
        "versions": versions(), "results": results,
        "note": "One optimisation step on random data. samples_per_s is wall clock and drops when other "
                "processes share the cores (see the load averages); samples_per_cpu_s divides by this "
                "process's CPU time instead.",
    }
    write_text_atomic(args.out, json.dumps(out, indent=2) + "\n")
    print(f"written {args.out}")


if __name__ == "__main__":
    main()
