"""`dadarts data features`: compute (or find cached) MFCC features of every split for a data space."""
from __future__ import annotations

import argparse
import time

from .info_command import add_data_arguments, names_of


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_data_arguments(p)
    p.add_argument("--data-space", default=None, help="configurations W/H/M,... (default: the 8 of the paper)")
    p.add_argument("--device", default="auto")


def run(args) -> int:
    from tqdm import tqdm

    from ..device import pick_device
    from ..frontend.spec import parse_space
    from .datasets import SPLITS, load_dataset
    from .features import load_audio_split, load_features
    space = parse_space(args.data_space)
    device = pick_device(args.device)
    ds = load_dataset(args.data, args.task, names_of(args))
    n = sum(len(ds.splits[s]) for s in SPLITS)
    start = time.perf_counter()
    for split in SPLITS:
        load_audio_split(ds, split)
    for config in tqdm(space, desc="features", unit="config"):
        for split in SPLITS:
            load_features(ds, split, config, device)
    seconds = time.perf_counter() - start
    print(f"{n} clips x {len(space)} configurations ready in {seconds:.1f} s "
          f"({n * len(space) / max(seconds, 1e-9):.0f} clip-configurations/s, cached for reuse)")
    return 0
