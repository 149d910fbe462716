"""`dadarts mcu-eval RUN|MODEL.tflite`: will the model fit a Cortex-M board, and how fast will it run?

    dadarts mcu-eval runs/exp1                              # every preset board
    dadarts mcu-eval runs/exp1 --target NUCLEO-L4R5ZI --target nRF52840 --layers
    dadarts mcu-eval runs/exp1 --targets-file my_boards.json --kernels reference
    dadarts mcu-eval model.tflite [--mfcc 640/320/40/10] [--out estimates.json]   # any int8 TFLite file

A run directory (the default input): reads RUN/export/model_int8.tflite, RUN/export/report.json
(optional) and RUN/train/frontend.json; writes RUN/mcu/estimates.json. Any other int8 .tflite (from
another tool): the same estimate of the model alone, since its MFCC front-end is unknown, unless
--mfcc gives the configuration its features come from; --out writes the estimates. Either way one
verdict per target is printed (and per layer with --layers).

Latency per decision counts one Invoke and the front-end frames that arrive between two decisions, as
the search's budget does: `--decision-ms`, else the run's decision period as export's recogniser runs the
model (export.recognizer_settings.decision_period: its search's `decision_ms`, or that of the run `train
--init` started from, else 100 ms): every model is priced at the rate its firmware decides.
"""
from __future__ import annotations

import argparse
import json
import re


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("run", metavar="RUN|MODEL",
                   help="run directory with an exported model (dadarts export RUN), or any int8 .tflite file")
    p.add_argument("--target", action="append", metavar="NAME",
                   help="board preset (repeatable; default: all presets, or all of --targets-file)")
    p.add_argument("--targets-file", metavar="JSON", help="your own boards, same shape as the built-in targets.json")
    p.add_argument("--kernels", choices=["cmsis-nn", "reference"],
                   help="kernel library the firmware links (default: each target's own, normally cmsis-nn)")
    p.add_argument("--layers", action="store_true", help="print the per-layer cycle breakdown for each target")
    p.add_argument("--mfcc", metavar="W/H/M[/K]",
                   help="for a .tflite file: the MFCC configuration its input comes from, so that the front-end is "
                        "counted (window/hop/mels[/coefficients] in samples at 16 kHz); without it only the model is")
    p.add_argument("--out", metavar="JSON", help="for a .tflite file: write the estimates to this file")
    p.add_argument("--decision-ms", type=float, metavar="MS",
                   help="one decision every MS milliseconds: latency per decision = one Invoke + the front-end "
                        "frames of that period (default: the run's search decision period, else 100 ms, the "
                        "exported recogniser's default)")
    p.add_argument("--streaming", action="store_true",
                   help="run directory exported with --streaming: also the step model's cost per decision (one per "
                        "step of N new frames: step Invoke + state copies) and duty cycle, next to the whole-window "
                        "model's at the same rate")
    p.add_argument("--firmware-results", metavar="JSON",
                   help="measured front-end instruction counts (default: RUN/run.json from 'dadarts firmware build', "
                        "then benchmarks/results/firmware.json)")


def _read_report(path) -> dict:
    """export/report.json is optional here: only its arena figure is used, as a cross-check."""
    if not path.is_file():
        return {}
    try:
        obj = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return {}
    return obj if isinstance(obj, dict) else {}


def _report_arena(report: dict) -> int | None:
    value = (report.get("tflm") or {}).get("arena_bytes") if isinstance(report.get("tflm"), dict) else None
    return int(value) if isinstance(value, (int, float)) and value > 0 else None


def _check_decision_ms(decision_ms):
    from ..errors import UserError
    if decision_ms is not None and not decision_ms > 0:
        raise UserError(f"--decision-ms {decision_ms:g} is not a period: give the milliseconds between two "
                        "decisions, e.g. --decision-ms 100.")


