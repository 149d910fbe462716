"""Build the firmware with CMake (host gcc or arm-none-eabi-gcc for QEMU mps2-an386) and run its front-end.

Used by `dadarts firmware build|bench`, the tests and benchmarks/bench_firmware.py. The C sources live in
firmware/ at the repository root; the generated tables come from a folder such as RUN/export/firmware.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import UserError

FIRMWARE_DIR = Path(__file__).resolve().parents[2] / "firmware"
TOOLCHAIN_FILE = FIRMWARE_DIR / "cmake" / "arm-none-eabi-m4.cmake"
TARGETS = ("host", "qemu-m4")
QEMU_ARGS = ["qemu-system-arm", "-M", "mps2-an386", "-nographic", "-monitor", "none", "-serial", "null",
             "-icount", "shift=0,sleep=off"]
ARM_PACKAGES = "gcc-arm-none-eabi libnewlib-arm-none-eabi libstdc++-arm-none-eabi-newlib qemu-system-arm"


def missing_tools(target: str) -> list[str]:
    """Programs the target's build needs that are not on PATH."""
    need = ["cmake", "gcc"] if target == "host" else ["cmake", "arm-none-eabi-gcc", "qemu-system-arm"]
    return [t for t in need if shutil.which(t) is None]


def require_tools(target: str) -> None:
    if target not in TARGETS:
        raise UserError(f"Unknown firmware target '{target}': use one of {', '.join(TARGETS)}.")
    missing = missing_tools(target)
    if missing:
        hint = (f"install them (Debian: apt-get install {ARM_PACKAGES})" if target == "qemu-m4"
                else "install cmake and gcc")
        raise UserError(f"The {target} firmware build needs {', '.join(missing)}: {hint}.")


def _run(cmd: list[str], cwd=None, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def cmake_build(tables_dir, build_dir, target: str = "host", tflm_root=None,
                targets: tuple[str, ...] = (), tflm_lib=None) -> Path:
    """Configure and build firmware/ for `target` with the tables in `tables_dir`; returns build_dir."""
    require_tools(target)
    tables_dir, build_dir = Path(tables_dir).resolve(), Path(build_dir).resolve()
    if not (tables_dir / "frontend_tables.c").is_file():
        raise UserError(f"{tables_dir} has no frontend_tables.c: run `dadarts export` for this run first.")
    cmd = ["cmake", "-S", str(FIRMWARE_DIR), "-B", str(build_dir), f"-DKWS_TABLES_DIR={tables_dir}",
           "-DCMAKE_BUILD_TYPE=Release"]
    if target == "qemu-m4":
        cmd.append(f"-DCMAKE_TOOLCHAIN_FILE={TOOLCHAIN_FILE}")
    if tflm_root:
        cmd.append(f"-DTFLM_ROOT={Path(tflm_root).resolve()}")
    if tflm_lib:
        cmd.append(f"-DTFLM_LIB={Path(tflm_lib).resolve()}")
    for step in (cmd, ["cmake", "--build", str(build_dir), "-j", str(min(2, os.cpu_count() or 1)),
                       *(a for t in targets for a in ("--target", t))]):
        r = _run(step)
        if r.returncode != 0:
            lines = (r.stdout + "\n" + r.stderr).strip().splitlines()
            errors = [l for l in lines if "error" in l.lower() or "undefined reference" in l] or lines[-1:] or ["no output"]
            raise UserError(f"The firmware build failed ({' '.join(step[:2])}): {errors[0].strip()} "
                            f"(full log: rerun `{' '.join(step)}`).")
    return build_dir


@dataclass
class FrontendRun:
    features: np.ndarray                 # (frames, F) int8, clips one after another
    us_per_frame: float | None = None    # host timing
    instructions_per_frame: int | None = None   # emulated Cortex-M4 (instructions, not cycles)
    log: str = ""


def run_frontend_host(build_dir, pcm: np.ndarray, clip: int, n_features: int, repeat: int = 0) -> FrontendRun:
    """Stream (n, clip) int16 clips through the host build's kws_frontend_runner."""
    runner = Path(build_dir) / "kws_frontend_runner"
    with tempfile.TemporaryDirectory(prefix="dadarts-fe-") as tmp:
        inp, out = Path(tmp) / "in.s16", Path(tmp) / "out.s8"
        np.ascontiguousarray(pcm, dtype="<i2").tofile(inp)
        cmd = [str(runner), str(inp), str(out), "--clip", str(clip)] + (["--repeat", str(repeat)] if repeat else [])
        r = _run(cmd, timeout=900)
        if r.returncode != 0:
            raise UserError(f"The host front-end failed: {r.stdout.strip()} {r.stderr.strip()}")
        feats = np.fromfile(out, dtype=np.int8).reshape(-1, n_features)
    m = re.search(r"us_per_frame ([0-9.]+)", r.stdout)
    return FrontendRun(feats, us_per_frame=float(m.group(1)) if m else None, log=r.stdout)


def run_frontend_qemu(build_dir, pcm: np.ndarray, clip: int, n_features: int,
                      expected: np.ndarray | None = None, timeout: float = 600) -> tuple[FrontendRun, int]:
    """Run the M4 front-end program under QEMU; returns (result, QEMU exit status)."""
    elf = Path(build_dir) / "kws_frontend_m4.elf"
    with tempfile.TemporaryDirectory(prefix="dadarts-m4-") as tmp:
        tmp = Path(tmp)
        np.ascontiguousarray(pcm, dtype="<i2").tofile(tmp / "in.s16")
        args = ["kws_frontend_m4", "in.s16", "out.s8", str(clip)]
        if expected is not None:
            np.ascontiguousarray(expected, dtype=np.int8).tofile(tmp / "expected.s8")
            args.append("expected.s8")
        semi = "enable=on,target=native," + ",".join(f"arg={a}" for a in args)
        r = _run([*QEMU_ARGS, "-semihosting-config", semi, "-kernel", str(elf)], cwd=tmp, timeout=timeout)
        out = tmp / "out.s8"
        feats = np.fromfile(out, dtype=np.int8).reshape(-1, n_features) if out.exists() else np.zeros((0, n_features), np.int8)
    m = re.search(r"instructions_per_frame (\d+)", r.stdout)
    return FrontendRun(feats, instructions_per_frame=int(m.group(1)) if m else None, log=r.stdout + r.stderr), r.returncode
