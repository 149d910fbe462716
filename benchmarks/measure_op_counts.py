"""Measure the instructions every operator of a TFLite Micro Invoke executes, per Cortex-M core, under QEMU.

    DADARTS_TFLM_ROOT_M4=TREE DADARTS_TFLM_LIB_M4=LIB [DADARTS_TFLM_ROOT_M4_REF=... _LIB_M4_REF=...] \
    DADARTS_TFLM_ROOT_M7=... DADARTS_TFLM_LIB_M7=... (and _M33, _M55) \
    python benchmarks/measure_op_counts.py \
        [--cores M4F,M7] [--model searched-default=runs/demo/export/model_int8.tflite] [--jobs 2]

The TFLM trees and libraries: on the M4F the project's pinned build (dadarts/firmware/tflm.py) unless the variables
name one; for other cores the user's own, built with TFLM's tools (docs/firmware.md): per core a
CMSIS-NN build (OPTIMIZED_KERNEL_DIR=cmsis_nn) and, on the M4F, optionally a reference-kernel build
(suffix _REF). Both must be BUILD_TYPE=release_with_logs or default: a BUILD_TYPE=release library
compiles TFLM's per-operator profiler hook out. For each build this script

1. builds firmware/tools/op_profiler for the core's QEMU board (M4F mps2-an386, M7 mps2-an500,
   M33 mps2-an505, M55 mps3-an547) and checks its instruction counter on loops of known length;
2. builds the models: the sweep of single operators (dadarts.mcu_eval.sweep_models), DS-CNN-S/M/L and
   micro_speech (dadarts.mcu_eval.calibration_models, needs TensorFlow), and any --model given;
3. runs each model under `qemu-system-arm -icount shift=0` and reads one Invoke's count per operator,
   the CMSIS-NN kernels each operator called, the whole Invoke and the arena used on the target;
4. writes dadarts/costmodel/data/: op_counts_calibration.jsonl and op_counts_heldout.jsonl (split by
   the frozen heldout_models.json), invoke_totals.json and provenance.json. Rows of builds measured
   now replace that build's rows; other builds' rows are kept.

Raw emulator output is kept under --work (default build/op_counts/), so an interrupted run resumes.
QEMU runs are niced; instruction counts do not depend on the machine's load.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import datetime
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dadarts.costmodel.kernels import CMSIS_DSP, CMSIS_MVE, REFERENCE  # noqa: E402
from dadarts.costmodel.graph import parse_tflite  # noqa: E402
from dadarts.export.resolver import INT8_KERNELS, resolver_method  # noqa: E402
from dadarts.firmware import tflm  # noqa: E402
from dadarts.mcu_eval.sweep_models import build_model, pack, sweep_specs  # noqa: E402
from dadarts.rundir import write_bytes_atomic, write_json_atomic, write_text_atomic  # noqa: E402

FIRMWARE = ROOT / "firmware"
DATA = ROOT / "dadarts" / "costmodel" / "data"
CALIBRATION_MODELS = ("ds-cnn-s", "ds-cnn-m", "ds-cnn-l", "micro_speech")
ARENA_BYTES = 2 << 20


@dataclass(frozen=True)
class Core:
    name: str            # the cost model's core name
    env: str             # suffix of DADARTS_TFLM_ROOT_<env> / DADARTS_TFLM_LIB_<env>
    board: str           # firmware/boards/<board>
    machine: str         # qemu-system-arm -M
    toolchain: str       # firmware/cmake/<toolchain>


CORES = {c.name: c for c in (
    Core("M4F", "M4", "mps2_an386", "mps2-an386", "arm-none-eabi-m4.cmake"),
    Core("M7", "M7", "mps2_an500", "mps2-an500", "arm-none-eabi-m7.cmake"),
    Core("M33", "M33", "mps2_an505", "mps2-an505", "arm-none-eabi-m33.cmake"),
    Core("M55", "M55", "mps3_an547", "mps3-an547", "arm-none-eabi-m55.cmake"),
)}


@dataclass(frozen=True)
class Build:
    core: Core
    library: str         # reference / cmsis-dsp / cmsis-mve
    tree: Path
    lib: Path

    @property
    def key(self) -> str:
        return f"{self.core.name}/{self.library}"


def _run(cmd, cwd=None, timeout=None) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def library_of(core: Core, lib: Path) -> str:
    """CMSIS-NN (with DSP or Helium by core) when the library holds CMSIS-NN's kernels, else reference."""
    syms = _run(["arm-none-eabi-nm", "--defined-only", str(lib)]).stdout
    if re.search(r" [TW] arm_convolve_s8$", syms, re.M):
        return CMSIS_MVE if core.name == "M55" else CMSIS_DSP
    return REFERENCE


