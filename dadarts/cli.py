"""The `dadarts` command line: one subcommand per stage, each thin (parse, call the stage, print).

Every stage module named in COMMANDS provides `add_arguments(parser)` and `run(args) -> int`.
Modules are imported only when their command runs, so `dadarts --help` stays fast.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from .errors import UserError

# (command words, module, one-line help). A command appears here only once it works end to end.
COMMANDS: list[tuple[tuple[str, ...], str, str]] = [
    (("data", "synth"), "dadarts.data.synth_command", "write the synthetic TTS corpus in Speech Commands layout"),
    (("data", "info"), "dadarts.data.info_command", "check a dataset folder and print its classes and split sizes"),
    (("data", "features"), "dadarts.data.features_command", "compute and cache MFCC features for a data space"),
    (("search",), "dadarts.search.command", "data-aware PC-DARTS: search the cell and the MFCC configuration (RUN/search/)"),
    (("train",), "dadarts.train.command", "train the searched network of a run, or a baseline (--model), from scratch"),
    (("compare",), "dadarts.train.compare_command", "table and plot of trained runs: params, MACs, float/int8 accuracy, latency"),
    (("ablation",), "dadarts.train.ablation_command", "data-aware vs fixed-config search, both trained alike, plus baselines, compared"),
    (("report",), "dadarts.report.command", "one self-contained HTML page of a run's figures: search, training, export, MCU"),
    (("export",), "dadarts.export.command", "PyTorch -> ONNX -> float/int8 TFLite, TFLM check and firmware C files, verified"),
    (("mcu-eval",), "dadarts.mcu_eval.command", "Cortex-M latency, flash and RAM estimates for an exported run, per board"),
    (("firmware", "build"), "dadarts.firmware.build_command", "build the firmware from a run's export (host or QEMU Cortex-M4) and run it"),
    (("firmware", "bench"), "dadarts.firmware.bench_command", "C front-end vs Python on the run's test clips: features, accuracy, time"),
    (("firmware", "stream"), "dadarts.firmware.stream_command", "stream a WAV into the firmware on the emulated STM32F405: detections, timing"),
    (("firmware", "check"), "dadarts.evaluate.onchip", "the int8 model on the emulated chip vs the cost model and the Python pipeline"),
    (("evaluate",), "dadarts.evaluate.evaluate_command", "score a trained run (float, int8, fixed-point front-end) on any folder of recordings"),
    (("stream",), "dadarts.evaluate.stream_command", "keyword detections over a recording as the firmware makes them; false accepts per hour"),
    (("calibrate",), "dadarts.evaluate.calibrate_command", "recogniser settings for a false-accepts-per-hour target, written for the firmware"),
    (("wakeword",), "dadarts.wakeword.command", "a wake word from its text: corpus, search, training, int8 export, calibration, firmware"),
]


def build_parser() -> argparse.ArgumentParser:
    from . import __version__
    parser = argparse.ArgumentParser(
        prog="dadarts",
        description="Data-aware differentiable NAS for tiny keyword spotting: search -> train -> export -> MCU.")
    parser.add_argument("--version", action="version", version=f"dadarts {__version__}")
    top = parser.add_subparsers(dest="command", metavar="COMMAND")
    groups: dict[str, argparse._SubParsersAction] = {}
    for words, module, help_text in COMMANDS:
        if len(words) == 1:
            p = top.add_parser(words[0], help=help_text, description=help_text)
        else:
            if words[0] not in groups:
                g = top.add_parser(words[0], help=f"{words[0]} commands")
                groups[words[0]] = g.add_subparsers(dest="subcommand", metavar="SUBCOMMAND", required=True)
            p = groups[words[0]].add_parser(words[1], help=help_text, description=help_text)
        p.set_defaults(_module=module)
        importlib.import_module(module).add_arguments(p)
    return parser


def dispatch(argv: list[str]) -> int:
    """Run `dadarts ARGV...` in this process and return its status; a UserError propagates."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_module", None):
        parser.print_help()
        return 0
    args._argv = argv
    return int(importlib.import_module(args._module).run(args) or 0)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        return dispatch(argv)
    except UserError as exc:
        print(f"dadarts: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("dadarts: interrupted; finished artifacts are intact (use --resume where the stage has it).",
              file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
