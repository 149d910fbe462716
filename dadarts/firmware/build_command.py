"""`dadarts firmware build RUN --target BOARD`: build the firmware from the run's export and run it.

host / qemu-m4: builds the fixed-point front-end, the application parts and (with --tflm-root) the TFLM
application from RUN/export/firmware, then runs the application parts' tests and the front-end against
the Python reference (on the emulated Cortex-M4 with its instruction count); with --tflm-root and --wav
the keyword application runs on the WAV file. A microcontroller board (stm32f405, nucleo-f446re,
nano33ble): builds the streaming application (kws_app with --tflm-root, else the tethered build),
reports flash and RAM by part from the linker map, and on the stm32f405 (QEMU netduinoplus2) plays a
check clip into it.
"""
from __future__ import annotations

import argparse
import subprocess
from pathlib import Path

from ..errors import UserError

TARGET_HELP = ("a board preset of firmware/CMakePresets.json: host (gcc on this machine), mps2-an386 (alias qemu-m4: "
               "QEMU, Cortex-M4F, semihosting), ...")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("run", help="run directory with export/firmware (from `dadarts export RUN --int8`)")
    from .build import target_names
    p.add_argument("--target", choices=target_names(), default="host", help=TARGET_HELP)
    p.add_argument("--tflm", action="store_true",
                   help="the model under the project's pinned TFLite Micro build (dadarts/firmware/tflm.py, scripts/setup.sh)")
    p.add_argument("--tflm-root", metavar="DIR",
                   help="TFLite Micro tree + library built with TFLM's own tools; adds the keyword application")
    p.add_argument("--tflm-lib", metavar="FILE",
                   help="with --tflm-root: the libtensorflow-microlite.a built for this target (default: the one in the tree)")
    p.add_argument("--wav", metavar="FILE", help="with --tflm-root: run the application on this 16 kHz mono WAV")


def firmware_dir(run) -> Path:
    """RUN/firmware: builds and the bench report of the firmware stage."""
    return run.root / "firmware"


def check_clip(samples: int = 16000):
    """One deterministic second of audio (chirp + noise + silence), zero-padded to a clip of `samples`
    (the model's), for the build's self-check."""
    import numpy as np
    rng = np.random.default_rng(7)
    t = np.arange(16000) / 16000
    x = 9000 * np.sin(2 * np.pi * (200 * t + 1500 * t ** 2)) * (t < 0.6) + rng.normal(0, 40, 16000)
    x = np.pad(x, (0, max(0, samples - x.size)))
    return np.clip(np.round(x), -32768, 32767).astype(np.int16)[None]


def run_app(build_dir: Path, target: str, wav: Path) -> str:
    from .build import QEMU_ARGS
    if target == "host":
        cmd, cwd = [str(build_dir / "kws_app"), str(wav.resolve())], None
    else:
        semi = f"enable=on,target=native,arg=kws_app,arg={wav.name}"
        cmd, cwd = [*QEMU_ARGS, "-semihosting-config", semi, "-kernel", str(build_dir / "kws_app.elf")], wav.parent
    r = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        raise UserError(f"The keyword application failed on {wav} (status {r.returncode}): {r.stdout.strip()} {r.stderr.strip()}")
    return r.stdout


def python_label(inputs, wav: Path) -> tuple[str, list[str]]:
    """The keyword the Python pipeline gives for `wav`: float MFCC, int8 quantisation, the int8 model."""
    import numpy as np
    import torch
    from ai_edge_litert.interpreter import Interpreter

    from ..data.wavio import BadWav, read_wav
    from ..frontend import fixed
    from ..frontend.mfcc import Mfcc
    try:
        pcm = read_wav(wav)
    except BadWav as exc:
        raise UserError(f"{exc}: give a 16 kHz mono 16-bit WAV file.") from None
    with torch.no_grad():
        mfcc = Mfcc(inputs.config)(torch.from_numpy(pcm)[None]).double().numpy()[0]   # padded/trimmed to its clip
    q = fixed.quantize(mfcc, inputs.mean, inputs.std, inputs.input_scale, inputs.input_zero_point)
    it = Interpreter(model_path=str(inputs.run.tflite_int8))
    it.allocate_tensors()
    inp, out = it.get_input_details()[0], it.get_output_details()[0]
    it.set_tensor(inp["index"], q.reshape(inp["shape"]))
    it.invoke()
    labels = app_labels(inputs.tables_dir)
    return labels[int(np.argmax(it.get_tensor(out["index"]).ravel()))], labels