def builds_from_env(cores: list[str]) -> list[Build]:
    found = []
    for name in cores:
        core = CORES[name]
        for suffix in ("", "_REF"):
            tree = os.environ.get(f"DADARTS_TFLM_ROOT_{core.env}{suffix}")
            lib = os.environ.get(f"DADARTS_TFLM_LIB_{core.env}{suffix}")
            if tree and lib:
                found.append(Build(core, library_of(core, Path(lib)), Path(tree), Path(lib)))
        if core.name == "M4F" and not any(b.core is core for b in found):
            pinned = tflm.built("m4f")     # the project's own build at the pin (scripts/setup.sh)
            if pinned:
                found.append(Build(core, library_of(core, pinned[1]), *pinned))
    return found


def build_profiler(build: Build, work: Path, firmware: Path) -> Path:
    out = work / "build" / build.key.replace("/", "-")
    elf = out / "op_profiler.elf"
    cmd = ["cmake", "-S", str(firmware / "tools" / "op_profiler"), "-B", str(out),
           f"-DCMAKE_TOOLCHAIN_FILE={firmware / 'cmake' / build.core.toolchain}",
           f"-DKWS_BOARD={build.core.board}", f"-DTFLM_ROOT={build.tree}", f"-DTFLM_LIB={build.lib}",
           "-DCMAKE_BUILD_TYPE=Release"]
    for step in (cmd, ["cmake", "--build", str(out), "-j", "2"]):
        r = _run(["nice", "-n", "10", *step])
        if r.returncode != 0:
            sys.exit(f"building the op profiler for {build.key} failed:\n{(r.stdout + r.stderr)[-3000:]}")
    return elf


def probe_ops(ops: list[str]) -> str:
    """CODE_SIZE_OPS of code_size_app.cc for an int8 model's ops: each op registered as the firmware's
    resolver registers it (dadarts/export/resolver.py: the int8-only kernel where TFLM has one)."""
    def one(op: str) -> str:
        spec = INT8_KERNELS.get(op)
        return f"X({resolver_method(op)[len('Add'):]},{f'tflite::{spec[1]}()' if spec else ''})"
    return "".join(one(op) for op in ops)


def flash_bytes(elf: Path) -> int:
    """text + data of an ELF: what goes to flash (code, constants, initialised data)."""
    fields = _run(["arm-none-eabi-size", "-B", str(elf)]).stdout.splitlines()[1].split()
    return int(fields[0]) + int(fields[1])


