"""`dadarts data synth`: write the synthetic TTS corpus in Speech Commands layout."""
from __future__ import annotations

import argparse

from ..errors import UserError


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", required=True, help="new folder for the corpus")
    p.add_argument("--words", default=None, help="comma-separated words or phrases, each in the folder its text names (\"hey kettle\" -> hey_kettle; default: the 35 Speech Commands words)")
    p.add_argument("--scale", type=float, default=1.0,
                   help="voices relative to the built-in corpus (default 1: 1 000 voices x 1 rendition = 1 000 utterances "
                        "per word); 0.5 builds half in half the time, 2 twice the speech")
    p.add_argument("--voices", type=int, default=None, help="number of synthetic voices (overrides --scale)")
    p.add_argument("--repeats", type=int, default=None,
                   help="clips per word and voice, each with new rate/pitch (default 1: more voices pay more)")
    p.add_argument("--clip-ms", type=int, default=1000,
                   help="clip length in ms (default %(default)s): a phrase longer than a word needs a longer window, "
                        "e.g. 2000; each text is placed anywhere in its clip")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--jobs", type=int, default=None, help="worker processes (default: all cores)")


def run(args) -> int:
    from .synth import GSC35_WORDS, SynthSettings, synthesize
    words = tuple(w.strip().lower() for w in args.words.split(",") if w.strip()) if args.words else GSC35_WORDS
    if args.repeats is None:
        args.repeats = SynthSettings.repeats
    if args.repeats < 1:
        raise UserError("--repeats must be at least 1.")
    settings = SynthSettings.scaled(args.scale, words=words, repeats=args.repeats, seed=args.seed, clip_ms=args.clip_ms)
    if args.voices is not None:
        settings = SynthSettings(words=words, voices=args.voices, repeats=args.repeats, seed=args.seed,
                                 clip_ms=args.clip_ms)
    summary = synthesize(args.out, settings, jobs=args.jobs)
    print(f"wrote {summary['clips']} clips of {summary['words']} words to {args.out} in {summary['seconds']:.0f} s "
          f"({summary['clips_per_s']} clips/s); {summary['utterances_per_word']} utterances per word "
          f"({summary['train_utterances_per_word']} dry, for training); voices per split: {summary['voices']}; "
          f"base voices per split and engine: {summary['base_voices']}")
    return 0
