"""How far a model trained on the built-in corpus carries to voices of engines it never heard.

For each model (the README's default searched cells and DS-CNN-S) it trains, on --train-data:
  - the standard voice-disjoint split -> the voice-held-out accuracy the README quotes;
  - one run per engine family of --train-data with that family left out (`--holdout-engine`).
Each model is then tested on every engine family of --test-data: a family the training corpus had
is tested with the run that left it out; a family the training corpus never had (an older corpus
without it) is tested with the voice-held-out run. Held-out test sets are the family's spoken clips
of --test-data (all its voices, keywords and _unknown_; no _silence_), so "before" and "after"
figures are measured on the same clips.

    python benchmarks/bench_generalisation.py --label before --train-data ~/.cache/dadarts/synth-v1-seed0-200v2r \
        --reverb-prob 0 --searched-epochs 15 --baseline-epochs 8
    python benchmarks/bench_generalisation.py --label after --reverb-prob 0.5 --searched-epochs 15 --baseline-epochs 8
    python benchmarks/bench_generalisation.py --measure-build --label x   # first-run corpus build time and size

Training runs land in --runs (default runs/generalisation) and are skipped when already finished, so
an interrupted benchmark continues. Results merge into benchmarks/results/generalisation.json under
the label. Run it niced with OMP_NUM_THREADS=1 on a shared machine.
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

from dadarts.data.datasets import load_dataset
from dadarts.data.engine_split import speaker_engines
from dadarts.data.features import Normalizer, load_features
from dadarts.train.models import rebuild_model
from dadarts.frontend.artifact import read_frontend
from dadarts.rundir import RunDir, read_json, versions, write_text_atomic
from dadarts.train.augment import AugmentSettings
from dadarts.train.loop import METRICS_KIND, TrainConfig, evaluate, train

RESULTS = Path(__file__).parent / "results" / "generalisation.json"
# search/result.json of `dadarts search --run runs/default-search-v1 --data <corpus v1>` (the default search,
# mcu space, cpu preset), kept so that the figures can be reproduced with the same network.
DEFAULT_SEARCH = Path(__file__).parent / "results" / "generalisation_search.json"


def searched_model(search_json: Path) -> tuple[str, dict]:
    """(MFCC configuration, model kwargs) of the default search's result (result.json or a benchmark record)."""
    obj = json.loads(search_json.read_text())
    genotype = obj.get("genotype_str") or obj["genotype"]
    network = obj.get("network") or {}
    kwargs = {"genotype": genotype, "channels": network.get("channels", 8), "layers": network.get("layers", 5)}
    if network.get("space"):
        kwargs["space"] = network["space"]
    return obj["config"], kwargs


def train_once(run: RunDir, cfg: TrainConfig, data: Path, holdout: str | None) -> dict:
    if run.train_metrics.is_file():
        return read_json(run.train_metrics, METRICS_KIND)
    ds = load_dataset(data, "gsc12", holdout_engine=holdout)
    resume = run.train_checkpoint.is_file()
    print(f"== train {run.root.name}: {cfg.model} {cfg.mfcc}, {len(ds.splits['train'])} clips, "
          f"{'resuming' if resume else 'from scratch'}", flush=True)
    return train(cfg, ds, run, resume=resume, progress=True)


def test_on(run: RunDir, data: Path, engine: str | None) -> dict:
    """Accuracy of a trained run on every spoken clip of `engine` in corpus `data` (None: its test split)."""
    model = rebuild_model(torch.load(run.model, map_location="cpu", weights_only=False))
    front = read_frontend(run.frontend)
    ds = load_dataset(data, "gsc12", holdout_engine=engine, quiet=True)
    feats = load_features(ds, "testing", front.config)
    x = Normalizer(front.mean, front.std).apply(feats.x)
    _, pred = evaluate(model, x, feats.y, 256, "cpu")
    return {"accuracy": float((pred == feats.y.numpy()).mean()), "n": int(feats.y.numel())}


