"""`dadarts firmware check RUN --board BOARD`: the run's int8 model on the emulated chip, against the cost
model and against the Python pipeline.

Builds the full application (TFLite Micro + CMSIS-NN at the pin, dadarts/firmware/tflm.py) for the
STM32F405 that QEMU emulates (netduinoplus2), linked with the memory map of BOARD (for NUCLEO-F446RE:
512 KB flash, 128 KB RAM, no CCM, so that a model too big for that board fails the link), streams audio
into its UART (by default a 2-minute cut of the run's test stream) and compares:
- Invoke instructions counted on the chip with the cost model's prediction for the same .tflite, and the
  milliseconds both mean at BOARD's clock (cycles per instruction of the cost model);
- flash and RAM from the linker map with the estimate (dadarts.costmodel.estimate);
- the device's detections with the Python pipeline's on the same audio: fixed-point front-end twin, the
  int8 model in LiteRT's reference kernels (what TFLM computes), recogniser twin. Every model output is
  traced (KWS_TRACE_OUTPUTS) so that an int8 difference between CMSIS-NN and the reference kernels is
  counted and explains any mismatch.
With --streaming (an export made with `dadarts export RUN --int8 --streaming`, whose export/firmware is
the step model's build): the step model runs once per step of N new frames and carries its states
(firmware/app/kws_main.c); its outputs and detections are compared with the streaming twin (the step
.tflite in LiteRT's reference kernels over the same fixed-point frames, N at a time from a reset, states
fed back, warm-up steps no decision), and the instructions per decision (Invoke + state copies) with
the streaming cost (dadarts.costmodel.stream).
Writes RUN/firmware/check.json (kind `firmware_check`). Lives here, not in dadarts/firmware, because it
runs the stream twin of dadarts/evaluate.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from ..errors import UserError

KIND = "firmware_check"
# Boards the check can emulate: an STM32F4 with the F405's core (Cortex-M4F) and CMSIS-NN paths, linked
# with its own memory map (firmware/boards/<folder>/<folder>.ld).
STAND_INS = {"STM32F405": "stm32f405", "NUCLEO-F446RE": "nucleo_f446re"}


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("run", help="run directory with export/firmware (from `dadarts export RUN --int8`)")
    p.add_argument("--board", default="NUCLEO-F446RE", choices=sorted(STAND_INS),
                   help="the board whose memory map the image is linked with and whose clock turns instructions into ms")
    p.add_argument("--wav", metavar="FILE", help="16 kHz mono recording to stream (default: a cut of the run's test stream)")
    p.add_argument("--minutes", type=float, default=2.0, help="length of the test stream's cut (default 2)")
    p.add_argument("--data", help="dataset of the test stream (default: the run's)")
    p.add_argument("--timeout", type=float, default=3600, metavar="S", help="give up after this many seconds")
    p.add_argument("--streaming", action="store_true",
                   help="the step model of `dadarts export --int8 --streaming`: one decision per step, against the "
                        "streaming twin and the streaming cost")


def _detections(models, out, settings):
    from .streaming import detections
    _, found = detections(models, out, settings)
    return out.output, out.times_ms, [(int(round(d.time_s * 1000)), d.label, d.score) for d in found]


def python_detections(tflite: Path, tables, settings, labels: list[str], pcm: np.ndarray):
    """(outputs (N, K) int8, their times in ms, [(time ms, label, score)]) of the Python pipeline on `pcm`:
    the firmware's stream twin with the int8 model in LiteRT's reference kernels."""
    from .runmodels import Int8Model, RunModels
    from .streaming import run_model
    models = RunModels(run=None, labels=list(labels), task="", config=tables.config, mean=None, std=None,
                       float_model=None, int8=Int8Model(tflite, exact=True), tables=tables)
    return _detections(models, run_model(models, pcm, settings.inference_every_hops), settings)


def python_step_detections(tflite: Path, tables, settings, labels: list[str], pcm: np.ndarray, step: dict):
    """python_detections for a step model: the streaming twin (dadarts.evaluate.streaming.run_step_model)."""
    from ..export.step_tflite import StepRunner
    from .runmodels import RunModels
    from .streaming import run_step_model
    models = RunModels(run=None, labels=list(labels), task="", config=tables.config, mean=None, std=None,
                       float_model=None, int8=None, tables=tables, step=StepRunner(Path(tflite).read_bytes()),
                       step_meta=step)
    return _detections(models, run_step_model(models, pcm), settings)


def build_app(tables_dir: Path, build_dir: Path, board: str, tflm_tree: Path, tflm_lib: Path,
              defines: dict | None = None) -> Path:
    """kws_app.elf for the emulated STM32F405, linked with `board`'s memory map, outputs traced."""
    from ..firmware import build
    folder = STAND_INS[board]
    script = build.FIRMWARE_DIR / "boards" / folder / f"{folder}.ld"
    bdir = build.cmake_build(tables_dir, build_dir, "stm32f405", tflm_root=tflm_tree, tflm_lib=tflm_lib,
                             targets=("kws_app",), defines={"KWS_TRACE_OUTPUTS": "ON", "KWS_LINKER_SCRIPT": str(script),
                                                            **(defines or {})})
    return bdir / "kws_app.elf"


