"""`dadarts calibrate RUN --max-fa-per-hour X`: recogniser settings for a false-accept target.

Chooses averaging window, threshold and suppression on a calibration stream built from the validation
split (see dadarts/evaluate/calibrate.py), writes them to RUN/export/recognizer.json and regenerates
RUN/export/firmware/recognizer_settings.h, and keeps the search in RUN/stream/calibration.json
(kind "stream_calibration"). Then it measures the chosen settings on the held-out test stream of the
same recipe and prints the device's operating point - one threshold, with its averaging and
suppression, chosen on the calibration stream; FRR and false accepts per hour (95 % interval) on the
test stream - saved with the clip accuracy beside it in RUN/stream/operating_point.json (kind
"operating_point"). A run whose firmware runs the step model (`dadarts export --int8 --streaming`) is
calibrated with `--streaming`: the step model's scores, one decision per step.
"""
from __future__ import annotations

import argparse

KIND = "stream_calibration"
OPERATING_POINT_KIND = "operating_point"


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
    from .stream_command import add_model_arguments, add_stream_arguments
    p.add_argument("run", help="run directory exported with `dadarts export RUN --int8`")
    p.add_argument("--max-fa-per-hour", type=float, required=True, metavar="X",
                   help="false accepts per hour allowed on the calibration stream, all keywords together")
    p.add_argument("--every-hops", type=int, help="run the model every N hops (default: the run's current setting)")
    p.add_argument("--streaming", action="store_true",
                   help="calibrate the step model (a run exported with --int8 --streaming, whose firmware runs it): "
                        "one decision per step, its states fed back, as the device decides")
    p.add_argument("--windows", default=",".join(map(str, WINDOWS_MS)), metavar="MS,...",
                   help="averaging windows to try (default %(default)s)")
    p.add_argument("--suppressions", default=",".join(map(str, SUPPRESSIONS_MS)), metavar="MS,...",
                   help="suppression times to try (default %(default)s)")
    add_stream_arguments(p, "calibration (and test)")
    add_model_arguments(p)


def _device_model(models, args):
    """`models` with the step model when the device runs it (--streaming); a UserError when the flag and the
    run's firmware build disagree, since the settings would be calibrated on another model's scores."""
    from ..errors import UserError
    from ..firmware.runio import step_build as is_step_build
    from .runmodels import load_step
    step_build = is_step_build(models.run.firmware)
    if args.streaming != step_build:
        raise UserError(f"{models.run.firmware} holds the {'step' if step_build else 'whole-window'} model's build: "
                        + ("add --streaming to calibrate the model the device runs." if step_build else
                           f"run `dadarts export {models.run.root} --int8 --streaming` first, or drop --streaming."))
    if args.streaming and args.every_hops is not None:
        raise UserError("--every-hops sets the whole-window model's stride: the step model decides once per step "
                        "(dadarts export --streaming --frames-per-step N); drop --every-hops.")
    return load_step(models, exact=args.exact) if args.streaming else models


def run(args) -> int:
    from dataclasses import replace

    from ..errors import UserError
    from ..export.recognizer_settings import write_recognizer_files
    from ..rundir import read_json, record_run, write_json_atomic
    from . import session
    from .calibrate import calibrate
    from .runmodels import load_run
    from .stream_command import headline, print_metrics

    if not args.max_fa_per_hour >= 0 or (args.minutes is not None and not args.minutes > 0) or args.threads < 1:
        raise UserError("--max-fa-per-hour must be 0 or more, --minutes positive and --threads at least 1.")
    windows, suppressions = _ints(args.windows, "--windows", 1), _ints(args.suppressions, "--suppressions", 0)
    models = load_run(args.run, need_int8=True, threads=args.threads, exact=args.exact)
    if not models.run.firmware.is_dir():
        raise UserError(f"{models.run.firmware} is missing: run `dadarts export {models.run.root} --int8` first.")
    models = _device_model(models, args)
    base = session.at_model_rate(models, session.run_settings(models))
    if args.every_hops is not None:            # the whole-window model's stride (refused with --streaming)
        base = replace(base, inference_every_hops=args.every_hops)
    ds = session.stream_dataset(models, args.data)
    wav, truth = session.run_stream(models, ds, "validation", args.minutes, args.recipe)
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
    scale, zp = (models.step or models.int8).output_quant      # the scores the firmware's model gives
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
    test_wav, test_truth = session.run_stream(models, ds, "testing", args.minutes, args.recipe)
    on_test = session.metrics(models, session.model_outputs(models, test_wav, settings.inference_every_hops),
                              test_truth, settings)
    keep = ("false_reject_rate", "events", "misses", "false_accepts", "false_accepts_per_hour")
    op_path = models.run.root / "stream" / "operating_point.json"
    clip = models.run.train_metrics
    write_json_atomic(op_path, {
        "settings": settings.to_dict(), "target_fa_per_hour": args.max_fa_per_hour, "recipe": args.recipe,
        "calibration": {"stream": str(wav), "hours": on_stream["hours"], **on_stream["operating_point"]},
        "test": {"stream": str(test_wav), "hours": on_test["hours"], **on_test["operating_point"],
                 "per_keyword": {k: {f: v[f] for f in keep} for k, v in on_test["per_keyword"].items()}},
        "clip_accuracy": read_json(clip, "train_metrics")["accuracy"] if clip.is_file() else None}, kind=OPERATING_POINT_KIND)
    print(headline(on_stream, f"the {on_stream['hours']:.1f}-hour calibration stream"))
    print(headline(on_test, f"the {on_test['hours']:.1f}-hour held-out test stream"))
    record_run(models.run, "calibrate", args._argv, max_fa_per_hour=args.max_fa_per_hour)
    print(f"wrote {path}, {op_path}, {', '.join(str(f) for f in files)}")
    return 0