def measure_build() -> dict:
    """Time the first-run build of the built-in corpus in a throw-away cache folder."""
    import resource
    import shutil
    import tempfile

    from dadarts.data import synth
    folder = Path(tempfile.mkdtemp(prefix="dadarts-build-"))
    previous = os.environ.get("DADARTS_CACHE")
    os.environ["DADARTS_CACHE"] = str(folder)
    load_before = os.getloadavg()
    cpu = lambda: sum(getattr(resource.getrusage(w), f) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)  # noqa: E731
                      for f in ("ru_utime", "ru_stime"))
    cpu0, start = cpu(), time.perf_counter()
    try:
        path = synth.default_corpus(progress=False)
        wall, cpu_s = time.perf_counter() - start, cpu() - cpu0
        files = [f for f in path.rglob("*") if f.is_file()]
        return {"wall_s": round(wall, 1), "cpu_s": round(cpu_s, 1), "workers": min(len(os.sched_getaffinity(0)), 8),
                "clips": sum(f.suffix == ".wav" and f.parent.name != "_background_noise_" for f in files),
                "bytes": sum(f.stat().st_size for f in files), "load_average_before": load_before,
                "load_average_after": os.getloadavg(), "corpus": path.name}
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        if previous is None:
            os.environ.pop("DADARTS_CACHE")
        else:
            os.environ["DADARTS_CACHE"] = previous


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--label", required=True, help="name of this measurement (before, after, ...)")
    p.add_argument("--train-data", type=Path, help="corpus to train on (default: the built-in corpus)")
    p.add_argument("--test-data", type=Path, help="corpus whose engine families are the held-out tests "
                                                    "(default: the built-in corpus)")
    p.add_argument("--search", type=Path, default=DEFAULT_SEARCH,
                   help="search/result.json (or benchmark record) of the default model")
    p.add_argument("--models", default="searched,ds-cnn-s")
    p.add_argument("--searched-epochs", type=int, default=15)
    p.add_argument("--baseline-epochs", type=int, default=8)
    p.add_argument("--baseline-mfcc", default="400/200/40")
    p.add_argument("--engines", help="comma-separated families to hold out (default: every family of --test-data)")
    p.add_argument("--reverb-prob", type=float, default=None,
                   help="training reverberation share (default: dadarts train's); for recipe comparisons")
    p.add_argument("--runs", type=Path, default=Path("runs/generalisation"))
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--note", default="", help="free text saved with the figures (machine load, what changed)")
    p.add_argument("--measure-build", action="store_true",
                   help="only time a first-run build of the built-in corpus (in a temporary cache) and save it")
    args = p.parse_args()
    if args.measure_build:
        build = measure_build()
        print(f"first-run corpus build: {build['wall_s']} s wall, {build['cpu_s']} CPU-s, {build['clips']} clips, "
              f"{build['bytes'] / 1e6:.0f} MB")
        everything = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {"benchmark": "generalisation"}
        everything["corpus_build"] = {**build, "note": args.note}
        write_text_atomic(RESULTS, json.dumps(everything, indent=2) + "\n")
        return
    torch.set_num_threads(args.threads)
    from dadarts.data.synth import default_corpus
    train_data = args.train_data or default_corpus()
    test_data = args.test_data or default_corpus()
    train_engines = sorted(set(speaker_engines(train_data).values()))
    test_engines = sorted(set(speaker_engines(test_data).values()))
    if args.engines:
        test_engines = [e for e in test_engines if e in args.engines.split(",")]
        train_engines = [e for e in train_engines if e in test_engines]
    augmentation = AugmentSettings() if args.reverb_prob is None else AugmentSettings(reverb_prob=args.reverb_prob)
    config, searched_kwargs = searched_model(args.search)

    results = {"train_data": str(train_data), "test_data": str(test_data), "train_engines": train_engines,
               "test_engines": test_engines, "models": {}}
    start = time.perf_counter()
    for name in args.models.split(","):
        if name == "searched":
            cfg = TrainConfig(model="searched", model_kwargs=searched_kwargs, mfcc=config, epochs=args.searched_epochs,
                              augmentation=augmentation)
        else:
            cfg = TrainConfig(model=name, mfcc=args.baseline_mfcc, epochs=args.baseline_epochs,
                              augmentation=augmentation)
        runs = {None: RunDir.of(args.runs / f"{args.label}-{name}-voices")}
        runs.update({e: RunDir.of(args.runs / f"{args.label}-{name}-no-{e}") for e in train_engines})
        metrics = {e: train_once(run, cfg, train_data, e) for e, run in runs.items()}
        per_engine = {}
        for engine in test_engines:
            run = runs.get(engine, runs[None])
            per_engine[engine] = {**test_on(run, test_data, engine), "run": str(run.root),
                                  "engine_in_training_corpus": engine in train_engines}
            print(f"{args.label} {name}: held-out engine {engine}: {per_engine[engine]['accuracy']:.4f} "
                  f"({per_engine[engine]['n']} clips)", flush=True)
        voice = metrics[None]
        # An older corpus' model is also tested on the newer corpus' voice-held-out split.
        voice_there = test_on(runs[None], test_data, None) if test_data != train_data else None
        loeo = float(np.mean([r["accuracy"] for r in per_engine.values()]))
        results["models"][name] = {
            "config": cfg.mfcc, "model_kwargs": cfg.model_kwargs, "params": voice["params"],
            "voice_heldout_accuracy": voice["accuracy"], "voice_heldout_n": voice["n"],
            "voice_heldout_on_test_data": voice_there,
            "held_out_engine": per_engine, "mean_held_out_engine_accuracy": loeo,
            "gap_points": round(100 * (voice["accuracy"] - loeo), 2),
            "train_wall_s": {str(e or "voices"): round(m["wall_time_s"], 1) for e, m in metrics.items()},
            "settings": voice["settings"]}
        print(f"{args.label} {name}: voice-held-out {voice['accuracy']:.4f}, mean held-out engine {loeo:.4f}, "
              f"gap {results['models'][name]['gap_points']} points", flush=True)
    results.update({"wall_s": round(time.perf_counter() - start, 1), "load_average": os.getloadavg(),
                    "threads": args.threads, "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
                    "machine": f"{platform.machine()}, {os.cpu_count()} CPUs", "versions": versions(),
                    "note": args.note})
    everything = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {"benchmark": "generalisation"}
    # Models measured by an earlier invocation under the same label stay (one model per invocation is fine).
    results["models"] = {**everything.get(args.label, {}).get("models", {}), **results["models"]}
    everything[args.label] = results
    write_text_atomic(RESULTS, json.dumps(everything, indent=2) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
