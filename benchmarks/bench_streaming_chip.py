"""Streaming vs whole-window inference on the emulated STM32F405 (issue #24), from the same weights.

For a run exported with `dadarts export RUN --int8 --streaming` (a chain network 'valid' in time), the
full application (TFLite Micro + CMSIS-NN at the pin, linked as the NUCLEO-F446RE) is built and fed
audio under QEMU netduinoplus2 three times:

  whole      model_int8.tflite: one Invoke over the whole window per decision (what a decision costs today)
  step       model_step_int8.tflite at the export's frames per step (one decision per 100 ms at the
             default hop of 12.5 ms: 8 frames)
  step_min   the step model re-exported (on a copy of the run) at N = the time stride, the most frequent
             decision the network allows (a decision every hop needs time stride 1: a stem striding 1
             over time, e.g. conv_3x3_s1x2, and no block striding)
  step_min_<head>  with --compare-heads: the same finest step with each other way of averaging the final
             map (dadarts.costmodel.stream.HEADS: per-frame MEAN then MEAN over time, one AVERAGE_POOL_2D,
             or the whole-window model's MEAN)

and reads instructions per Invoke off the firmware's stats lines (-icount shift=0: one instruction per
virtual ns; a step's Invoke includes the state copies). Each is compared with the cost model's
estimate (dadarts.costmodel.kernels for the whole window, dadarts.costmodel.stream for a step). The
figures of the issue's "done when": step / whole at one decision per 100 ms (target <= 1/4), and the
step_min Invokes of 100 ms of audio / one whole Invoke (target <= 1/2), and every estimate's error
(target +-5 %). Prints a table and writes benchmarks/results/streaming_chip.json.

    python benchmarks/bench_streaming_chip.py RUN [--seconds 6] [--step-head mean] [--compare-heads] [--under KEY]

--under KEY saves the report as one section of the results file (the file's other contents kept), so that
one file holds the figures of several runs (README: the stride-2 run at the top level, the every-hop run
under "every_hop"); without it the top level is rewritten and the sections are kept.
"""
from __future__ import annotations

import argparse
import json
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dadarts.rundir import RunDir, write_json_atomic  # noqa: E402

OUT = ROOT / "benchmarks" / "results" / "streaming_chip.json"
BOARD = "NUCLEO-F446RE"


def whole_window_files(run: RunDir, out_dir: Path) -> None:
    """The whole-window model's firmware files (export/firmware holds the step model's): front-end tables
    of the export, model_data / model_settings.h of model_int8.tflite, the recogniser at the step's rate."""
    from ai_edge_litert.interpreter import Interpreter

    from dadarts.costmodel.arena import measure_arena
    from dadarts.export.carrays import ModelSettings, write_firmware_files
    from dadarts.export.recognizer_settings import read_settings, write_recognizer_files
    from dadarts.export.tflite_graph import op_names, read_ops
    from dadarts.firmware.build_command import app_labels
    out_dir.mkdir(parents=True, exist_ok=True)
    for f in ("frontend_tables.c", "frontend_tables.h"):
        shutil.copyfile(run.firmware / f, out_dir / f)
    model = run.tflite_int8.read_bytes()
    it = Interpreter(model_content=model)
    inp, outp = it.get_input_details()[0], it.get_output_details()[0]
    report = json.loads((run.export / "report.json").read_text())
    settings = ModelSettings(run_name=run.root.name, source=str(run.root), input_shape=[int(v) for v in inp["shape"]],
                             input_scale=float(inp["quantization"][0]), input_zero_point=int(inp["quantization"][1]),
                             output_scale=float(outp["quantization"][0]), output_zero_point=int(outp["quantization"][1]),
                             labels=app_labels(run.firmware), config=report["config"],
                             arena_measured_bytes=measure_arena(model).total_bytes, ops=op_names(read_ops(model)))
    write_firmware_files(out_dir, model, settings)
    write_recognizer_files(out_dir, out_dir, read_settings(run.export / "recognizer.json"), report["config"],
                           settings.output_scale, settings.output_zero_point, run.root.name)


def on_chip(tables_dir: Path, build_dir: Path, pcm: np.ndarray, tree: Path, lib: Path) -> dict:
    from dadarts.evaluate.onchip import build_app
    from dadarts.firmware.qemu_stream import instructions, run_stream
    elf = build_app(tables_dir, build_dir, BOARD, tree, lib)
    dev = run_stream(elf, pcm, timeout_s=900)
    s = dev.last_stats
    return {"invoke_instructions": instructions(s["invoke_cycles"], s),
            "invoke_max_instructions": instructions(s["invoke_max"], s),
            "state_copy_instructions": instructions(s.get("state_cycles", 0), s),
            "state_bytes": s.get("state_bytes", 0), "arena_used_bytes": s["arena"], "invokes": s["inferences"],
            "wall_s": round(dev.wall_s, 1)}


