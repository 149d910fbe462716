"""Build the firmware with CMake for a board (host gcc, or arm-none-eabi-gcc for a Cortex-M board) and run its front-end.

Used by `dadarts firmware build|bench`, the tests and benchmarks/bench_firmware.py. The C sources live in
firmware/ at the repository root; the generated tables come from a folder such as RUN/export/firmware.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import UserError

def _firmware_dir() -> Path:
    """The C sources: inside an installed package (setup.py copies them there), else the checkout's firmware/."""
    package = Path(__file__).resolve().parents[1]
    installed = package / "_firmware"
    return installed if (installed / "CMakeLists.txt").is_file() else package.parent / "firmware"


FIRMWARE_DIR = _firmware_dir()
ARM_PACKAGES = "gcc-arm-none-eabi libnewlib-arm-none-eabi libstdc++-arm-none-eabi-newlib qemu-system-arm"
# Build targets are the presets of firmware/CMakePresets.json (one per board); "qemu-m4" is the
# name the commands used before boards existed, kept for the same board.
ALIASES = {"qemu-m4": "mps2-an386"}
QEMU_MACHINES = {"mps2-an386": "mps2-an386", "mps2-an500": "mps2-an500", "mps2-an505": "mps2-an505",
                 "mps3-an547": "mps3-an547", "stm32f405": "netduinoplus2"}   # presets qemu-system-arm runs
QEMU_ARGS = ["qemu-system-arm", "-M", "mps2-an386", "-nographic", "-monitor", "none", "-serial", "null",
             "-icount", "shift=0,sleep=off"]


@dataclass(frozen=True)
class Board:
    preset: str                  # CMake preset name, e.g. "stm32f405"
    board: str                   # folder under firmware/boards/
    toolchain: Path | None       # None: the host compiler
    description: str


def boards() -> dict[str, Board]:
    """The configure presets of firmware/CMakePresets.json, by name (hidden base presets resolved)."""
    presets = {p["name"]: p for p in json.loads((FIRMWARE_DIR / "CMakePresets.json").read_text())["configurePresets"]}

    def field(p, key):
        if key in p or key in p.get("cacheVariables", {}):
            return p.get(key, p.get("cacheVariables", {}).get(key))
        parents = p.get("inherits", [])
        for parent in [parents] if isinstance(parents, str) else parents:
            value = field(presets[parent], key)
            if value is not None:
                return value
        return None

    out = {}
    for name, p in presets.items():
        if p.get("hidden"):
            continue
        tc = field(p, "toolchainFile")
        out[name] = Board(name, field(p, "KWS_BOARD"), Path(tc.replace("${sourceDir}", str(FIRMWARE_DIR))) if tc else None,
                          p.get("displayName", name))
    return out


def board_of(target: str) -> Board:
    known = boards()
    name = ALIASES.get(target, target)
    if name not in known:
        raise UserError(f"Unknown firmware target '{target}': use one of {', '.join(target_names())}.")
    return known[name]


def target_names() -> list[str]:
    return [*boards(), *ALIASES]


def missing_tools(target: str) -> list[str]:
    """Programs the target's build (and, for QEMU boards, its run) needs that are not on PATH."""
    name = ALIASES.get(target, target)
    if name == "host":
        need = ["cmake", "gcc"]
    else:
        need = ["cmake", "arm-none-eabi-gcc"] + (["qemu-system-arm"] if name in QEMU_MACHINES else [])
    return [t for t in need if shutil.which(t) is None]


def require_tools(target: str) -> None:
    board = board_of(target)
    missing = missing_tools(target)
    if missing:
        hint = (f"install them (Debian: apt-get install {ARM_PACKAGES})" if board.toolchain
                else "install cmake and gcc")
        raise UserError(f"The {target} firmware build needs {', '.join(missing)}: {hint}.")


def _run(cmd: list[str], cwd=None, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def cmake_build(tables_dir, build_dir, target: str = "host", tflm_root=None,
                targets: tuple[str, ...] = (), tflm_lib=None, defines: dict[str, str] | None = None) -> Path:
    """Configure and build firmware/ for `target` (a board preset) with the tables in `tables_dir`."""
    require_tools(target)
    board = board_of(target)
    tables_dir, build_dir = Path(tables_dir).resolve(), Path(build_dir).resolve()
    if not (tables_dir / "frontend_tables.c").is_file():
        raise UserError(f"{tables_dir} has no frontend_tables.c: run `dadarts export` for this run first.")
    cmd = ["cmake", "-S", str(FIRMWARE_DIR), "-B", str(build_dir), f"-DKWS_TABLES_DIR={tables_dir}",
           f"-DKWS_BOARD={board.board}", "-DCMAKE_BUILD_TYPE=Release"]
    if board.toolchain:
        cmd.append(f"-DCMAKE_TOOLCHAIN_FILE={board.toolchain}")
    if tflm_root:
        require_tflm_tree(tflm_root)
        cmd.append(f"-DTFLM_ROOT={Path(tflm_root).resolve()}")
    if tflm_lib:
        cmd.append(f"-DTFLM_LIB={Path(tflm_lib).resolve()}")
    cmd += [f"-D{k}={v}" for k, v in (defines or {}).items()]
    for step in (cmd, ["cmake", "--build", str(build_dir), "-j", str(min(2, os.cpu_count() or 1)),
                       *(a for t in targets for a in ("--target", t))]):
        r = _run(step)
        overflow = re.search(r"region `(\w+)' overflowed by (\d+) bytes", r.stdout + r.stderr)
        if r.returncode != 0 and overflow:
            raise UserError(f"The firmware does not fit the {board.preset}: its {overflow.group(1)} overflows by "
                            f"{int(overflow.group(2)):,} bytes; a smaller model (dadarts search --target) or a board "
                            f"with more memory is needed.")
        if r.returncode != 0:
            raise UserError(f"The firmware build failed ({' '.join(step[:2])}): {_first_error(r.stdout + chr(10) + r.stderr)} "
                            f"(full log: rerun `{' '.join(step)}`).")
    return build_dir


def require_tflm_tree(root) -> None:
    """One sentence instead of CMake's error dump when --tflm-root is not a TFLM tree."""
    if not (Path(root) / "tensorflow" / "lite" / "micro" / "micro_interpreter.h").is_file():
        raise UserError(f"{root} is not a TFLite Micro tree (no tensorflow/lite/micro/micro_interpreter.h): give the "
                        f"folder TFLM's create_tflm_tree.py wrote (docs/firmware.md, step 3).")


def _first_error(log: str) -> str:
    """The line of a CMake/compiler log that says what went wrong (CMake errors span several lines)."""
    lines = [line.rstrip() for line in log.strip().splitlines()]
    for i, line in enumerate(lines):
        if line.startswith("CMake Error"):
            body = []
            for nxt in lines[i + 1:]:
                if nxt.strip() and not nxt.startswith(" "):
                    break
                if nxt.strip():
                    body.append(nxt.strip())
            return " ".join(body) or line
    errors = [l for l in lines if "error" in l.lower() or "undefined reference" in l] or lines[-1:] or ["no output"]
    return errors[0].strip()


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