def app_labels(tables_dir: Path) -> list[str]:
    """Labels in model_settings.h (KWS_LABELS), the ones the application prints."""
    import re
    m = re.search(r"^#define KWS_LABELS \{(.*)\}\s*$", (tables_dir / "model_settings.h").read_text(), re.MULTILINE)
    if not m:
        raise UserError(f"{tables_dir / 'model_settings.h'} has no KWS_LABELS: re-run the export.")
    return re.findall(r'"((?:[^"\\]|\\.)*)"', m.group(1))


def run(args) -> int:
    from ..rundir import record_run
    from . import build, runio

    board = build.board_of(args.target)
    if args.tflm and args.tflm_root:
        raise UserError("--tflm uses the pinned TFLite Micro build; --tflm-root names another: give one of them.")
    if args.tflm:
        from . import tflm
        args.tflm_root, args.tflm_lib = tflm.for_model(args.target, runio.load_inputs(args.run).firmware_tflite)
    if args.wav and not args.tflm_root:
        raise UserError("--wav runs the keyword application, which needs --tflm-root (see docs/firmware.md).")
    if args.wav and board.board not in ("host", "mps2_an386"):
        raise UserError(f"--wav plays a file on the host or qemu-m4; stream it into {args.target} with "
                        f"`dadarts firmware stream RUN --wav FILE`.")
    if args.tflm_lib and not args.tflm_root:
        raise UserError("--tflm-lib goes with --tflm-root (the TFLM headers).")
    if args.tflm_lib and not Path(args.tflm_lib).is_file():
        raise UserError(f"{args.tflm_lib} does not exist: give the libtensorflow-microlite.a built for {args.target}.")
    if args.tflm_root:
        build.require_tflm_tree(args.tflm_root)
    if args.wav and not Path(args.wav).is_file():
        raise UserError(f"{args.wav} does not exist: give a 16 kHz mono 16-bit WAV file.")
    inputs = runio.load_inputs(args.run)
    if args.wav:
        inputs.refuse_streaming("--wav (one label per file)")
    if not args.tflm_root and board.board not in ("host", "mps2_an386"):
        inputs.refuse_streaming("the tethered build (the host would keep the states)")
    if board.board in ("host", "mps2_an386"):
        result = _frontend_target(args, inputs)
    else:
        result = _board_target(args, inputs, board)
    record_run(inputs.run, f"firmware_build_{args.target.replace('-', '_')}", args._argv, **result)
    return 0


def _frontend_target(args, inputs) -> dict:
    """host / qemu-m4: the front-end against the Python reference, the host tests, the app on a WAV."""
    import numpy as np

    from ..frontend import fixed
    from . import build
    config = inputs.config
    build_dir = build.cmake_build(inputs.tables_dir, firmware_dir(inputs.run) / f"build-{args.target}",
                                  args.target, tflm_root=args.tflm_root, tflm_lib=args.tflm_lib)
    print(f"built {config} front-end for {args.target} in {build_dir}")
    pcm = check_clip(config.clip_samples)
    expected = fixed.features(pcm[0], inputs.tables)
    result = {"target": args.target, "build_dir": str(build_dir), "config": config.name}
    if args.target == "host":
        r = subprocess.run(["ctest", "--output-on-failure"], cwd=build_dir, capture_output=True, text=True, timeout=600)
        if r.returncode != 0:
            raise UserError(f"The firmware's host tests failed: {r.stdout.strip().splitlines()[-1]} (run ctest in {build_dir}).")
        print("host tests (recogniser, feature provider, audio provider): passed")
        got = build.run_frontend_host(build_dir, pcm, config.clip_samples, config.n_mfcc, repeat=20)
        result["us_per_frame"] = got.us_per_frame
    else:
        got, status = build.run_frontend_qemu(build_dir, pcm, config.clip_samples, config.n_mfcc, expected=expected)
        if status not in (0, 1):
            raise UserError(f"The Cortex-M4 front-end did not run under QEMU (status {status}): {got.log.strip()}")
        result["instructions_per_frame"] = got.instructions_per_frame
    same = got.features.shape == expected.shape and bool(np.array_equal(got.features, expected))
    result["bit_exact"] = same
    if not same:
        raise UserError(f"The C front-end ({args.target}) differs from the Python fixed-point reference on the "
                        f"check clip: the generated tables do not match this dadarts; re-run the export.")
    timing = (f"{result['us_per_frame']:.1f} us/frame on this host" if args.target == "host"
              else f"{result['instructions_per_frame']:,} instructions/frame on the emulated Cortex-M4")
    print(f"front-end: {expected.shape[0]} frames bit-exact with the Python reference, {timing}")
    if args.wav:
        out = run_app(build_dir, args.target, Path(args.wav))
        print(out.rstrip())
        last = [line.split()[1] for line in out.splitlines() if line.startswith("last ")]
        expected_label, _ = python_label(inputs, Path(args.wav))
        result.update(app_label=last[-1] if last else None, python_label=expected_label,
                      same_label=bool(last) and last[-1] == expected_label)
        print(f"firmware: {result['app_label']}, Python pipeline: {expected_label} "
              f"({'same keyword' if result['same_label'] else 'DIFFERENT'})")
    elif args.tflm_root:
        print(f"keyword application built: {build_dir / ('kws_app' if args.target == 'host' else 'kws_app.elf')}")
    else:
        print("keyword application: not built (it needs --tflm-root, a TFLM build; see docs/firmware.md)")
    return result


