"""Does a model trained on the built-in corpus hear real people? Scores trained runs on real recordings.

For each --run (trained, and exported with `dadarts export RUN --int8` for the int8 and fixed-point
paths) it measures, with the code of `dadarts evaluate`:
  - the real Speech Commands recordings of --real (default ../shared/data/gsc-real-dev, read for
    measuring only: the loaders of every learning stage refuse such a folder, tests/test_data.py);
  - the run's own test split (its corpus' testing list: voices never heard in training, frozen conditions);
  - every --also folder's test list (e.g. the previous corpus' test split, kept frozen as a comparison).
Float, int8 and int8 + fixed-point front-end accuracy, per keyword, and the confusion of the device path
merge into benchmarks/results/real_speech.json under --label.

    dadarts train --run runs/ds-cnn-s --model ds-cnn-s && dadarts export runs/ds-cnn-s --int8
    OMP_NUM_THREADS=1 python benchmarks/bench_real_speech.py --label corpus-v3 --run runs/demo --run runs/ds-cnn-s
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from dadarts.data.datasets import MEASURE_ONLY, load_dataset, load_test_folder, measure_only_reason
from dadarts.evaluate.folder import PATHS, evaluate
from dadarts.evaluate.runmodels import load_run
from dadarts.firmware.runio import run_dataset_args
from dadarts.rundir import RunDir, read_json, versions, write_json_atomic

RESULTS = Path(__file__).parent / "results" / "real_speech.json"
REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "gsc-real-dev"
KIND = "bench_real_speech"


def summary(result: dict) -> dict:
    """Accuracy per path, per-class accuracy per path, and the device path's confusion."""
    paths = result["paths"]
    device = "fixed" if "fixed" in paths else "float"
    return {"clips": result["clips"], "data": result["data"],
            "accuracy": {p: round(r["accuracy"], 4) for p, r in paths.items()},
            "balanced_accuracy": {p: round(r["balanced_accuracy"], 4) for p, r in paths.items()},
            "per_class": {p: {k: (None if v is None else round(v, 4)) for k, v in r["per_class"].items()}
                          for p, r in paths.items()},
            "confusion_path": device, "confusion": paths[device]["confusion"], "labels": result["labels"]}


def measure(run: str, real: Path, also: list[str], own_split: bool = True) -> dict:
    models = load_run(run, threads=1)
    source = run_dataset_args(RunDir.of(run))
    metrics = read_json(models.run.train_metrics, "train_metrics") if models.run.train_metrics.is_file() else {}
    sets = {"real": load_test_folder(real, models.task, models.labels, quiet=True)}
    if own_split:
        sets["own_test_split"] = load_dataset(source["data"], models.task, quiet=True, name_augment=None)
    for folder in also:
        sets[f"also:{folder}"] = load_test_folder(folder, models.task, models.labels, quiet=True)
    out = {"model": metrics.get("model"), "config": models.config.name, "params": metrics.get("params"),
           "epochs": metrics.get("epochs"), "seed": metrics.get("seed"), "corpus": metrics.get("data"),
           "train_settings": metrics.get("settings")}
    for name, ds in sets.items():
        out[name] = summary(evaluate(models, ds))
        acc = out[name]["accuracy"]
        print(f"{run} on {name} ({out[name]['clips']} clips): "
              + ", ".join(f"{PATHS[p]} {100 * v:.2f} %" for p, v in acc.items()))
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--run", action="append", required=True, help="trained run directory (repeat for several)")
    p.add_argument("--label", required=True, help="name of this measurement in the results file")
    p.add_argument("--real", default=str(REAL), help="real recordings, measure-only (default %(default)s)")
    p.add_argument("--also", action="append", default=[], help="another folder to score the runs on (its testing list)")
    p.add_argument("--own-split", action=argparse.BooleanOptionalAction, default=True,
                   help="also score each run on its corpus' test split (default on; off for a run made by an "
                        "older dadarts whose default corpus this one would generate anew)")
    args = p.parse_args()
    torch.set_num_threads(1)
    if measure_only_reason(Path(args.real)) is None:
        print(f"note: {args.real} is not marked measure-only; mark it so that no learning stage can read it: "
              f"touch {Path(args.real) / MEASURE_ONLY}")
    runs = {run: measure(run, Path(args.real).expanduser(), args.also, args.own_split) for run in args.run}
    results = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    labels = results.get("labels", {})
    labels[args.label] = {"runs": runs, "real": str(args.real), "versions": versions()}
    write_json_atomic(RESULTS, {"labels": labels}, kind=KIND)
    print(f"wrote {RESULTS} ({args.label})")


if __name__ == "__main__":
    main()
