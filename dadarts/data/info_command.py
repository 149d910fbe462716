"""`dadarts data info`: check a Speech Commands-layout folder and print its classes and splits."""
from __future__ import annotations

import argparse


def add_data_arguments(p: argparse.ArgumentParser) -> None:
    """--data / --task / --names, shared by every command that reads a dataset."""
    p.add_argument("--data", default=None,
                   help="Speech Commands-layout folder (default: the built-in synthetic corpus)")
    p.add_argument("--task", default="gsc12", choices=("gsc35", "gsc12", "names"),
                   help="gsc35: 35 words; gsc12: 10 words + silence + unknown; names: name detection")
    p.add_argument("--names", default=None, help="names for --task names, comma-separated (default marvin,sheila)")


def names_of(args) -> tuple[str, ...] | None:
    return tuple(n.strip() for n in args.names.split(",") if n.strip()) if getattr(args, "names", None) else None


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_data_arguments(p)


def run(args) -> int:
    from .datasets import dataset_summary, load_dataset
    print(dataset_summary(load_dataset(args.data, args.task, names_of(args))))
    return 0