def predicted(tflite: Path, target, step: dict | None) -> dict:
    from dadarts.costmodel import kernels
    from dadarts.costmodel.graph import parse_tflite
    from dadarts.costmodel.stream import step_cost
    layers = parse_tflite(tflite).layers
    if step is None:
        return {"instructions": kernels.model_instructions(layers, kernels.library_for(target), target.core)}
    cost = step_cost(layers, [int(s["bytes"]) for s in step["states"]], target)
    return {"instructions": cost.instructions, "state_copy_instructions": cost.state_copy_instructions}


def reexport(run: RunDir, copy: RunDir, frames_per_step: int, head: str | None) -> dict:
    """The run's step model exported again on a copy of the run, at `frames_per_step` (and `head`)."""
    from dadarts.export.step_export import read_step
    shutil.copytree(run.root, copy.root, ignore=shutil.ignore_patterns("firmware"))
    cmd = [sys.executable, "-c", "import sys; from dadarts.cli import main; sys.exit(main())", "export",
           str(copy.root), "--int8", "--streaming", "--frames-per-step", str(frames_per_step)]
    r = subprocess.run(cmd + (["--step-head", head] if head else []), capture_output=True, text=True, cwd=ROOT)
    if r.returncode != 0:
        sys.exit(f"re-exporting at {frames_per_step} frames per step failed: {(r.stdout + r.stderr)[-1500:]}")
    return read_step(copy)


def save(out: Path, report: dict, under: str | None) -> None:
    """The report into `out`: as section `under`, or as the top level with the file's sections kept."""
    old = json.loads(out.read_text()) if out.is_file() else {}
    old = {k: v for k, v in old.items() if k not in ("schema", "kind")}
    sections = set(old.get("sections", []))
    if under:
        body = {**old, under: report, "sections": sorted(sections | {under})}
    else:
        body = {**report, **{k: old[k] for k in sections if k in old}, "sections": sorted(sections)}
    write_json_atomic(out, body, kind="streaming_chip_bench")


