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


def add_holdout_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("--holdout-engine", metavar="ENGINE", default=None,
                   help="synthetic corpus: leave this engine family's voices out of train and validation and "
                        "test on all of them (espeak, mbrola, pico, rhvoice or piper)")


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_data_arguments(p)
    add_holdout_argument(p)
    add_name_augment_arguments(p)


def run(args) -> int:
    from .datasets import dataset_summary, load_dataset
    print(dataset_summary(load_dataset(args.data, args.task, names_of(args), name_augment=name_augment_of(args),
                                       holdout_engine=args.holdout_engine)))
    return 0


def add_name_augment_arguments(p: argparse.ArgumentParser) -> None:
    """Flags of the names task's balancing (training split only; see dadarts.data.name_augment)."""
    from .name_augment import NameAugment
    d = NameAugment()
    g = p.add_argument_group("names task: balancing the training split with augmented copies of the names")
    g.add_argument("--name-balance", type=float, default=d.balance,
                   help=f"grow each name towards this fraction of the _unknown_ count (default {d.balance}; 0: off)")
    g.add_argument("--name-max-copies", type=int, default=d.max_copies,
                   help=f"augmented copies per name clip at most (default {d.max_copies})")
    g.add_argument("--name-pitch", type=float, default=d.pitch_semitones,
                   help=f"pitch shift range ± semitones (default {d.pitch_semitones})")
    g.add_argument("--name-stretch", type=float, default=d.stretch,
                   help=f"time stretch range: tempo 1 ± this (default {d.stretch})")
    g.add_argument("--name-reverb-prob", type=float, default=d.reverb_prob,
                   help=f"share of copies with reverberation (default {d.reverb_prob})")
    g.add_argument("--name-rt60", default=",".join(map(str, d.rt60_s)), metavar="LO,HI",
                   help="reverberation time range in seconds (default %(default)s)")
    g.add_argument("--name-noise-prob", type=float, default=d.noise_prob,
                   help=f"share of copies mixed with background noise (default {d.noise_prob})")
    g.add_argument("--name-snr", default=",".join(map(str, d.snr_db)), metavar="LO,HI",
                   help="noise SNR range in dB (default %(default)s)")


def name_augment_of(args):
    """The NameAugment the flags describe (None when balancing is off)."""
    from ..errors import UserError
    from .name_augment import NameAugment

    def pair(text: str, flag: str) -> tuple[float, float]:
        try:
            lo, hi = (float(v) for v in str(text).split(","))
        except ValueError:
            raise UserError(f"{flag} takes two numbers LO,HI (got '{text}').") from None
        if not 0 <= lo <= hi:
            raise UserError(f"{flag} needs 0 <= LO <= HI (got '{text}').")
        return lo, hi

    if args.name_balance <= 0:
        return None
    for flag, value in (("--name-reverb-prob", args.name_reverb_prob), ("--name-noise-prob", args.name_noise_prob)):
        if not 0 <= value <= 1:
            raise UserError(f"{flag} is a probability: give a value between 0 and 1.")
    if not 0 <= args.name_stretch < 1 or args.name_pitch < 0 or args.name_max_copies < 0:
        raise UserError("--name-stretch must be in [0, 1), --name-pitch and --name-max-copies non-negative.")
    rt60 = pair(args.name_rt60, "--name-rt60")
    if rt60[0] <= 0:
        raise UserError("--name-rt60 needs a reverberation time above 0 s.")
    return NameAugment(balance=args.name_balance, max_copies=args.name_max_copies, pitch_semitones=args.name_pitch,
                       stretch=args.name_stretch, reverb_prob=args.name_reverb_prob, rt60_s=rt60,
                       noise_prob=args.name_noise_prob, snr_db=pair(args.name_snr, "--name-snr"))