def check(tables_dir: Path, tflite: Path, tables, settings, labels: list[str], pcm: np.ndarray, board: str,
          build_dir: Path, timeout_s: float = 3600, log=print, step: dict | None = None) -> dict:
    """Build, stream, measure and compare (see the module's docstring). Returns the figures. `step`:
    stream_step.json of the step model `tflite` (built from `tables_dir`), for a streaming check."""
    from ..costmodel.arena import measure_arena
    from ..costmodel.estimate import estimate_layers_on
    from ..costmodel.graph import parse_tflite
    from ..costmodel.kernels import cycles_per_instr, library_for, model_instructions
    from ..costmodel.targets import get_target
    from ..firmware import tflm
    from ..firmware.mapfile import parse_map
    from ..firmware.qemu_stream import instructions, run_stream

    target = get_target(board)
    tree = tflm.find_tree("m4f")
    lib = tflm.library("m4f", tree, log=log)
    elf = build_app(tables_dir, build_dir, board, tree, lib)
    sizes = parse_map(elf.with_suffix(".map"))
    log(f"streaming {len(pcm) / 16000:.0f} s of audio into the emulated STM32F405 (TFLM {tflm.PIN['tflm'][:7]} + CMSIS-NN, "
        f"linked as {board})")
    dev = run_stream(elf, pcm, timeout_s=timeout_s, log=log)
    measured = dev.measured()
    # The device hears silence after the stream until it is stopped; Python hears a second of it, so that
    # neither has a file's end: what both decide up to the stream's end is compared.
    end_ms = len(pcm) * 1000 // 16000
    heard = np.concatenate([pcm, np.zeros(16000, np.int16)])
    py_out, py_times, py_found = (python_step_detections(tflite, tables, settings, labels, heard, step) if step
                                  else python_detections(tflite, tables, settings, labels, heard))
    py_out, py_found = py_out[py_times <= end_ms], [d for d in py_found if d[0] <= end_ms]
    dev_found = [d for d in dev.detections if d[0] <= end_ms]
    dev_out = [o for o, t in zip(dev.outputs, dev.output_times_ms) if t <= end_ms]

    model = tflite.read_bytes()
    graph = parse_tflite(model)
    library = library_for(target)
    cpi, _ = cycles_per_instr(target.core, library)
    arena = measure_arena(model).total_bytes
    estimate = estimate_layers_on(graph.layers, len(model), arena, tables.config, target)
    streaming = {}
    if step:
        from ..costmodel.stream import step_cost, streaming_ram_terms
        state_bytes = [int(s["bytes"]) for s in step["states"]]
        cost = step_cost(graph.layers, state_bytes, target)
        predicted = cost.instructions                 # the firmware times Invoke with the state copies
        # RAM as the streaming firmware holds it (the same rule as mcu-eval and the search): the states'
        # staging buffer, and a feature ring of the step's frames instead of the window's
        estimate["ram_bytes"] = sum(streaming_ram_terms(estimate["ram_terms"], arena, cost.state_bytes,
                                                        int(step["frames_per_step"]), tables.config).values())
        s = dev.last_stats
        streaming = {"streaming": True, "frames_per_step": int(step["frames_per_step"]),
                     "warmup_steps": int(step["warmup_steps"]), "state_bytes": cost.state_bytes,
                     "decision_ms": int(step["frames_per_step"]) * tables.config.hop * 1000 / 16000,
                     "state_copy_instructions": instructions(s.get("state_cycles", 0), s),
                     "state_copy_instructions_predicted": round(cost.state_copy_instructions),
                     "step_cost": cost.to_dict()}
    else:
        predicted = model_instructions(graph.layers, library, target.core)
    n = min(len(dev_out), len(py_out))
    diff = np.abs(np.stack(dev_out[:n]).astype(int) - py_out[:n].astype(int)) if n else np.zeros((0, 1), int)
    same = [d for d in dev_found if d in py_found]
    ms = lambda instr: instr * cpi / (target.clock_mhz * 1e3)  # noqa: E731
    return {
        "board": board, "clock_mhz": target.clock_mhz, "cycles_per_instruction": cpi, "library": library,
        "tflm_commit": tflm.PIN["tflm"], "seconds": len(pcm) / 16000, "wall_s": dev.wall_s,
        "invoke_instructions": measured["invoke_instructions"], "invoke_instructions_predicted": round(predicted),
        "invoke_error": measured["invoke_instructions"] / predicted - 1 if predicted else None,
        "invoke_ms": ms(measured["invoke_instructions"]), "invoke_ms_predicted": ms(predicted),
        "frontend_instructions_per_frame": measured["frontend_instructions_per_frame"],
        "arena_used_bytes": measured["arena_used_bytes"], "arena_reserved_bytes": measured["arena_reserved_bytes"],
        "stack_used_bytes": measured["stack_used_bytes"], "stack_reserved_bytes": measured["stack_reserved_bytes"],
        "dropped_samples": measured["dropped_samples"],
        "flash_bytes": sizes.flash_total, "ram_bytes": sizes.ram_total,
        "flash_bytes_estimate": estimate["flash_bytes"], "ram_bytes_estimate": estimate["ram_bytes"],
        "flash_region_bytes": sizes.regions["FLASH"].length, "ram_region_bytes": sizes.regions["RAM"].length,
        "inferences": len(dev_out), "python_inferences": len(py_out),
        "outputs_identical": float((diff == 0).all(axis=1).mean()) if n else None,
        "outputs_max_lsb": int(diff.max()) if diff.size else None,
        "device_detections": [list(d) for d in dev_found], "python_detections": [list(d) for d in py_found],
        "same_detections": len(same) == len(dev_found) == len(py_found),
        **streaming,
    }


