"""`dadarts wakeword "hey kettle" --target BOARD --run RUN`: a wake-word detector from its text alone.

One command chains the stages a user would otherwise run by hand, each exactly as its own command
runs it (the command lines are printed and recorded in RUN/run.json):

1. corpus (RUN/corpus/): the phrase(s) said by every voice of every engine but one, its near misses
   (data/wakeword_words.py) by every voice, a few hundred other words by a share of the voices;
   splits disjoint by base voice; training speech dry (rooms, microphones, noise and babble are drawn
   per example in training). RUN/heldout-<engine>/: the engine kept out of everything, all of its
   voices saying the same words, a measure-only folder.
2. `dadarts search --task names --names LABELS` under the board's budget;
3. `dadarts train` (stream-aware: a quarter of every batch cut from short streams with the phrase
   cut at the window's edge, between other words, gaps of noise);
4. `dadarts export --int8`;
5. `dadarts calibrate --max-fa-per-hour X` on a long negative "talk" stream of the validation voices
   (5 hours by default), measured on the test voices' stream;
6. `dadarts stream --from-folder RUN/heldout-<engine>`: the held-out engine at the calibrated settings;
7. `dadarts firmware build --tflm` for the board, when it has a firmware preset.

A stage whose artifact exists is skipped (search and train continue from their checkpoints), so a
re-run after an interruption goes on where it stopped. RUN/wakeword.json keeps the request: the same
run directory refuses another phrase or scale. The console ends with the operating point, and the
same figures go to RUN/wakeword/result.json (kind "wakeword_result").
"""
from __future__ import annotations

import argparse
import os
import shutil
from pathlib import Path