def evaluate_run(run_path, target_names=None, targets_file=None, kernels=None, firmware_results=None,
                 decision_ms=None, streaming: bool = False) -> dict:
    """Estimate the exported model of a run on the chosen targets and write RUN/mcu/estimates.json."""
    from ..errors import UserError
    from ..frontend.artifact import read_frontend
    from ..rundir import RunDir, write_json_atomic
    from ..costmodel.arena import measure_arena
    from .estimate import estimate
    from ..export.recognizer_settings import decision_period
    from ..costmodel.graph import parse_tflite
    from ..costmodel.targets import select_targets

    _check_decision_ms(decision_ms)
    run = RunDir.of(run_path)
    targets = select_targets(target_names, targets_file, kernels)
    if not run.root.is_dir():
        raise UserError(f"Run directory {run.root} does not exist: give the directory of an exported run.")
    if not run.tflite_int8.is_file():
        raise UserError(f"{run.root} has not been exported ({run.tflite_int8} is missing): run 'dadarts export "
                        f"{run.root}' first.")
    if not run.frontend.is_file():
        raise UserError(f"{run.frontend} is missing, so the MFCC configuration is unknown: run 'dadarts train' "
                        f"for this run first.")
    config = read_frontend(run.frontend).config
    model = run.tflite_int8.read_bytes()
    graph = parse_tflite(model)
    if graph.input_dtype != "INT8":
        raise UserError(f"{run.tflite_int8} takes {graph.input_dtype} input, not INT8: re-run the export "
                        f"(the firmware feeds int8 features).")
    shape = [d for d in graph.input_shape if d != 1]
    if shape[:2] != [config.n_frames, config.n_mfcc]:
        raise UserError(f"The model's input {graph.input_shape} does not match the front-end {config} "
                        f"({config.n_frames}x{config.n_mfcc}): train/ and export/ come from different runs.")
    report = _read_report(run.export_report)
    try:
        arena = measure_arena(model)
        arena_bytes, arena_info = arena.total_bytes, arena.to_dict()
    except UserError:
        fallback = _report_arena(report)
        if fallback is None:
            raise
        arena_bytes, arena_info = fallback, {"total_bytes": fallback, "method": "export/report.json tflm.arena_bytes"}
    arena_info["export_report_bytes"] = _report_arena(report)
    decision_ms = decision_ms or decision_period(run)
    body = estimate(graph, arena_bytes, config, targets, firmware_results, run.run_json, decision_ms)
    body["model"]["arena"] = arena_info
    body["model"]["path"] = str(run.tflite_int8)
    if streaming:
        _add_streaming(run, body, targets, config)
    write_json_atomic(run.estimates, body, kind="mcu_estimates")
    return body


def _add_streaming(run, body: dict, targets, config) -> None:
    """body["streaming"] (the step model) and targets[name]["streaming"] (estimate.streaming_target)."""
    from ..costmodel.arena import measure_arena
    from ..costmodel.graph import parse_tflite
    from ..export.step_export import read_step, step_paths
    from .estimate import streaming_target
    step = read_step(run)
    paths = step_paths(run)
    model = paths["int8"].read_bytes()
    graph, arena = parse_tflite(model), measure_arena(model).total_bytes
    states = [int(s["bytes"]) for s in step["states"]]
    body["streaming"] = {"path": str(paths["int8"]), "frames_per_step": int(step["frames_per_step"]),
                         "warmup_steps": int(step["warmup_steps"]), "state_bytes": sum(states),
                         "model_bytes": len(model), "arena_bytes": arena, "total_macs": graph.total_macs}
    for t in targets:
        body["targets"][t.name]["streaming"] = streaming_target(graph, states, int(step["frames_per_step"]), arena,
                                                                body["targets"][t.name], t, config)


