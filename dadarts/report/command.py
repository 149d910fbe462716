"""`dadarts report RUN`: write RUN/report.html, one self-contained page of the run's figures.

    dadarts report runs/demo
    dadarts report runs/demo --compare runs/ds-cnn-s --compare runs/mobilenet --target NUCLEO-F767ZI
"""
from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("run", help="run directory (any stage done: search, train, export, mcu-eval, ...)")
    p.add_argument("--compare", action="append", default=[], metavar="RUN_OR_CSV",
                   help="a trained run, or a `dadarts compare --out` folder / compare.csv, to compare with "
                        "(repeatable)")
    p.add_argument("--target", metavar="BOARD",
                   help="board whose estimated latency the comparison plots (default: the one most runs have)")
    p.add_argument("--out", metavar="HTML", help="where to write the page (default RUN/report.html)")


def run(args) -> int:
    from .build import write_report

    out, sections = write_report(args.run, args.out, args.compare, args.target)
    figures = sum(1 for s in sections for _ in _figures(s.items))
    print(f"report: {', '.join(s.title.lower() for s in sections)} ({figures} figures) -> {out}")
    return 0


def _figures(items):
    from .page import Details, Figure
    for item in items:
        if isinstance(item, Figure):
            yield item
        elif isinstance(item, Details):
            yield from _figures(item.items)
