"""`dadarts stream RUN [AUDIO.wav]`: keyword detections over a recording, as the firmware would make them.

With --streaming the step model runs instead (one decision per step; files named *-streaming*).
With a recording: its detections with time stamps (RUN/stream/<name>.detections.json, kind
"stream_detections"), scored when --truth gives its keyword times. With --from-folder DIR: a stream
made of a Speech Commands folder's clips (folder_stream.py), scored into RUN/stream/folder-<name>.json.
Without either: the long-form test stream of the run's dataset (built once, cached; recipe "talk" by
default, --recipe v1 for the first one), scored per keyword - false-reject rate and false accepts per
hour at the run's recogniser settings and over every threshold - into RUN/stream/metrics.json (kind
"stream_metrics"). The headline is the operating point: the run's one threshold (with its averaging
and suppression), its false-reject rate and its false accepts per hour with their 95 % interval.
"""
from __future__ import annotations

import argparse

DETECTIONS_KIND = "stream_detections"
METRICS_KIND = "stream_metrics"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("run", help="run directory exported with `dadarts export RUN --int8`")
    p.add_argument("audio", nargs="?", metavar="AUDIO.wav",
                   help="a recording (any rate, mono or stereo); default: the run's long-form test stream")
    p.add_argument("--truth", metavar="FILE.json", help="keyword times of AUDIO (kind stream_truth, see docs/evaluate.md)")
    p.add_argument("--from-folder", metavar="DIR",
                   help="score a stream built from a Speech Commands-layout folder: its clips in order, with gaps of "
                        "its own _background_noise_ clips (for measuring only; never calibrate on it)")
    p.add_argument("--streaming", action="store_true",
                   help="run the step model (dadarts export --int8 --streaming): N new frames per Invoke, states fed "
                        "back, one decision per step after its warm-up, as a step build of the firmware does")
    add_stream_arguments(p, "test")
    add_model_arguments(p)


def add_stream_arguments(p: argparse.ArgumentParser, which: str) -> None:
    """The long-form stream a command builds (shared with calibrate)."""
    p.add_argument("--recipe", default="talk", choices=["talk", "v1"],
                   help=f"long-form {which} stream recipe: talk (default; 300 min, words and voices training never "
                        f"used, noises it never heard) or v1 (the first recipe, 60 min; for comparison)")
    p.add_argument("--minutes", type=float, help=f"length of the long-form {which} stream (default: the recipe's)")
    p.add_argument("--data", metavar="DIR", help=f"dataset the {which} stream is built from (default: the run's)")


def add_model_arguments(p: argparse.ArgumentParser) -> None:
    """How the int8 model runs over a stream (shared with calibrate)."""
    p.add_argument("--threads", type=int, default=1, help="CPU threads for LiteRT (default 1)")
    p.add_argument("--exact", action="store_true",
                   help="LiteRT's reference kernels, whose outputs TFLite Micro reproduces (about 4x slower); by "
                        "default the optimised kernels, a few LSB off the device's outputs")


def headline(m: dict, what: str) -> str:
    """The operating point in one line: one threshold, its false-reject rate, its false accepts per hour
    with their 95 % interval and the hours they were counted in."""
    from .scoring import describe_fa
    op, s = m["operating_point"], m["settings"]
    return (f"operating point on {what}: threshold {s['detection_threshold']}, window {s['average_window_ms']} ms, "
            f"suppression {s['suppression_ms']} ms -> FRR {op['false_reject_rate'] * 100:.1f} % "
            f"({op['misses']} of {op['events']} keywords missed), {describe_fa(op['false_accepts'], m['hours'])}")


def print_metrics(m: dict) -> None:
    pct = lambda v: "-" if v is None else f"{v * 100:.1f} %"  # noqa: E731
    s = m["settings"]
    print(f"recogniser: window {s['average_window_ms']} ms, threshold {s['detection_threshold']}, suppression "
          f"{s['suppression_ms']} ms, minimum count {s['minimum_count']}, model every {s['inference_every_hops']} "
          f"hops (history {s['history']})")
    rows = [(k, v) for k, v in m["per_keyword"].items()] + [("all", {**m["operating_point"],
                                                                     "frr_at_1_fa_per_hour": m["frr_at_1_fa_per_hour"]})]
    width = max(5, *(len(k) for k, _ in rows))
    print(f"  {'word':<{width}}  {'said':>5}  {'missed':>6}  {'FRR':>7}  {'FA':>4}  {'FA/h':>6}  {'FRR at 1 FA/h':>13}")
    for k, v in rows:
        print(f"  {k:<{width}}  {v['events']:>5}  {v['misses']:>6}  {pct(v['false_reject_rate']):>7}  "
              f"{v['false_accepts']:>4}  {v['false_accepts_per_hour']:>6.2f}  {pct(v['frr_at_1_fa_per_hour']):>13}")