def code_sizes(build: Build, work: Path, op_sets: dict[str, list[str]]) -> dict:
    """Flash of the board alone, of TFLM with no op, what each op adds, and each model's op set linked
    together: one code_size_app per op set, all built by one `cmake --build`."""
    out = work / "build" / build.key.replace("/", "-")
    ops = sorted({op for s in op_sets.values() for op in s})
    probes = {"core": [], **{f"op_{op.lower()}": [op] for op in ops}, **{f"set_{i}": s for i, s in enumerate(op_sets.values())}}
    sets_file = out / "code_size_sets.cmake"
    write_text_atomic(sets_file, "".join(f'code_size_app({name} "{probe_ops(s)}")\n'
                                         for name, s in probes.items()))
    for step in (["cmake", str(out), f"-DCODE_SIZE_SETS_FILE={sets_file}"],
                 ["cmake", "--build", str(out), "-j", "2", "--target", *(f"code_size_{name}" for name in probes)]):
        r = _run(["nice", "-n", "10", *step])
        if r.returncode != 0:
            raise RuntimeError(f"the code size probes failed: {(r.stdout + r.stderr)[-1500:]}")
    size = {name: flash_bytes(out / f"code_size_{name}.elf") for name in probes}
    board = flash_bytes(out / "code_size_board.elf")
    core = size["core"]
    adds = {op: size[f"op_{op.lower()}"] - core for op in ops}
    sets = [{"model": model, "ops": s, "measured_bytes": size[f"set_{i}"] - core, "sum_of_op_bytes": sum(adds[o] for o in s)}
            for i, (model, s) in enumerate(op_sets.items())]
    return {"board_and_libc_bytes": board, "tflm_core_bytes": core - board, "op_bytes": adds, "model_op_sets": sets}


def run_profiler(build: Build, elf: Path, args: list[str], cwd: Path, timeout: float) -> str:
    cmd = ["nice", "-n", "10", "qemu-system-arm", "-M", build.core.machine, "-nographic", "-monitor", "none",
           "-serial", "null", "-icount", "shift=0,sleep=off", "-semihosting-config",
           "enable=on,target=native," + ",".join(f"arg={a}" for a in ["op_profiler", *args]), "-kernel", str(elf)]
    try:
        r = _run(cmd, cwd=cwd, timeout=timeout)
    except subprocess.TimeoutExpired:
        return f"error the emulator ran past {timeout:.0f} s\n"
    return r.stdout + ("" if r.returncode == 0 else f"error exit status {r.returncode}: {r.stderr.strip()[-300:]}\n")


def parse_output(text: str) -> dict:
    """The profiler's lines (see op_profiler.cc) as a dict; 'error' holds the first error line."""
    out = {"ops": [], "check": []}
    for line in text.splitlines():
        f = line.split()
        if not f:
            continue
        if f[0] == "error" and "error" not in out:
            out["error"] = line[6:].strip()
        elif f[0] == "counter":
            out["insn_per_tick"] = int(f[2]) / 1000.0
            if len(f) >= 5:
                out["event_overhead"] = int(f[4])
        elif f[0] in ("invoke", "invoke_profiled", "arena_used"):
            out[f[0]] = int(f[1])
        elif f[0] == "op":
            out["ops"].append({"op_index": int(f[1]), "tag": f[2], "instructions": int(f[3]), "kernels": f[4:]})
        elif f[0] == "check":
            out["check"].append((int(f[1]), int(f[2])))
        elif f[0] == "done":
            out["done"] = True
    return out


def make_models(work: Path, extra: dict[str, Path], skip_tf: bool) -> dict[str, dict]:
    """name -> {"path", "points" (sweep ids by op index, or None)}; .tflite files cached in work/models."""
    models_dir = work / "models"
    models_dir.mkdir(parents=True, exist_ok=True)
    models = {}
    for i, group in enumerate(pack(sweep_specs())):
        name = f"sweep-{i:02d}"
        path = models_dir / f"{name}.tflite"
        blob = build_model(group, seed=i, name=name)
        if not path.is_file() or path.read_bytes() != blob:
            write_bytes_atomic(path, blob)
        models[name] = {"path": path, "points": [s.id for s in group]}
    if not skip_tf:
        from dadarts.fdcapture import captured_output
        from dadarts.mcu_eval.calibration_models import build_calibration_model
        for name in CALIBRATION_MODELS:
            path = models_dir / f"{name}.tflite"
            if not path.is_file():
                with captured_output():   # TensorFlow's converter talks on stdout and stderr
                    blob = build_calibration_model(name)
                write_bytes_atomic(path, blob)
            models[name] = {"path": path, "points": None}
    for name, src in extra.items():
        path = models_dir / f"{name}.tflite"
        shutil.copyfile(src, path)
        models[name] = {"path": path, "points": None}
    return models


