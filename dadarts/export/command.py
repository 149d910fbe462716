"""`dadarts export RUN [--int8]`: convert a trained run for the microcontroller and verify every step."""
from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    from ..costmodel.stream import HEADS
    p.add_argument("run", help="run directory with train/model.pt and train/frontend.json")
    p.add_argument("--int8", action="store_true",
                   help="also write the full-integer int8 model, check it in TFLite Micro and generate export/firmware/")
    p.add_argument("--calibration-samples", type=int, default=200, metavar="N",
                   help="training clips used to calibrate the int8 quantisation (default 200)")
    p.add_argument("--max-int8-drop", type=float, default=None, metavar="PP",
                   help="fail when int8 test accuracy is more than PP percentage points below float")
    p.add_argument("--tflm-samples", type=int, default=256, metavar="N",
                   help="test clips compared between TFLite Micro and the reference kernels (default 256)")
    p.add_argument("--fold-concat", choices=("safe", "all"), default="safe",
                   help="int8: fold the requantising QUANTIZE before a concatenation input into the op producing it "
                        "only where nothing else reads that tensor (safe, default), or everywhere (all: no QUANTIZE "
                        "left, as the cost model counts, but the other readers get the concat's coarser scale)")
    p.add_argument("--streaming", action="store_true",
                   help="with --int8: also the step model of a chain network valid or causal in time (dadarts train "
                        "--time-padding valid, or a search with --streaming): N new frames per Invoke, its states as "
                        "inputs and outputs; checked against the whole-window model and written to export/firmware/ "
                        "(export/stream_step.json says how to run it)")
    p.add_argument("--frames-per-step", type=int, default=None, metavar="N",
                   help="--streaming: new frames per step, a multiple of the network's time stride (default: the "
                        "multiple nearest to 100 ms)")
    p.add_argument("--step-head", default=None, choices=list(HEADS),
                   help="--streaming: how a step averages the final map: each new frame's MEAN over frequency kept "
                        "as the state, then a MEAN over time (default), one AVERAGE_POOL_2D over the map (cheapest, "
                        "agrees less in int8), or the whole-window model's MEAN over the whole map every step "
                        "(several times slower); docs/export.md")
    p.add_argument("--allow-over-budget", action="store_true",
                   help="succeed even when the int8 model is over the budget its search had (default: exit non-zero)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps (conversion runs on the CPU)")


def run(args) -> int:
    from ..errors import UserError
    from .pipeline import ExportOptions, export_run

    if args.calibration_samples < 1:
        raise UserError("--calibration-samples must be at least 1.")
    if args.tflm_samples < 1:
        raise UserError("--tflm-samples must be at least 1.")
    if args.max_int8_drop is not None and not args.int8:
        raise UserError("--max-int8-drop compares int8 with float: add --int8.")
    if args.fold_concat != "safe" and not args.int8:
        raise UserError("--fold-concat changes the int8 model: add --int8.")
    if args.streaming and not args.int8:
        raise UserError("--streaming exports the int8 step model and checks it against the int8 whole-window "
                        "model: add --int8.")
    if (args.frames_per_step is not None or args.step_head) and not args.streaming:
        raise UserError("--frames-per-step and --step-head shape the step model: add --streaming.")
    options = ExportOptions(int8=args.int8, calibration_samples=args.calibration_samples,
                            max_int8_drop=args.max_int8_drop, tflm_samples=args.tflm_samples,
                            fold_concat=args.fold_concat, streaming=args.streaming,
                            frames_per_step=args.frames_per_step, step_head=args.step_head)
    report = export_run(args.run, options, args._argv, device=args.device)
    check = report.get("budget_check")
    if check and not check["fits"] and not args.allow_over_budget:
        raise UserError(f"The exported int8 model is over its search's budget on {check['target']} in "
                        f"{', '.join(check['over'])} (export/report.json \"budget_check\"): search again, or pass "
                        "--allow-over-budget to keep it.")
    return 0