def run(args) -> int:
    from pathlib import Path

    from ..errors import UserError
    from ..rundir import record_run, write_json_atomic
    from . import session
    from .folder_stream import cached_folder_stream
    from .longform import read_truth
    from .runmodels import load_run, load_step
    from .streaming import detections

    if args.threads < 1 or (args.minutes is not None and not args.minutes > 0):
        raise UserError("--threads must be at least 1 and --minutes positive.")
    if args.truth and not args.audio:
        raise UserError("--truth describes a recording: give the recording too (dadarts stream RUN AUDIO.wav --truth FILE).")
    if args.from_folder and args.audio:
        raise UserError("Give a recording or --from-folder DIR, not both.")
    models = load_run(args.run, need_int8=True, threads=args.threads, exact=args.exact)
    settings = session.run_settings(models)
    if args.streaming:
        models = load_step(models, exact=args.exact)
        stepped = session.at_model_rate(models, settings)
        if stepped != settings:     # settings written for the whole-window model
            print(f"recogniser: one decision per step of {stepped.inference_every_hops} frames (export/recognizer.json "
                  f"has one every {settings.inference_every_hops} hops, for the whole-window model)")
            settings = stepped
    if args.audio:
        wav = Path(args.audio)
        if not wav.is_file():
            raise UserError(f"{wav} does not exist: give a WAV recording.")
        truth = read_truth(args.truth, session.wav_seconds(wav), models.keywords) if args.truth else None
    elif args.from_folder:
        wav, truth = cached_folder_stream(args.from_folder, models.keywords)
    else:
        wav, truth = session.run_stream(models, session.stream_dataset(models, args.data, measuring=True), "testing",
                                        args.minutes, args.recipe)
    out = session.model_outputs(models, wav, settings.inference_every_hops)
    _, found = detections(models, out, settings)
    result = {"run": str(models.run.root), "audio": str(wav), "seconds": out.seconds,
              "throughput": session.throughput(out)}
    tag = "-streaming" if args.streaming else ""     # the step model's figures beside the whole-window model's
    if args.streaming:
        result["streaming"] = {k: models.step_meta[k] for k in ("frames_per_step", "warmup_steps", "time_stride")}
    if not args.audio:
        result.update(stream={"wav": str(wav), "split": truth["split"], "seconds": truth["seconds"],
                              "events": len(truth["events"]), "keyword_events": sum(e["keyword"] for e in truth["events"]),
                              "recipe": truth["recipe"]},
                      detections=len(found), **session.metrics(models, out, truth, settings))
        if args.from_folder:
            path = models.run.root / "stream" / f"folder-{Path(args.from_folder).resolve().name}{tag}.json"
            what = f"the {truth['seconds'] / 3600:.1f}-hour stream of {args.from_folder}"
        else:
            path = models.run.root / "stream" / f"metrics{tag}.json"
            what = f"the {truth['seconds'] / 3600:.1f}-hour '{truth['recipe'].get('recipe', 'v1')}' test stream"
        write_json_atomic(path, result, kind=METRICS_KIND)
        print(f"stream {wav} ({truth['seconds'] / 60:.1f} min, {result['stream']['events']} words of which "
              f"{result['stream']['keyword_events']} keywords; {truth['split']}): {len(found)} detections")
        print_metrics(result)
        print(headline(result, what))
    else:
        result["detections"] = [{"time_s": d.time_s, "label": d.label, "score": d.score} for d in found]
        if truth is not None:
            result["metrics"] = session.metrics(models, out, truth, settings)
        path = models.run.root / "stream" / f"{wav.stem}{tag}.detections.json"
        write_json_atomic(path, result, kind=DETECTIONS_KIND)
        for d in found:
            print(f"{d.time_s:10.3f} s  {d.label}  (score {d.score})")
        print(f"{len(found)} detections in {out.seconds / 60:.1f} min")
        if truth is not None:
            print_metrics(result["metrics"])
            print(headline(result["metrics"], str(wav)))
    t = result["throughput"]
    if t["audio_hours_per_minute"]:
        print(f"throughput: {t['audio_hours_per_minute']:.3f} hours of audio per minute ({t['inferences']} inferences; "
              f"front-end {t['frontend_s']:.1f} s, model {t['inference_s']:.1f} s, {t['threads']} thread(s))")
    record_run(models.run, "stream", args._argv)
    print(f"wrote {path}")
    return 0