def measure(build: Build, elf: Path, name: str, model: dict, work: Path, timeout: float) -> dict:
    raw = work / "raw" / build.key.replace("/", "-") / f"{name}.txt"
    text = raw.read_text() if raw.is_file() else ""
    if "\ndone" not in text:
        text = run_profiler(build, elf, [model["path"].name, str(ARENA_BYTES)], model["path"].parent, timeout)
        if "\ndone" in text:
            raw.parent.mkdir(parents=True, exist_ok=True)
            write_text_atomic(raw, text)
    return parse_output(text)


def counter_check(build: Build, elf: Path, work: Path) -> dict:
    got = parse_output(run_profiler(build, elf, ["--check"], work, 600))
    errors = [m - n for n, m in got["check"]]
    return {"instructions_per_tick": got.get("insn_per_tick"), "loops": len(errors),
            "max_abs_error": max(abs(e) for e in errors) if errors else None,
            "lengths": [n for n, _ in got["check"]], "errors": errors}


def tool_version(cmd: list[str]) -> str:
    try:
        return _run(cmd).stdout.splitlines()[0].strip()
    except (OSError, IndexError):
        return "unknown"


def provenance(build: Build, args, check: dict, event_overhead) -> dict:
    cache = (args.work / "build" / build.key.replace("/", "-") / "CMakeCache.txt").read_text()
    return {
        "core": build.core.name, "library": build.library, "board": build.core.machine,
        "tflm_commit": args.tflm_commit, "cmsis_nn_commit": args.cmsis_nn_commit if build.library != REFERENCE else None,
        "tflm_library": build.lib.name, "tflm_build_folder": build.lib.parent.parent.name,
        "compiler": tool_version(["arm-none-eabi-gcc", "--version"]),
        "cpu_flags": re.findall(r'KWS_CPU_FLAGS "([^"]*)"', (args.firmware / "cmake" / build.core.toolchain).read_text())[0],
        "tflm_defines": re.findall(r"TFLM_DEFINES_USED:INTERNAL=(.*)", cache)[0],
        "optimisation": "TFLM's Makefile: -Os for the TFLM core, -O2 for kernels and CMSIS-NN; the profiler -O3 (Release)",
        "qemu": tool_version(["qemu-system-arm", "--version"]),
        "counter": "SysTick under -icount shift=0 with a vernier on the tick edges (firmware/tools/op_profiler/insn_counter.h)",
        "counter_check": check, "event_overhead_instructions": event_overhead,
        "date": datetime.date.today().isoformat(),
    }


def heldout_sets() -> tuple[set[str], set[str]]:
    obj = json.loads((DATA / "heldout_models.json").read_text())
    return {m["name"] for m in obj["models"]}, set(obj["sweep_points"])


def rows_of(build: Build, name: str, model: dict, got: dict, held_models, held_points) -> tuple[list, list]:
    layers = parse_tflite(model["path"].read_bytes()).layers
    if len(got["ops"]) != len(layers):
        raise RuntimeError(f"{name}: the profiler reported {len(got['ops'])} operators, the model has {len(layers)}")
    cal, held = [], []
    for op in got["ops"]:
        layer = layers[op["op_index"]]
        point = model["points"][op["op_index"]] if model["points"] else None
        row = {"model": name, "point": point, "core": build.core.name, "library": build.library,
               "board": build.core.machine, "op_index": op["op_index"], "layer": layer.to_dict(),
               "instructions": op["instructions"], "kernels": op["kernels"], "provenance": build.key}
        (held if name in held_models or point in held_points else cal).append(row)
    return cal, held


