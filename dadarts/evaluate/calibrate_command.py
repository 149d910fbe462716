"""`dadarts calibrate RUN --max-fa-per-hour X`: recogniser settings for a false-accept target.

Chooses averaging window, threshold and suppression on a calibration stream built from the validation
split (see dadarts/evaluate/calibrate.py), writes them to RUN/export/recognizer.json and regenerates
RUN/export/firmware/recognizer_settings.h, and keeps the search in RUN/stream/calibration.json
(kind "stream_calibration"). `dadarts stream RUN` then measures them on the held-out test stream.
"""
from __future__ import annotations

import argparse

KIND = "stream_calibration"


def _ints(text: str, flag: str, least: int) -> tuple[int, ...]:
    """Comma-separated milliseconds, each at least `least` (an averaging window of 0 ms holds no result:
    recognizer.c refuses it)."""
    from ..errors import UserError
    try:
        values = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        values = ()
    if not values or min(values) < least:
        raise UserError(f"{flag} takes comma-separated milliseconds of at least {least}, e.g. 500,1000: got '{text}'.")
    return values


def add_arguments(p: argparse.ArgumentParser) -> None:
    from .calibrate import SUPPRESSIONS_MS, WINDOWS_MS
    from .stream_command import add_model_arguments
    p.add_argument("run", help="run directory exported with `dadarts export RUN --int8`")
    p.add_argument("--max-fa-per-hour", type=float, required=True, metavar="X",
                   help="false accepts per hour allowed on the calibration stream, all keywords together")
    p.add_argument("--minutes", type=float, default=60.0, help="length of the calibration stream (default 60)")
    p.add_argument("--every-hops", type=int, help="run the model every N hops (default: the run's current setting)")
    p.add_argument("--windows", default=",".join(map(str, WINDOWS_MS)), metavar="MS,...",
                   help="averaging windows to try (default %(default)s)")
    p.add_argument("--suppressions", default=",".join(map(str, SUPPRESSIONS_MS)), metavar="MS,...",
                   help="suppression times to try (default %(default)s)")
    p.add_argument("--data", metavar="DIR", help="dataset the calibration stream is built from (default: the run's)")
    add_model_arguments(p)


def run(args) -> int:
    from dataclasses import replace

    from ..errors import UserError
    from ..export.recognizer_settings import write_recognizer_files
    from ..rundir import record_run, write_json_atomic
    from . import session
    from .calibrate import calibrate
    from .runmodels import load_run
    from .stream_command import print_metrics

    if not args.max_fa_per_hour >= 0 or not args.minutes > 0 or args.threads < 1:
        raise UserError("--max-fa-per-hour must be 0 or more, --minutes positive and --threads at least 1.")
    windows, suppressions = _ints(args.windows, "--windows", 1), _ints(args.suppressions, "--suppressions", 0)
    models = load_run(args.run, need_int8=True, threads=args.threads, exact=args.exact)
    if not models.run.firmware.is_dir():
        raise UserError(f"{models.run.firmware} is missing: run `dadarts export {models.run.root} --int8` first.")
    base = session.run_settings(models)
    if args.every_hops is not None:
        base = replace(base, inference_every_hops=args.every_hops)
    wav, truth = session.run_stream(models, session.stream_dataset(models, args.data), "validation", args.minutes)
    out = session.model_outputs(models, wav, base.inference_every_hops)
    print(f"calibration stream {wav} ({truth['seconds'] / 60:.1f} min, validation split); target "
          f"{args.max_fa_per_hour:g} false accepts per hour")
    result = calibrate(models, out, truth, base, args.max_fa_per_hour, windows, suppressions)
    settings = result.pop("settings")
    on_stream = session.metrics(models, out, truth, settings)
    result.update(stream={"wav": str(wav), "split": "validation", "seconds": truth["seconds"],
                          "events": len(truth["events"]), "recipe": truth["recipe"]},
                  hours=on_stream["hours"], curve=on_stream["curve"], per_keyword=on_stream["per_keyword"])
    path = models.run.root / "stream" / "calibration.json"
    write_json_atomic(path, result, kind=KIND)
    scale, zp = models.int8.output_quant
    files = write_recognizer_files(models.run.export, models.run.firmware, settings, models.config, scale, zp,
                                   models.run.root.resolve().name, origin="calibrate",
                                   provenance={"target_fa_per_hour": args.max_fa_per_hour, "calibration": str(path),
                                               "stream": str(wav), "false_reject_rate": result["chosen"]["false_reject_rate"],
                                               "false_accepts_per_hour": result["chosen"]["false_accepts_per_hour"]})
    print("chosen on the calibration stream:")
    print_metrics(on_stream)
    if result["chosen"]["false_reject_rate"] == 1.0:
        print("warning: at this target the recogniser detects nothing on the calibration stream; the model "
              "needs more training, or allow more false accepts.")
    record_run(models.run, "calibrate", args._argv, max_fa_per_hour=args.max_fa_per_hour)
    print(f"wrote {path}, {', '.join(str(f) for f in files)}; measure on the test stream: "
          f"dadarts stream {models.run.root}")
    return 0
