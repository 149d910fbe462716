"""Featurisation throughput: clips/s to compute MFCCs of a corpus under every configuration of the space.

Measures, on the built-in corpus (or --data), with a throw-away cache so nothing is reused:
reading + decoding the WAVs of every split once, then the batched torch MFCC per configuration,
then a warm re-load from the cache. Prints a table and saves benchmarks/results/features.json.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

from dadarts.rundir import write_text_atomic

RESULTS = Path(__file__).resolve().parent / "results"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", default=None)
    parser.add_argument("--task", default="gsc35")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()

    from dadarts.data.datasets import SPLITS, load_dataset
    ds = load_dataset(args.data, args.task)          # resolves/generates the corpus with the real cache
    os.environ["DADARTS_CACHE"] = tempfile.mkdtemp(prefix="dadarts-bench-")   # then measure cold
    import torch

    from dadarts.data.features import load_audio_split, load_features
    from dadarts.frontend.spec import DEFAULT_SPACE

    n = sum(len(ds.splits[s]) for s in SPLITS)
    t0 = time.perf_counter()
    for s in SPLITS:
        load_audio_split(ds, s)
    read_s = time.perf_counter() - t0
    per_config = {}
    for config in DEFAULT_SPACE:
        t = time.perf_counter()
        for s in SPLITS:
            load_features(ds, s, config, args.device)
        per_config[config.name] = round(n / (time.perf_counter() - t), 1)
    compute_s = time.perf_counter() - t0 - read_s
    t = time.perf_counter()
    for config in DEFAULT_SPACE:
        for s in SPLITS:
            load_features(ds, s, config)
    warm_s = time.perf_counter() - t
    result = {
        "dataset": str(ds.root), "task": ds.task, "clips": n, "configs": len(DEFAULT_SPACE),
        "device": args.device, "torch_threads": torch.get_num_threads(), "cpu": platform.processor() or platform.machine(),
        "cores": len(os.sched_getaffinity(0)),
        "read_wav_clips_per_s": round(n / read_s, 1),
        "mfcc_clips_per_s_per_config": per_config,
        "all_configs_clip_per_s": round(n / compute_s, 1),
        "all_configs_seconds": round(compute_s, 2),
        "cached_reload_seconds_all_configs": round(warm_s, 3),
    }
    print(f"{n} clips, {len(DEFAULT_SPACE)} configurations on {args.device} ({result['cores']} cores)")
    print(f"  read WAVs          {result['read_wav_clips_per_s']:>9} clips/s")
    for name, v in per_config.items():
        print(f"  MFCC {name:<12}  {v:>9} clips/s")
    print(f"  all 8 configs      {result['all_configs_clip_per_s']:>9} clips/s ({compute_s:.1f} s)")
    print(f"  cached reload      {warm_s:>9.3f} s for all configs")
    write_text_atomic(RESULTS / "features.json", json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