REQUEST_KIND = "wakeword_request"
RESULT_KIND = "wakeword_result"
DEFAULT_HOLDOUT = "rhvoice"       # six base voices: the held-out engine with the most speakers after espeak, mbrola
SEARCH_MAX_TRAIN = 10_000          # the search's training clips per epoch, as in the README's main job
DEFAULT_CLIP_MS = 1000             # the front-end's default clip (frontend/spec.py CLIP_SAMPLES)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("phrase", help='the wake word or phrase, as the speech engines should say it, e.g. "hey kettle"')
    p.add_argument("--also", action="append", default=[], metavar="PHRASE",
                   help="another phrase to detect with the same model (repeatable)")
    p.add_argument("--target", required=True, metavar="BOARD",
                   help="board to search for and build the firmware for (dadarts mcu-eval's targets, e.g. NUCLEO-F446RE)")
    p.add_argument("--run", required=True, help="run directory (created; a re-run continues it)")
    p.add_argument("--max-fa-per-hour", type=float, default=1.0, metavar="X",
                   help="false accepts per hour the recogniser may make on the calibration stream (default 1)")
    p.add_argument("--clip-ms", type=int, default=None, metavar="MS",
                   help="the window the detector hears, in ms (default: 1000, or the 500 ms step that holds the "
                        "longest phrase said at the voices' own pace, up to 3000)")
    g = p.add_argument_group("scale (defaults: the full setting)")
    g.add_argument("--scale", type=float, default=1.0,
                   help="voices relative to the built-in corpus (1: 1 000 voices say the phrase and its near misses)")
    g.add_argument("--other-words", type=int, default=None, metavar="N",
                   help="other words as negatives, beside the near misses (default: all of the list, about 290)")
    g.add_argument("--other-every", type=int, default=10, metavar="K",
                   help="each other word is said by every K-th voice (default %(default)s)")
    g.add_argument("--search-args", default="", metavar="'ARGS'",
                   help="more options for dadarts search, e.g. '--epochs 10 --batch-size 32' (default: its cpu preset)")
    g.add_argument("--search-max-train", type=int, default=SEARCH_MAX_TRAIN, metavar="N",
                   help="training clips the search draws on (default %(default)s; 0: all)")
    g.add_argument("--epochs", type=int, default=40, help="training epochs (default %(default)s)")
    g.add_argument("--train-args", default="", metavar="'ARGS'", help="more options for dadarts train, e.g. '--batch-size 32'")
    g.add_argument("--stream-minutes", type=float, default=300.0,
                   help="length of the calibration and of the test stream (default %(default)s: 5 hours each)")
    p.add_argument("--holdout-engine", default=DEFAULT_HOLDOUT, metavar="ENGINE",
                   help=f"speech engine kept out of training and calibration, for measuring (default {DEFAULT_HOLDOUT}; "
                        "none: every engine trains)")
    p.add_argument("--firmware", action=argparse.BooleanOptionalAction, default=True,
                   help="build the board's firmware with the pinned TFLite Micro (default on)")
    p.add_argument("--threads", type=int, default=1, help="CPU threads for torch and LiteRT (default 1)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def request_of(args) -> dict:
    """What the run is for: the phrases, their labels, the board and everything that shapes the corpus."""
    from ..costmodel.targets import get_target
    from ..data.synth import check_words, label_of
    from ..data.tts import ENGINE_FAMILIES, missing_engines
    from ..errors import UserError
    phrases = [" ".join(p.split()) for p in [args.phrase, *args.also]]
    check_words(tuple(phrases))
    labels = [label_of(p) for p in phrases]
    if len(set(labels)) != len(labels):
        raise UserError(f"The phrases {', '.join(repr(p) for p in phrases)} repeat one another: give each once.")
    if not args.scale > 0 or args.other_every < 1 or (args.other_words is not None and args.other_words < 0) \
            or args.epochs < 1 or not args.stream_minutes > 0 or not args.max_fa_per_hour >= 0 or args.threads < 1:
        raise UserError("--scale, --epochs, --stream-minutes and --other-every must be positive, --max-fa-per-hour "
                        "and --other-words 0 or more, --threads at least 1.")
    for command, text, flag in (("search", args.search_args, "--search-args"), ("train", args.train_args, "--train-args")):
        _check_options(command, text, flag)
    engine = None if args.holdout_engine == "none" else args.holdout_engine
    if engine is not None and engine not in ENGINE_FAMILIES:
        raise UserError(f"--holdout-engine {engine}: choose one of {', '.join(ENGINE_FAMILIES)}, or none.")
    if engine is not None and engine in missing_engines():
        raise UserError(f"--holdout-engine {engine}: {missing_engines()[engine]}; hold out another engine or none.")
    if engine == ENGINE_FAMILIES[0]:
        raise UserError(f"--holdout-engine {engine}: {engine} speaks most voices of the corpus; hold out another engine.")
    request = {"phrases": phrases, "labels": labels, "target": get_target(args.target).name, "scale": args.scale,
               "other_words": args.other_words, "other_every": args.other_every, "holdout_engine": engine,
               "seed": args.seed, "train_args": args.train_args,
               "epochs": args.epochs, "max_fa_per_hour": args.max_fa_per_hour, "stream_minutes": args.stream_minutes}
    clip_ms = window_ms(phrases, args.clip_ms, args.seed)
    if clip_ms != DEFAULT_CLIP_MS:       # a one-second run's request reads as it always did
        request["clip_ms"] = clip_ms
    return request


def window_ms(phrases: list[str], asked: int | None, seed: int) -> int:
    """The clip length of the run: `asked` (refused when a phrase said at the voices' own pace is longer),
    else 1000 ms or the first 500 ms step that holds the longest phrase."""
    import math

    from ..data.synth import SynthSettings, spoken_seconds
    from ..errors import UserError
    from ..frontend.spec import CLIP_MS_RANGE, check_clip, ms_to_samples
    if asked is not None:
        try:
            check_clip(ms_to_samples(asked))
        except ValueError as exc:
            raise UserError(f"--clip-ms {asked}: {exc}") from None
    seconds = spoken_seconds(phrases, SynthSettings(seed=seed))
    phrase, longest = max(seconds.items(), key=lambda kv: kv[1])
    need = max(DEFAULT_CLIP_MS, math.ceil(longest * 1000 / 500) * 500)
    if need > CLIP_MS_RANGE[1]:
        raise UserError(f"'{phrase}' lasts about {longest:.1f} s said at the voices' own pace, longer than the longest "
                        f"window ({CLIP_MS_RANGE[1]} ms): choose a shorter phrase.")
    if asked is not None and longest * 1000 > asked:
        raise UserError(f"'{phrase}' lasts about {longest:.1f} s said at the voices' own pace, longer than the {asked} ms "
                        f"window: give --clip-ms {need} or more (at most {CLIP_MS_RANGE[1]}), or leave --clip-ms out.")
    if asked is None and need != DEFAULT_CLIP_MS:
        print(f"dadarts wakeword: '{phrase}' lasts about {longest:.1f} s: a window of {need} ms (--clip-ms to choose)")
    return need if asked is None else asked


def corpus_settings(request: dict, measure_only: bool = False):
    """The SynthSettings of the run's corpus, or of its held-out engine's measure-only folder."""
    from ..data.synth import DEFAULT_VOICES, FAMILY_SHARE, SynthSettings
    from ..data.tts import ENGINE_FAMILIES, missing_engines
    from ..data.wakeword_words import near_misses, other_words
    near = near_misses(request["phrases"])
    words = (*request["phrases"], *near)
    others = tuple(other_words(request["phrases"], near, request["other_words"]))
    voices = max(10, round(DEFAULT_VOICES * request["scale"]))
    engine, clip_ms = request["holdout_engine"], request.get("clip_ms", DEFAULT_CLIP_MS)
    if measure_only:
        return SynthSettings(words=words, sparse_words=others, sparse_every=request["other_every"],
                             voices=max(3, round(FAMILY_SHARE[engine] * voices)), seed=request["seed"],
                             engines=(engine,), measure_only=True, clip_ms=clip_ms)
    engines = tuple(f for f in ENGINE_FAMILIES if f != engine and f not in missing_engines()) if engine else ()
    return SynthSettings(words=words, sparse_words=others, sparse_every=request["other_every"], voices=voices,
                         seed=request["seed"], engines=engines, clip_ms=clip_ms)


def build_corpus(folder: Path, settings, what: str, quiet: bool) -> None:
    """`folder` synthesised once: built beside it and renamed into place, so a folder that exists is whole."""
    from ..data.synth import synthesize
    if (folder / "SYNTH.txt").is_file():
        print(f"== {what}: {folder} is there")
        return
    tmp = folder.with_name(folder.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    n_words = len(settings.words) + len(settings.sparse_words)
    print(f"== {what}: {len(settings.words)} texts by every voice and {len(settings.sparse_words)} by every "
          f"{settings.sparse_every}th, {settings.voices} voices -> {folder}")
    summary = synthesize(tmp, settings, progress=not quiet)
    os.replace(tmp, folder)
    print(f"   {summary['clips']} clips of {n_words} texts in {summary['seconds']:.0f} s; voices per split "
          f"{summary['voices']}, per engine {summary['engines']}")


def stage(words: list[str]) -> None:
    """Run one dadarts command in this process, as `dadarts WORDS...` would; a failure is one sentence."""
    from ..cli import dispatch
    from ..errors import UserError
    print("== dadarts " + " ".join(_quote(w) for w in words), flush=True)
    status = dispatch(words)
    if status:
        raise UserError(f"`dadarts {' '.join(words[:2])} ...` failed (status {status}, see above); fix what it says "
                        f"and run the same wakeword command again to continue.")


def _split(text: str, flag: str) -> list[str]:
    import shlex

    from ..errors import UserError
    try:
        return shlex.split(text)
    except ValueError as exc:
        raise UserError(f"{flag} '{text}' cannot be read as options ({exc}): quote it as one argument.") from None


def _check_options(command: str, text: str, flag: str) -> None:
    """Refuse options `dadarts COMMAND` does not take before hours of synthesis, not after."""
    import contextlib
    import io

    from ..cli import build_parser
    from ..errors import UserError
    words = [command, *(["runs/x"] if command == "train" else []), *_split(text, flag)]
    try:
        with contextlib.redirect_stderr(io.StringIO()) as err:
            build_parser().parse_args(words)
    except SystemExit:
        why = err.getvalue().strip().splitlines()[-1] if err.getvalue().strip() else "not understood"
        raise UserError(f"{flag} '{text}': {why.split('error: ', 1)[-1]} (see dadarts {command} --help).") from None


def _quote(word: str) -> str:
    import shlex
    return shlex.quote(word)


def _check_request(run: Path, request: dict) -> None:
    from ..errors import UserError
    from ..rundir import read_json, write_json_atomic
    path = run / "wakeword.json"
    if path.is_file():
        before = read_json(path, REQUEST_KIND)
        before = {k: before.get(k) for k in request}
        if before != request:
            diff = ", ".join(f"{k} {before[k]!r} -> {request[k]!r}" for k in request if before[k] != request[k])
            raise UserError(f"{run} holds a wake word run made with other settings ({diff}): give a new --run, "
                            f"or the same settings to continue it.")
        return
    write_json_atomic(path, request, kind=REQUEST_KIND)


def run(args) -> int:
    from ..rundir import RunDir, read_json, record_run, write_json_atomic

    request = request_of(args)
    run_dir = RunDir.of(args.run)
    root = run_dir.root
    root.mkdir(parents=True, exist_ok=True)
    _check_request(root, request)
    if args.threads:
        import torch
        torch.set_num_threads(args.threads)
    labels, engine = request["labels"], request["holdout_engine"]
    quiet = ["--quiet"] if args.quiet else []
    print(f"dadarts wakeword: {', '.join(repr(p) for p in request['phrases'])} (labels {', '.join(labels)}) on "
          f"{request['target']} -> {root}")

    corpus = root / "corpus"
    build_corpus(corpus, corpus_settings(request), "corpus", args.quiet)
    heldout = root / f"heldout-{engine}" if engine else None
    if heldout:
        build_corpus(heldout, corpus_settings(request, measure_only=True), f"held-out engine {engine} (measure only)",
                     args.quiet)

    if not _search_fits(run_dir):
        # An interrupted search continues; one that ended over the budget starts again (with --search-args changed).
        resume = ["--resume"] if run_dir.search_checkpoint.is_file() and not run_dir.search_result.is_file() else []
        stage(["search", "--data", str(corpus), "--task", "names", "--names", ",".join(labels), "--run", str(root),
               "--target", request["target"], "--max-train", str(args.search_max_train), "--seed", str(args.seed),
               *(["--clip-ms", str(request["clip_ms"])] if "clip_ms" in request else []),
               *_split(args.search_args, "--search-args"), *resume, *quiet])
    if not _newer(run_dir.train_metrics, run_dir.search_result):
        resume = ["--resume"] if _newer(run_dir.train_checkpoint, run_dir.search_result) else []
        stage(["train", str(root), "--epochs", str(args.epochs), "--threads", str(args.threads), "--seed", str(args.seed),
               *_split(args.train_args, "--train-args"), *resume, *quiet])
    if not (_newer(run_dir.export_report, run_dir.train_metrics) and run_dir.tflite_int8.is_file()):
        stage(["export", str(root), "--int8"])
    op_path = root / "stream" / "operating_point.json"
    if not _newer(op_path, run_dir.export_report):
        stage(["calibrate", str(root), "--max-fa-per-hour", f"{args.max_fa_per_hour:g}", "--minutes",
               f"{args.stream_minutes:g}", "--threads", str(args.threads)])
    engine_path = root / "stream" / f"folder-{heldout.name}.json" if heldout else None
    if heldout and not _newer(engine_path, op_path):
        stage(["stream", str(root), "--from-folder", str(heldout), "--threads", str(args.threads)])
    flash = firmware_files(run_dir, request["target"], args.firmware)

    op = read_json(op_path, "operating_point")
    result = {"phrases": request["phrases"], "labels": labels, "target": request["target"],
              "max_fa_per_hour": args.max_fa_per_hour, "settings": op["settings"],
              "held_out_voices": _point(op["test"]), "calibration": _point(op["calibration"]),
              "held_out_engine": None, "firmware": flash}
    if heldout:
        metrics = read_json(engine_path, "stream_metrics")
        result["held_out_engine"] = {"engine": engine, **_point({"hours": metrics["hours"], **metrics["operating_point"]})}
    write_json_atomic(root / "wakeword" / "result.json", result, kind=RESULT_KIND)
    record_run(run_dir, "wakeword", args._argv, **{k: request[k] for k in ("phrases", "labels", "holdout_engine")})
    print_result(result)
    return 0


def _newer(path: Path, than: Path) -> bool:
    """Whether a stage's artifact exists and was written after the one it was made from (a stage run
    again makes every later one stale)."""
    return path.is_file() and path.stat().st_mtime_ns >= than.stat().st_mtime_ns


def _search_fits(run_dir) -> bool:
    """Whether the run has a search result inside its budget."""
    from ..rundir import read_json
    if not run_dir.search_result.is_file():
        return False
    predicted = read_json(run_dir.search_result, "search_result").get("predicted")
    return not predicted or bool(predicted["fits"])


def _point(op: dict) -> dict:
    keep = ("false_reject_rate", "events", "misses", "false_accepts", "false_accepts_per_hour", "hours")
    return {k: op[k] for k in keep if k in op}


def firmware_files(run_dir, target: str, build: bool) -> dict:
    """The files to flash: the board's kws_app.elf when its firmware preset builds here, and the generated
    C sources (model, front-end tables, recogniser settings) for a project of one's own."""
    from ..errors import UserError
    from ..firmware.build import boards
    sources = sorted(str(p) for p in run_dir.firmware.iterdir() if p.is_file())
    out = {"sources": sources, "elf": None, "board": None, "note": None}
    board = target.lower()
    if board not in boards():
        out["note"] = f"{target} has no firmware board preset here: put the C files into your own TFLM project"
        return out
    out["board"] = board
    if not build:
        out["note"] = f"not built (--no-firmware): dadarts firmware build {run_dir.root} --target {board} --tflm"
        return out
    try:
        stage(["firmware", "build", str(run_dir.root), "--target", board, "--tflm"])
    except UserError as exc:
        out["note"] = f"firmware not built: {exc}"
        return out
    elf = run_dir.root / "firmware" / f"build-{board}" / "kws_app.elf"
    out["elf"] = str(elf) if elf.is_file() else None
    return out


def print_result(result: dict) -> None:
    def line(p: dict) -> str:
        return (f"FRR {p['false_reject_rate'] * 100:.1f} % ({p['misses']} of {p['events']} missed), "
                f"{p['false_accepts']} false accepts in {p['hours']:.2f} h ({p['false_accepts_per_hour']:.2f} per hour)")
    s = result["settings"]
    print()
    print(f"wake word {', '.join(repr(p) for p in result['phrases'])} on {result['target']}: recogniser threshold "
          f"{s['detection_threshold']}, window {s['average_window_ms']} ms, suppression {s['suppression_ms']} ms, "
          f"calibrated for {result['max_fa_per_hour']:g} false accepts per hour")
    print(f"  calibration stream (validation voices):   {line(result['calibration'])}")
    print(f"  operating point, held-out voices stream: {line(result['held_out_voices'])}")
    if result["held_out_engine"]:
        e = result["held_out_engine"]
        print(f"  held-out engine {e['engine']} (never trained on): {line(e)}")
    fw = result["firmware"]
    if fw["elf"]:
        print(f"flash: {fw['elf']}  (how: docs/firmware.md)")
    elif fw["note"]:
        print(f"firmware: {fw['note']}")
    print("firmware sources: " + ", ".join(Path(p).name for p in fw["sources"]) +
          f" in {Path(fw['sources'][0]).parent}" if fw["sources"] else "firmware sources: none")