def main() -> int:
    from dadarts.costmodel.stream import HEADS
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", type=Path, help="a run exported with `dadarts export RUN --int8 --streaming`")
    ap.add_argument("--seconds", type=float, default=6.0, help="audio streamed into each build (default 6)")
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--step-head", default=None, choices=list(HEADS),
                    help="the finest step's average (export --step-head; default: the export's default)")
    ap.add_argument("--compare-heads", action="store_true",
                    help="also measure the finest step with each other average (step_min_<head>)")
    ap.add_argument("--under", default=None, metavar="KEY", help="save as this section of --out (see above)")
    args = ap.parse_args()

    from dadarts.costmodel.targets import get_target
    from dadarts.export.step_export import read_step, step_paths
    from dadarts.firmware import tflm
    from dadarts.frontend.spec import MfccConfig
    run = RunDir.of(args.run)
    step = read_step(run)
    config = MfccConfig.parse(json.loads((run.export / "report.json").read_text())["config"])
    hop_ms = config.hop * 1000 / 16000
    target = get_target(BOARD)
    tree = tflm.find_tree("m4f")
    lib = tflm.library("m4f", tree)
    rng = np.random.default_rng(5)
    pcm = np.clip(rng.normal(0, 1500, int(args.seconds * 16000)), -32768, 32767).astype(np.int16)
    rows = {}
    with tempfile.TemporaryDirectory(prefix="dadarts-bench-stream-") as tmp:
        tmp = Path(tmp)
        whole_dir = tmp / "whole-tables"
        whole_window_files(run, whole_dir)
        n_min = int(step["time_stride"])
        copy = RunDir.of(tmp / "run-min")
        step_min = reexport(run, copy, n_min, args.step_head)
        builds = [("whole", whole_dir, run.tflite_int8, None, run),
                  ("step", run.firmware, step_paths(run)["int8"], step, run),
                  ("step_min", copy.firmware, step_paths(copy)["int8"], step_min, copy)]
        for other in (h for h in HEADS if args.compare_heads and h != step_min.get("head", "mean")):
            alt = RunDir.of(tmp / f"run-min-{other}")
            builds.append((f"step_min_{other}", alt.firmware, step_paths(alt)["int8"], reexport(run, alt, n_min, other),
                           alt))
        for name, tables, tflite, s, rd in builds:
            t0 = time.time()
            got = on_chip(tables, tmp / f"build-{name}", pcm, tree, lib)
            est = predicted(tflite, target, s)
            n = int(s["frames_per_step"]) if s else None
            rows[name] = {**got, "frames_per_step": n, "decision_ms": n * hop_ms if n else None,
                          "head": s.get("head", "mean") if s else None,
                          "invoke_instructions_predicted": round(est["instructions"]),
                          "invoke_error": got["invoke_instructions"] / est["instructions"] - 1,
                          **({"state_copy_instructions_predicted": round(est["state_copy_instructions"])} if s else {}),
                          "state_bytes_planned": int(sum(x["bytes"] for x in s["states"])) if s else 0,
                          # the export check: this step model against the whole-window int8 model, same stream
                          **({"export_check_int8": _export_check(rd)} if s else {})}
            print(f"{name:9s} {got['invoke_instructions']:>11,} instructions per Invoke, predicted "
                  f"{round(est['instructions']):>11,} ({100 * rows[name]['invoke_error']:+.1f} %)  [{time.time() - t0:.0f} s]")
    whole, st, st_min = rows["whole"]["invoke_instructions"], rows["step"], rows["step_min"]
    per_100ms = 100.0 / (st_min["frames_per_step"] * hop_ms)
    figures = {
        "step_over_whole_at_step": st["invoke_instructions"] / whole,
        "step_decision_ms": st["decision_ms"],
        "finest_step_decision_ms": st_min["decision_ms"],
        "finest_steps_per_100ms": per_100ms,
        "finest_steps_of_100ms_over_one_whole": st_min["invoke_instructions"] * per_100ms / whole,
        "max_abs_estimate_error": max(abs(r["invoke_error"]) for r in rows.values()),
        "decision_every_hop": st_min["frames_per_step"] == 1,
    }
    for name, r in rows.items():
        if name.startswith("step_min_"):
            figures[f"{name}_over_step_min"] = r["invoke_instructions"] / st_min["invoke_instructions"]
            figures[f"{name}_steps_of_100ms_over_one_whole"] = r["invoke_instructions"] * per_100ms / whole
    print(f"step ({st['decision_ms']:g} ms) / whole Invoke: {figures['step_over_whole_at_step']:.3f} (target <= 0.25); "
          f"{per_100ms:g} steps of {st_min['decision_ms']:g} ms / one whole Invoke: "
          f"{figures['finest_steps_of_100ms_over_one_whole']:.3f} (target <= 0.5); largest estimate error "
          f"{100 * figures['max_abs_estimate_error']:.1f} % (target 5 %)")
    report = json.loads((run.export / "report.json").read_text())
    save(args.out, {
        "about": "Instructions per Invoke on the emulated STM32F405 (QEMU netduinoplus2, -icount shift=0; TFLM + "
                 "CMSIS-NN at the pin, linked as the NUCLEO-F446RE) of one run's whole-window int8 model and its step "
                 "models (same weights), against the cost model; benchmarks/bench_streaming_chip.py.",
        "run": str(run.root), "config": config.name, "hop_ms": hop_ms, "model": report.get("model"),
        "genotype": _genotype(run), "int8_test_accuracy": report.get("int8", {}).get("accuracy"),
        "board": BOARD, "seconds_streamed": args.seconds, "tflm_commit": tflm.PIN["tflm"],
        "host": platform.node(), "measured": time.strftime("%Y-%m-%d %H:%M:%S"),
        "command": " ".join(["python", "benchmarks/bench_streaming_chip.py", *sys.argv[1:]]),
        "builds": rows, "figures": figures,
    }, args.under)
    print(f"wrote {args.out}")
    return 0


def _export_check(run: RunDir) -> dict | None:
    streaming = json.loads((run.export / "report.json").read_text()).get("streaming") or {}
    return (streaming.get("check") or {}).get("int8")


def _genotype(run: RunDir):
    """The trained network's architecture (train/metrics.json; the search's genotype before --time-padding)."""
    path = run.root / "train" / "metrics.json"
    if path.is_file():
        arch = json.loads(path.read_text()).get("settings", {}).get("model_kwargs", {}).get("arch")
        if arch:
            return arch
    path = run.root / "search" / "result.json"
    return json.loads(path.read_text()).get("genotype") if path.is_file() else None


if __name__ == "__main__":
    sys.exit(main())
