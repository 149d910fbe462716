"""Flash and SRAM of the full keyword-spotting application on the STM32F405, from the linker map, by part.

Builds the run's kws_app (TFLite Micro + CMSIS-NN, the board layer, the front-end, the recogniser) for
the stm32f405 board three ways: with the generated int8-only op resolver (the default), with the
all-types registrations (-DKWS_GENERIC_KERNELS=ON; the difference is the flash the int8-only resolver
saves), and with CMSIS-DSP's FFT in the front-end (-DKWS_CMSIS_DSP_ROOT). For each: flash and RAM by
part (dadarts.firmware.mapfile) against the chip's 1 MiB / 128 KiB. The default build then runs on the
emulated chip (QEMU netduinoplus2) on two seconds of audio: arena and stack high-water marks, Invoke
and front-end instructions. Prints a table and writes benchmarks/results/firmware_sizes.json.

    python benchmarks/bench_firmware_sizes.py --run RUN --tflm-root TREE [--tflm-lib LIB]
    (TREE/LIB default to $DADARTS_TFLM_ROOT_M4 / $DADARTS_TFLM_LIB_M4)
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from dadarts.costmodel import memory
from dadarts.errors import UserError
from dadarts.firmware import build, cmsis_dsp, runio, tflm
from dadarts.firmware.build_command import check_clip
from dadarts.firmware.mapfile import parse_map
from dadarts.firmware.qemu_stream import PRESET, run_stream
from dadarts.rundir import write_text_atomic

OUT = Path(__file__).resolve().parent / "results" / "firmware_sizes.json"
ROOT = Path(__file__).resolve().parents[1]


def _commit(path: Path) -> str | None:
    r = subprocess.run(["git", "-C", str(path), "rev-parse", "HEAD"], capture_output=True, text=True)
    return r.stdout.strip() or None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", required=True, help="run directory with export/firmware (dadarts export RUN --int8)")
    ap.add_argument("--tflm-root", default=os.environ.get("DADARTS_TFLM_ROOT_M4"))
    ap.add_argument("--tflm-lib", default=os.environ.get("DADARTS_TFLM_LIB_M4"))
    args = ap.parse_args()
    try:
        args.tflm_root, args.tflm_lib = tflm.m4f_or_pinned(args.tflm_root, args.tflm_lib)
    except UserError as exc:
        raise SystemExit(str(exc))
    inputs = runio.load_inputs(args.run)
    variants = {"int8_only_resolver": {}, "all_types_resolver": {"KWS_GENERIC_KERNELS": "ON"}}
    try:
        variants["int8_only_resolver_cmsis_dsp_fft"] = {"KWS_CMSIS_DSP_ROOT": str(cmsis_dsp.source_dir())}
    except UserError as exc:
        print(f"CMSIS-DSP front-end skipped: {exc}")
    builds = {}
    with tempfile.TemporaryDirectory(prefix="bench-sizes-") as tmp:
        for name, defines in variants.items():
            b = build.cmake_build(inputs.tables_dir, Path(tmp) / name, PRESET, tflm_root=args.tflm_root,
                                  tflm_lib=args.tflm_lib, targets=("kws_app",), defines=defines)
            builds[name] = parse_map(b / "kws_app.map").to_dict()
            flash, ram = builds[name]["flash_bytes"], builds[name]["ram_bytes"]
            print(f"{name:>34}: flash {flash:>9,} B  RAM {ram:>7,} B   flash {builds[name]['flash_by_part']}")
        elf = Path(tmp) / "int8_only_resolver" / "kws_app.elf"
        pcm = np.concatenate([check_clip()[0], np.zeros(16000, np.int16)])
        dev = run_stream(elf, pcm, timeout_s=1800)
    measured = {**dev.measured(), "banner": dev.banner}
    default = builds["int8_only_resolver"]
    regions = default["regions"]
    result = {
        "benchmark": "firmware sizes on the STM32F405",
        "run": str(Path(args.run).resolve()), "config": inputs.config.name,
        # the RAM terms the cost model prices itself (dadarts.costmodel.memory), for its application term
        "frontend_state_bytes": memory.frontend_state_bytes(inputs.config),
        "feature_ring_bytes": memory.feature_ring_bytes(inputs.config),
        "model_bytes": inputs.run.tflite_int8.stat().st_size,
        "tflm_root": str(Path(args.tflm_root).resolve()), "tflm_lib": args.tflm_lib, "tflm_commit": _commit(Path(args.tflm_root)) or tflm.PIN["tflm"],
        "compiler": subprocess.run(["arm-none-eabi-gcc", "--version"], capture_output=True, text=True).stdout.splitlines()[0],
        "builds": builds,
        "flash_saved_by_int8_only_resolver_bytes": builds["all_types_resolver"]["flash_bytes"] - default["flash_bytes"],
        "fits": default["flash_bytes"] <= regions["FLASH"]["length"] and default["ram_bytes"] <= regions["RAM"]["length"],
        "measured_on_emulated_chip": measured,
        "notes": "flash = text + rodata + data initialisers placed in the 1 MiB flash; RAM = data + bss (tensor arena "
                 "inside) + heap + stack reserved by the linker script, out of the 128 KiB SRAM (the 64 KiB CCM is "
                 "left free). Instructions: QEMU -icount shift=0, one instruction per virtual ns.",
        "dadarts_commit": _commit(ROOT), "host": platform.machine(), "date": time.strftime("%Y-%m-%d"),
    }
    if "int8_only_resolver_cmsis_dsp_fft" in builds:
        result["flash_added_by_cmsis_dsp_fft_bytes"] = builds["int8_only_resolver_cmsis_dsp_fft"]["flash_bytes"] - default["flash_bytes"]
    print(f"fits the STM32F405: {result['fits']}; int8-only resolver saves {result['flash_saved_by_int8_only_resolver_bytes']:,} B "
          f"of flash; arena {measured['arena_used_bytes']:,} of {measured['arena_reserved_bytes']:,} B used, stack "
          f"{measured['stack_used_bytes']:,} of {measured['stack_reserved_bytes']:,} B; Invoke "
          f"{measured['invoke_instructions']:,} instructions")
    write_text_atomic(OUT, json.dumps(result, indent=1) + "\n")
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