def report(r: dict, log=print) -> None:
    kib = lambda b: f"{b / 1024:.1f} KiB"  # noqa: E731
    if r.get("streaming"):
        log(f"streaming: a decision every {r['frames_per_step']} frames ({r['decision_ms']:g} ms), {r['state_bytes']:,} B of "
            f"state; its copies {r['state_copy_instructions']:,} instructions measured, "
            f"{r['state_copy_instructions_predicted']:,} predicted (counted in Invoke below)")
    log(f"Invoke: {r['invoke_instructions']:,} instructions measured, {r['invoke_instructions_predicted']:,} predicted "
        f"({100 * r['invoke_error']:+.1f} %); at {r['board']}'s {r['clock_mhz']:g} MHz and {r['cycles_per_instruction']:.3f} "
        f"cycles per instruction: {r['invoke_ms']:.1f} ms (predicted {r['invoke_ms_predicted']:.1f} ms)")
    log(f"flash: {kib(r['flash_bytes'])} of {kib(r['flash_region_bytes'])} from the linker map, {kib(r['flash_bytes_estimate'])} "
        f"estimated; RAM: {kib(r['ram_bytes'])} of {kib(r['ram_region_bytes'])}, {kib(r['ram_bytes_estimate'])} estimated; "
        f"arena {r['arena_used_bytes']:,} of {r['arena_reserved_bytes']:,} B used, stack {r['stack_used_bytes']:,} of "
        f"{r['stack_reserved_bytes']:,} B")
    log(f"model outputs: {r['inferences']} on the chip, {100 * (r['outputs_identical'] or 0):.1f} % identical to "
        f"the reference kernels' (max {r['outputs_max_lsb']} LSB apart); dropped {r['dropped_samples']} samples")
    n_same = sum(d in r["python_detections"] for d in r["device_detections"])
    log(f"same detections as Python: {n_same} of {max(len(r['python_detections']), len(r['device_detections']))}"
        + ("" if r["same_detections"] else f" (device {r['device_detections']}, Python {r['python_detections']})"))


def run(args) -> int:
    from ..data.wavio import BadWav, read_wav
    from ..export.recognizer_settings import JSON_NAME, read_settings
    from ..export.step_export import read_step
    from ..firmware import runio
    from ..firmware.build_command import app_labels, firmware_dir
    from ..rundir import record_run, write_json_atomic

    inputs = runio.load_inputs(args.run)
    step = read_step(inputs.run) if args.streaming else None
    if inputs.streaming != bool(step):
        raise UserError(f"{inputs.tables_dir} holds the {'step' if inputs.streaming else 'whole-window'} model's build: "
                        + ("add --streaming." if inputs.streaming else
                           "re-run `dadarts export RUN --int8 --streaming` to check the step model."))
    if args.wav:
        wav = Path(args.wav)
        if not wav.is_file():
            raise UserError(f"{wav} does not exist: give a 16 kHz mono 16-bit WAV file.")
    else:
        from . import session
        from .runmodels import load_run
        models = load_run(args.run, need_int8=True)
        wav, _ = session.run_stream(models, session.stream_dataset(models, args.data), "testing", args.minutes)
    try:
        pcm = read_wav(wav)
    except BadWav as exc:
        raise UserError(f"{exc}: give a 16 kHz mono 16-bit WAV file.") from None
    pcm = pcm[:int(args.minutes * 60 * 16000)]
    settings = read_settings(inputs.run.root / "export" / JSON_NAME)
    out_dir = firmware_dir(inputs.run)
    tflite = inputs.firmware_tflite
    r = check(inputs.tables_dir, tflite, inputs.tables, settings, app_labels(inputs.tables_dir), pcm, args.board,
              out_dir / f"build-check-{STAND_INS[args.board]}{'-step' if step else ''}", args.timeout, step=step)
    r["wav"] = str(Path(wav).resolve())
    report(r)
    path = out_dir / "check.json"
    write_json_atomic(path, r, kind=KIND)
    record_run(inputs.run, "firmware_check", args._argv, board=args.board, same_detections=r["same_detections"],
               invoke_error=r["invoke_error"])
    print(f"wrote {path}")
    return 0