def merge_jsonl(path: Path, new_rows: list[dict], replaced: set[str]) -> None:
    old = [json.loads(line) for line in path.read_text().splitlines()] if path.is_file() else []
    rows = [r for r in old if r["provenance"] not in replaced] + new_rows
    rows.sort(key=lambda r: (r["core"], r["library"], r["model"], r["op_index"]))
    write_text_atomic(path, "".join(json.dumps(r, sort_keys=True) + "\n" for r in rows))


def merge_json(path: Path, kind: str, key: str, new: list | dict, replaced: set[str], about: str) -> None:
    old = json.loads(path.read_text())[key] if path.is_file() else ([] if isinstance(new, list) else {})
    if isinstance(new, list):
        merged = [r for r in old if r["provenance"] not in replaced] + new
        merged.sort(key=lambda r: (r["core"], r["library"], r["model"]))
    else:
        merged = {k: v for k, v in old.items() if k not in replaced} | new
    write_json_atomic(path, {"about": about, key: merged}, kind=kind)


def measure_build(build: Build, elf: Path, models: dict, args, held_models, held_points,
                  cal_rows: list, held_rows: list, totals: list, prov: dict) -> None:
    """Instruction counts of every model on one build, appended to the rows, totals and provenance."""
    check = counter_check(build, elf, args.work)
    print(f"{build.key}: {build.lib}; counter {check['instructions_per_tick']} instructions/tick, "
          f"max error {check['max_abs_error']} on {check['loops']} loops of known length")
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        results = dict(zip(models, pool.map(lambda nm: measure(build, elf, nm, models[nm], args.work, args.timeout),
                                            models)))
    overheads = set()
    for name, got in results.items():
        if "error" in got or not got.get("done"):
            print(f"  {name}: FAILED ({got.get('error', 'no output')})")
            continue
        cal, held = rows_of(build, name, models[name], got, held_models, held_points)
        cal_rows += cal
        held_rows += held
        overheads.add(got.get("event_overhead"))
        totals.append({"model": name, "core": build.core.name, "library": build.library, "provenance": build.key,
                       "model_sha256": hashlib.sha256(models[name]["path"].read_bytes()).hexdigest(),
                       "role": "held_out" if name in held_models else "calibration",
                       "invoke": got["invoke"], "invoke_profiled": got["invoke_profiled"],
                       "sum_of_ops": sum(op["instructions"] for op in got["ops"]), "ops": len(got["ops"]),
                       "arena_used": got["arena_used"]})
        print(f"  {name}: {len(got['ops'])} ops, Invoke {got['invoke']:,} instructions, arena {got['arena_used']:,} B")
    prov[build.key] = provenance(build, args, check, sorted(o for o in overheads if o is not None))