def format_streaming(est: dict) -> str:
    s = est["streaming"]
    first = next(iter(est["targets"].values()))["streaming"]
    lines = [f"streaming: the step model takes {s['frames_per_step']} frames per Invoke (a decision every "
             f"{first['decision_ms']:g} ms), {s['state_bytes']:,} B of state, {s['total_macs'] / 1e6:.2f} M MACs per step",
             f"{'target':<18} {'step ms':>8} {'ms/dec':>7} {'duty':>6} | {'whole ms/dec':>12} {'duty':>6} | "
             f"{'step/whole':>10}"]
    for name, t in est["targets"].items():
        st = t["streaming"]
        lines.append(f"{name:<18} {st['step_ms']:>8.2f} {st['latency_ms']:>7.2f} {100 * st['duty_cycle']:>5.1f}% | "
                     f"{st['whole_latency_ms']:>12.2f} {100 * st['whole_duty_cycle']:>5.1f}% | {st['step_over_whole']:>10.3f}")
    lines.append("ms/dec = Invoke (step: with its state copies) + the front-end frames of one decision period; "
                 "whole = the whole-window model deciding at the same rate.")
    return "\n".join(lines)


def _read_model(path) -> bytes:
    from ..errors import UserError
    try:
        return path.read_bytes()
    except OSError as exc:
        raise UserError(f"{path} cannot be read ({exc.strerror}): give a readable .tflite file.") from None


def _foreign_graph(path, data: bytes):
    """The graph of a .tflite from any tool, or one sentence saying why it cannot be estimated."""
    from ..errors import UserError
    from ..costmodel.graph import parse_tflite
    if len(data) < 8 or data[4:8] != b"TFL3":
        raise UserError(f"{path} is not a TFLite model (no TFL3 flatbuffer identifier): give an int8 .tflite file.")
    try:
        graph = parse_tflite(data)
    except UserError:
        raise UserError(f"{path} is not a readable TFLite model (truncated or corrupt): copy or convert it again.") from None
    except Exception:   # a damaged flatbuffer fails in many places of the generated reader
        raise UserError(f"{path} is not a readable TFLite model (truncated or corrupt): copy or convert it again.") from None
    floats = sorted({layer.op for layer in graph.layers if layer.dtype in ("FLOAT32", "FLOAT16") and layer.op != "QUANTIZE"})
    if floats:
        raise UserError(f"{path} is a float model ({', '.join(floats)} on float tensors): quantise it to int8 "
                        "(full-integer post-training quantisation) first; the estimates are for TFLM's int8 kernels.")
    if graph.input_dtype not in ("INT8", "FLOAT32"):
        raise UserError(f"{path} takes {graph.input_dtype} input: only int8 models (int8 activations) are estimated.")
    if graph.custom_ops:
        raise UserError(f"{path} uses custom operators ({', '.join(graph.custom_ops)}) that TFLite Micro cannot run "
                        "without your own kernels: remove them or register them and estimate the rest separately.")
    return graph


def evaluate_tflite(model_path, target_names=None, targets_file=None, kernels=None, mfcc=None,
                    firmware_results=None, out=None, decision_ms=None) -> dict:
    """Estimate any int8 .tflite on the chosen targets; write the estimates to `out` if given."""
    from pathlib import Path

    from ..costmodel.targets import select_targets
    from ..errors import UserError
    from ..frontend.spec import MfccConfig
    from ..rundir import write_json_atomic
    from ..costmodel.arena import measure_arena
    from ..costmodel.estimate import DEFAULT_DECISION_MS
    from .estimate import estimate

    _check_decision_ms(decision_ms)
    decision_ms = decision_ms or DEFAULT_DECISION_MS
    path = Path(model_path)
    targets = select_targets(target_names, targets_file, kernels)
    config = None
    if mfcc:
        try:
            config = MfccConfig.parse(mfcc)
        except ValueError as exc:
            raise UserError(str(exc)) from None
    data = _read_model(path)
    graph = _foreign_graph(path, data)
    if config is not None:
        shape = [d for d in graph.input_shape if d != 1]
        if shape[:2] != [config.n_frames, config.n_mfcc]:
            raise UserError(f"{path} takes input {graph.input_shape}, but --mfcc {config.name} makes "
                            f"{config.n_frames}x{config.n_mfcc} features: give the configuration the model was trained on.")
    try:
        arena = measure_arena(data)
    except UserError as exc:
        missing = re.findall(r"Didn't find op for builtin opcode '(\w+)'", str(exc))
        if missing:
            raise UserError(f"{path} uses {', '.join(dict.fromkeys(missing))}, which TFLite Micro has no kernel for: "
                            "replace the operator (or register your own kernel) before it can run on a "
                            "microcontroller.") from None
        raise
    body = estimate(graph, arena.total_bytes, config, targets, firmware_results, decision_ms=decision_ms)
    body["model"]["arena"] = arena.to_dict()
    body["model"]["path"] = str(path)
    body["frontend"]["counted"] = config is not None
    if out:
        write_json_atomic(out, body, kind="mcu_estimates")
    return body


