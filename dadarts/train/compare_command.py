"""`dadarts compare RUN...`: print and write the comparison table (markdown, CSV) and an accuracy-vs-params plot."""
from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("runs", nargs="+", metavar="RUN", help="trained run directories")
    p.add_argument("--targets", metavar="NAME,...", help="MCU targets whose estimated latency gets a column "
                   "(default: every target in the runs' mcu/estimates.json)")
    p.add_argument("--out", metavar="DIR", help="where to write compare.md/.csv/.png (default: <parent of first RUN>/compare)")


def run(args) -> int:
    from pathlib import Path

    from .compare import compare

    out = Path(args.out) if args.out else Path(args.runs[0]).resolve().parent / "compare"
    targets = [t.strip() for t in args.targets.split(",") if t.strip()] if args.targets else None
    text, paths = compare(args.runs, out, targets)
    print(text)
    print("\nwritten: " + ", ".join(str(p) for p in paths.values()))
    return 0
