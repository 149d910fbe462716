"""`dadarts firmware stream RUN --wav FILE`: the streaming firmware on the emulated STM32F405, listening.

Builds the run's firmware for the stm32f405 board (QEMU -M netduinoplus2) and streams the WAV into the
chip's audio UART as a microphone would deliver it. With --tflm-root the model runs on the chip under
TFLite Micro (kws_app); without, the tethered build (kws_app_tethered) runs front-end, feature ring,
stride and recogniser on the chip and the int8 model on the host. Prints the device's detections and
timing, and writes RUN/firmware/stream.json (kind `firmware_stream`).
"""
from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import UserError



def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("run", help="run directory with export/firmware (from `dadarts export RUN --int8`)")
    p.add_argument("--wav", metavar="FILE", required=True, help="16 kHz mono recording to stream into the device")
    p.add_argument("--tflm", action="store_true",
                   help="the model under the project's pinned TFLite Micro build (dadarts/firmware/tflm.py, scripts/setup.sh)")
    p.add_argument("--tflm-root", metavar="DIR",
                   help="TFLite Micro tree built for the Cortex-M4: the model runs on the chip (default: on the host)")
    p.add_argument("--tflm-lib", metavar="FILE", help="with --tflm-root: its libtensorflow-microlite.a")
    p.add_argument("--timeout", type=float, default=3600, metavar="S", help="give up after this many seconds (default 3600)")


def host_model(tflite: Path):
    """The int8 model in LiteRT, answering the tethered device's requests."""
    import numpy as np
    from ai_edge_litert.interpreter import Interpreter
    it = Interpreter(model_path=str(tflite))
    it.allocate_tensors()
    inp, out = it.get_input_details()[0], it.get_output_details()[0]

    def answer(x: np.ndarray) -> np.ndarray:
        it.set_tensor(inp["index"], x.reshape(inp["shape"]))
        it.invoke()
        return it.get_tensor(out["index"]).ravel()
    return answer, int(np.prod(inp["shape"]))


def run(args) -> int:
    from ..data.wavio import BadWav, read_wav
    from ..rundir import record_run, write_json_atomic
    from . import build, runio
    from .build_command import firmware_dir
    from .qemu_stream import PRESET as TARGET, instructions, run_stream

    if args.tflm and args.tflm_root:
        raise UserError("--tflm uses the pinned TFLite Micro build; --tflm-root names another: give one of them.")
    if args.tflm:
        from . import tflm
        args.tflm_root, args.tflm_lib = tflm.for_model(TARGET, runio.load_inputs(args.run).firmware_tflite)
    if args.tflm_lib and not args.tflm_root:
        raise UserError("--tflm-lib goes with --tflm-root (the TFLM headers).")
    if not Path(args.wav).is_file():
        raise UserError(f"{args.wav} does not exist: give a 16 kHz mono 16-bit WAV file.")
    try:
        pcm = read_wav(args.wav)
    except BadWav as exc:
        raise UserError(f"{exc}: give a 16 kHz mono 16-bit WAV file.") from None
    inputs = runio.load_inputs(args.run)
    tethered = not args.tflm_root
    if tethered:
        inputs.refuse_streaming("the tethered build (the host would keep the states)")
    target = "kws_app_tethered" if tethered else "kws_app"
    bdir = build.cmake_build(inputs.tables_dir, firmware_dir(inputs.run) / f"build-{TARGET}", TARGET,
                             tflm_root=args.tflm_root, tflm_lib=args.tflm_lib, targets=(target,))
    answer, size = host_model(inputs.run.tflite_int8) if tethered else (None, 0)
    print(f"streaming {len(pcm) / 16000:.1f} s of {args.wav} into {target} on the emulated STM32F405"
          f" ({'model on the host' if tethered else 'model on the chip, TFLite Micro'})")
    dev = run_stream(bdir / f"{target}.elf", pcm, answer=answer, input_size=size, timeout_s=args.timeout, log=print)
    for line in dev.banner:
        print(line)
    for t, label, score in dev.detections:
        print(f"  {t / 1000:8.2f} s  {label}  (score {score})")
    s = dev.last_stats
    timing = {"frontend_instructions_per_frame": instructions(s.get("fe_cycles", 0), s),
              "invoke_instructions": None if tethered else instructions(s.get("invoke_cycles", 0), s)}
    print(f"{len(dev.detections)} detections in {s.get('t_ms', 0) / 1000:.1f} s of audio ({dev.wall_s:.0f} s wall); "
          f"front-end {timing['frontend_instructions_per_frame']:,} instructions/frame"
          + ("" if tethered else f", Invoke {timing['invoke_instructions']:,} instructions")
          + f"; stack {s.get('stack', 0):,} of {s.get('stack_size', 0):,} B"
          + ("" if tethered else f"; arena {s.get('arena', 0):,} of {s.get('arena_size', 0):,} B")
          + f"; dropped {s.get('dropped', 0)} samples")
    out = firmware_dir(inputs.run) / "stream.json"
    write_json_atomic(out, {"wav": str(Path(args.wav).resolve()), "seconds": len(pcm) / 16000, "target": TARGET,
                            "elf": target, "model_on": "host" if tethered else "device",
                            "detections": [{"time_ms": t, "label": label, "score": score} for t, label, score in dev.detections],
                            "stats": dev.stats, "banner": dev.banner, **timing, "wall_s": dev.wall_s},
                      kind="firmware_stream")
    record_run(inputs.run, "firmware_stream", args._argv, wav=str(args.wav), model_on="host" if tethered else "device")
    print(f"wrote {out}")
    return 0