def _kb(n: float) -> str:
    return f"{n / 1024:.1f}"


def format_table(est: dict) -> str:
    fe = est["frontend"]
    model = (f"model {_kb(est['model']['model_bytes'])} KB, {est['model']['total_macs'] / 1e6:.2f} M MACs, "
             f"TFLM arena {_kb(est['model']['arena_bytes'])} KB")
    if est["config"]:
        lines = [f"MFCC {est['config']}, {model}; front-end {fe['instructions_per_frame'] / 1e3:.1f} k instr/frame "
                 f"({fe['source'].split(' (')[0]})", ""]
    else:
        lines = [f"{model}; MFCC front-end not counted (unknown for this file: give --mfcc W/H/M to count it), "
                 "so latency = one Invoke and flash/RAM hold no front-end", ""]
    head = (f"{'target':<18} {'core':<5} {'MHz':>5} {'kernels':<16} {'invoke ms':>9} {'FE ms':>6} {'ms/dec':>7} "
            f"{'duty@hop':>8} {'flash KB':>15} {'RAM KB':>15}  verdict")
    lines += [head, "-" * len(head)]
    for name, t in est["targets"].items():
        tg = t["target"]
        flash = f"{_kb(t['flash_bytes'])}/{_kb(t['flash_capacity_bytes'])}"
        ram = f"{_kb(t['ram_bytes'])}/{_kb(t['ram_capacity_bytes'])}"
        if t["fits"]:
            verdict = f"fits (margin flash {_kb(t['flash_margin_bytes'])} KB, RAM {_kb(t['ram_margin_bytes'])} KB)"
        else:
            short = [f"{what} short by {_kb(-t[key])} KB" for what, key in
                     (("flash", "flash_margin_bytes"), ("RAM", "ram_margin_bytes")) if t[key] < 0]
            verdict = "DOES NOT FIT: " + ", ".join(short)
        duty = f"{100 * t['duty_cycle_every_hop']:>7.0f}%" if t["duty_cycle_every_hop"] is not None else f"{'-':>8}"
        lines.append(f"{name:<18} {tg['core']:<5} {tg['clock_mhz']:>5.0f} {t['library_label']:<16} "
                     f"{t['invoke_ms']:>9.2f} {t['frontend_ms_per_frame']:>6.2f} {t['latency_ms']:>7.2f} "
                     f"{duty} {flash:>15} {ram:>15}  {verdict}")
    lines.append("")
    if est["config"]:
        first = next(iter(est["targets"].values()))
        lines.append(f"ms/dec = one decision every {est['decision_ms']:g} ms: one Invoke + the "
                     f"{first['frames_per_decision']} MFCC frames of that period; duty@hop = one frame + one Invoke "
                     f"per hop ({first['hop_ms']:.1f} ms).")
    for name, t in est["targets"].items():
        if t["realtime_every_hop"] is False:
            k = t["min_hops_between_decisions"]
            lines.append(f"  {name}: " + (f"decide every {k} hops to stay below 100 % CPU" if k else
                                         "the front-end alone exceeds the hop: not real-time"))
    uncalibrated = {(t["target"]["core"], t["library_label"]): t["cost_model"][len("assumed: "):]
                    for t in est["targets"].values() if t["cost_model"].startswith("assumed: ")}
    for (core, label), why in uncalibrated.items():
        lines.append(f"  {core} with {label}: cost model not calibrated ({why})")
    unmodelled = sorted({op for t in est["targets"].values() for op in t["unmodelled_ops"]})
    if unmodelled:
        lines.append(f"  ops costed by a rough default: {', '.join(unmodelled)}")
    return "\n".join(lines)


