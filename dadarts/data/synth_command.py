"""`dadarts data synth`: write the synthetic TTS corpus in Speech Commands layout."""
from __future__ import annotations

import argparse

from ..errors import UserError


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", required=True, help="new folder for the corpus")
    p.add_argument("--words", default=None, help="comma-separated words (default: the 35 Speech Commands words)")
    p.add_argument("--voices", type=int, default=200, help="number of synthetic voices (default 200)")
    p.add_argument("--repeats", type=int, default=2, help="clips per word and voice, each with new rate/pitch (default 2)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--jobs", type=int, default=None, help="worker processes (default: all cores)")


def run(args) -> int:
    from .synth import GSC35_WORDS, SynthSettings, synthesize
    words = tuple(w.strip().lower() for w in args.words.split(",") if w.strip()) if args.words else GSC35_WORDS
    if args.repeats < 1:
        raise UserError("--repeats must be at least 1.")
    settings = SynthSettings(words=words, voices=args.voices, repeats=args.repeats, seed=args.seed)
    summary = synthesize(args.out, settings, jobs=args.jobs)
    print(f"wrote {summary['clips']} clips of {summary['words']} words to {args.out} "
          f"({summary['clips_per_s']} clips/s); voices per split: {summary['voices']}")
    return 0