def write_counts(out: Path, cal_rows, held_rows, totals, prov, replaced: set[str]) -> None:
    merge_jsonl(out / "op_counts_calibration.jsonl", cal_rows, replaced)
    merge_jsonl(out / "op_counts_heldout.jsonl", held_rows, replaced)
    merge_json(out / "invoke_totals.json", "invoke_totals", "models", totals, replaced,
               "Whole-Invoke instructions per model and build (no profiler attached), the sum of the per-operator "
               "counts (profiled run), and the arena the interpreter used on the target; written by "
               "benchmarks/measure_op_counts.py.")
    merge_json(out / "provenance.json", "op_count_provenance", "builds", prov, replaced,
               "How each build's counts were made: TFLM and CMSIS-NN commits, compiler, flags, board, QEMU, the "
               "instruction counter and its check on loops of known length; keys are the 'provenance' of the rows.")
    print(f"wrote {len(cal_rows)} calibration and {len(held_rows)} held-out operator rows to {out}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cores", default="M4F,M7,M33,M55", help="comma-separated cores to measure (default: all)")
    ap.add_argument("--model", action="append", default=[], metavar="NAME=FILE",
                    help="an extra int8 .tflite to measure (a held-out one if NAME is in heldout_models.json)")
    ap.add_argument("--only", choices=["sweep", "models", "code-sizes"],
                    help="measure only the sweep, only the whole models, or only the code sizes (code_sizes.json)")
    ap.add_argument("--no-tensorflow", action="store_true", help="skip DS-CNN/micro_speech (they need TensorFlow)")
    ap.add_argument("--tflm-commit", default=tflm.PIN["tflm"][:9],
                    help="commit of the TFLM tree (recorded as provenance; default: the pin, dadarts/firmware/tflm.py)")
    ap.add_argument("--cmsis-nn-commit", default=tflm.PIN["cmsis_nn"][:8], help="commit of CMSIS-NN in the TFLM build")
    ap.add_argument("--jobs", type=int, default=1, help="emulators run at once (default 1)")
    ap.add_argument("--timeout", type=float, default=3600.0, help="seconds one emulator run may take")
    ap.add_argument("--work", type=Path, default=ROOT / "build" / "op_counts")
    ap.add_argument("--firmware", type=Path, default=FIRMWARE, help="firmware source folder (default: this checkout's)")
    ap.add_argument("--out", type=Path, default=DATA)
    args = ap.parse_args()
    args.work = args.work.resolve()

    unknown = [c for c in args.cores.split(",") if c not in CORES]
    if unknown:
        sys.exit(f"unknown core(s) {', '.join(unknown)}: use {', '.join(CORES)}")
    builds = builds_from_env(args.cores.split(","))
    if not builds:
        sys.exit("no TFLM build given: set DADARTS_TFLM_ROOT_<M4|M7|M33|M55>[_REF] and DADARTS_TFLM_LIB_<...> "
                 "to a TFLM tree and libtensorflow-microlite.a built with TFLM's tools (docs/firmware.md)")
    extra = {}
    for item in args.model:
        name, _, path = item.partition("=")
        if not path or not Path(path).is_file():
            sys.exit(f"--model {item}: give NAME=FILE with an existing .tflite")
        extra[name] = Path(path)
    models = make_models(args.work, extra, args.no_tensorflow)
    if args.only == "sweep":
        models = {k: v for k, v in models.items() if v["points"]}
    elif args.only == "models":
        models = {k: v for k, v in models.items() if not v["points"]}
    held_models, held_points = heldout_sets()

    cal_rows, held_rows, totals, prov, sizes = [], [], [], {}, {}
    for build in builds:
        elf = build_profiler(build, args.work, args.firmware.resolve())
        if args.only != "code-sizes":
            measure_build(build, elf, models, args, held_models, held_points, cal_rows, held_rows, totals, prov)
        op_sets = {name: list(dict.fromkeys(layer.op for layer in parse_tflite(m["path"].read_bytes()).layers))
                   for name, m in models.items() if not m["points"]}
        op_sets["every-sweep-op"] = sorted({s.op for s in sweep_specs()})
        sizes[build.key] = code_sizes(build, args.work, op_sets)
        print(f"  code: board + libc {sizes[build.key]['board_and_libc_bytes']:,} B, TFLM core "
              f"{sizes[build.key]['tflm_core_bytes']:,} B, {len(sizes[build.key]['op_bytes'])} ops measured")

    replaced = {b.key for b in builds}
    args.out.mkdir(parents=True, exist_ok=True)
    if args.only != "code-sizes":
        write_counts(args.out, cal_rows, held_rows, totals, prov, replaced)
    merge_json(args.out / "code_sizes.json", "code_sizes", "builds", sizes, replaced,
               "Flash bytes (text + data) of firmware/tools/op_profiler/code_size_app.cc linked per build: the board "
               "with libc alone, TFLM's core with no op registered, what registering each op adds (its TFLM kernel "
               "and, with CMSIS-NN, the library functions it reaches; registered as the firmware registers it for an "
               "int8 model: the int8-only kernel where TFLM has one), and each measured model's op set linked "
               "together (shared code counted once) against the sum of its ops' increments.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