def _board_target(args, inputs, board) -> dict:
    """A microcontroller board: build the streaming app, say what it takes of the chip from the linker map
    and, on a board QEMU runs, play the check clip into it (the device's model input must equal the
    Python front-end's; with TFLM the arena and Invoke are measured on the chip)."""
    from ..frontend import fixed
    from . import build
    from .mapfile import parse_map
    from .qemu_stream import PRESET, instructions, run_stream
    from .stream_command import host_model

    app = "kws_app" if args.tflm_root else "kws_app_tethered"
    build_dir = build.cmake_build(inputs.tables_dir, firmware_dir(inputs.run) / f"build-{args.target}", args.target,
                                  tflm_root=args.tflm_root, tflm_lib=args.tflm_lib, targets=(app,))
    sizes = parse_map(build_dir / f"{app}.map")
    flash, ram = sizes.regions.get("FLASH"), sizes.regions.get("RAM")
    print(f"built {app}.elf for {board.description} in {build_dir}")
    for what, total, region, parts in (("flash", sizes.flash_total, flash, sizes.flash),
                                       ("RAM", sizes.ram_total, ram, sizes.ram)):
        split = ", ".join(f"{k} {v / 1024:.1f}" for k, v in sorted(parts.items(), key=lambda kv: -kv[1]) if v >= 512)
        print(f"  {what}: {total / 1024:.1f} KiB of {region.length / 1024:.0f} KiB ({split} KiB)")
    result = {"target": args.target, "build_dir": str(build_dir), "config": inputs.config.name, "app": app,
              "sizes": sizes.to_dict()}
    if board.preset != PRESET:
        print(f"{args.target} is built, not run: no emulator for it here (flash it, see docs/firmware.md).")
        return result
    pcm = check_clip()[0]
    answer, size = host_model(inputs.run.tflite_int8) if not args.tflm_root else (None, 0)
    dev = run_stream(build_dir / f"{app}.elf", pcm, answer=answer, input_size=size, timeout_s=600)
    s = dev.last_stats
    result.update(frontend_instructions_per_frame=instructions(s["fe_cycles"], s), stack_bytes=s["stack"],
                  arena_used_bytes=s["arena"] if args.tflm_root else None,
                  invoke_instructions=instructions(s["invoke_cycles"], s) if args.tflm_root else None)
    if not args.tflm_root:
        expected = fixed.features(pcm, inputs.tables).ravel()
        result["bit_exact"] = bool(dev.inputs) and bool((dev.inputs[0] == expected).all())
        if not result["bit_exact"]:
            raise UserError(f"The model input the {args.target} computed differs from the Python fixed-point front-end "
                            f"on the check clip: the generated tables do not match this dadarts; re-run the export.")
        print(f"ran on the emulated chip: model input bit-exact with the Python front-end, "
              f"{result['frontend_instructions_per_frame']:,} instructions/frame, stack {s['stack']:,} B")
    else:
        print(f"ran on the emulated chip: Invoke {result['invoke_instructions']:,} instructions, arena {s['arena']:,} of "
              f"{s['arena_size']:,} B used, front-end {result['frontend_instructions_per_frame']:,} instructions/frame, "
              f"stack {s['stack']:,} of {s['stack_size']:,} B")
    return result