def format_terms(t: dict) -> str:
    flash = ", ".join(f"{k} {_kb(v)}" for k, v in t["flash_terms"].items())
    ram = ", ".join(f"{k} {_kb(v)}" for k, v in t["ram_terms"].items())
    return f"    flash KB: {flash}\n    RAM KB:   {ram}"


def format_layers(name: str, t: dict) -> str:
    total = max(t["invoke_cycles"], 1)
    lines = [f"{name} ({t['library_label']}, {t['cycles_per_instruction']:.2f} cycles/instr):",
             f"  {'#':>3} {'op':<20} {'path':<16} {'MACs':>10} {'k cycles':>10} {'ms':>8} {'share':>6}  glue"]
    for layer in t["layers"]:
        lines.append(f"  {layer['index']:>3} {layer['op']:<20} {layer['path']:<16} {layer['macs']:>10} "
                     f"{layer['cycles'] / 1e3:>10.1f} {layer['ms']:>8.3f} {100 * layer['cycles'] / total:>5.1f}%"
                     + ("  glue" if layer.get("glue") else ""))
    glue_ops = sorted({layer["op"] for layer in t["layers"] if layer.get("glue")})
    lines.append(f"  structural glue: {100 * t.get('glue_share', 0.0):.1f} % of the Invoke"
                 + (f" ({', '.join(glue_ops)})" if glue_ops else " (none)"))
    lines.append(format_terms(t))
    return "\n".join(lines)


def run(args) -> int:
    from pathlib import Path

    from ..errors import UserError
    from ..rundir import RunDir, record_run
    given = Path(args.run)
    if given.is_dir():
        if args.mfcc or args.out:
            raise UserError("--mfcc and --out are for a .tflite file; a run directory has its own front-end "
                            "(train/frontend.json) and writes RUN/mcu/estimates.json.")
        est = evaluate_run(args.run, args.target, args.targets_file, args.kernels, args.firmware_results,
                           args.decision_ms, args.streaming)
    elif given.exists():
        if args.streaming:
            raise UserError("--streaming reads a run's step export (export/stream_step.json): give the run directory.")
        if args.decision_ms is not None and not args.mfcc:
            raise UserError("--decision-ms counts front-end frames per decision, which needs the model's MFCC "
                            "configuration: give --mfcc W/H/M[/K] too.")
        est = evaluate_tflite(given, args.target, args.targets_file, args.kernels, args.mfcc, args.firmware_results,
                              args.out, args.decision_ms)
    else:
        raise UserError(f"{given} does not exist: give a run directory of an exported run or an int8 .tflite file.")
    print(format_table(est))
    if est.get("streaming"):
        print()
        print(format_streaming(est))
    if args.layers:
        for name, t in est["targets"].items():
            print()
            print(format_layers(name, t))
    if not given.is_dir():
        if args.out:
            print(f"\nwrote {args.out}")
        return 0
    run_dir = RunDir.of(args.run)
    record_run(run_dir, "mcu-eval", args._argv, targets=list(est["targets"]))
    print(f"\nwrote {run_dir.estimates}")
    return 0
