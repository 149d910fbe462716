"""Measure the streaming step's time buffers on the emulated Cortex-M4F: the sweep points of
dadarts.mcu_eval.sweep_models with `time` set (CONCATENATION along time, STRIDED_SLICE of the last frames).

    python benchmarks/measure_stream_ops.py [--work build/op_counts]

The same profiler, build and row format as benchmarks/measure_op_counts.py (the project's pinned TFLM +
CMSIS-NN build for the M4F), for these points only, so that adding them does not re-measure everything:
their rows replace earlier rows of the same points and build in dadarts/costmodel/data/op_counts_calibration.jsonl
and op_counts_heldout.jsonl; every other row stays. Held out: by the frozen rule of heldout_models.json (in
sweep_specs() order, the points of each operator type whose index among that type is 3 mod 4), written into
its sweep_points. A later full run of measure_op_counts.py measures them with everything else.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import measure_op_counts as m  # noqa: E402
from dadarts.mcu_eval.sweep_models import build_model, pack, sweep_specs  # noqa: E402
from dadarts.rundir import write_bytes_atomic, write_text_atomic  # noqa: E402


def stream_points() -> tuple[list, set[str]]:
    """(the time-buffer specs, the ids of those held out by the frozen rule)."""
    specs, held, seen = sweep_specs(), set(), {}
    for s in specs:
        i = seen.get(s.op, 0)
        seen[s.op] = i + 1
        if s.time and i % 4 == 3:
            held.add(s.id)
    return [s for s in specs if s.time], held


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", type=Path, default=ROOT / "build" / "op_counts")
    ap.add_argument("--out", type=Path, default=m.DATA)
    args = ap.parse_args()
    work = args.work.resolve()
    builds = [b for b in m.builds_from_env(["M4F"]) if b.library != m.REFERENCE]
    if not builds:
        sys.exit("no Cortex-M4F CMSIS-NN build of TFLite Micro: run scripts/setup.sh (dadarts/firmware/tflm.py)")
    build = builds[0]
    specs, held = stream_points()
    models = {}
    (work / "models").mkdir(parents=True, exist_ok=True)
    for i, group in enumerate(pack(specs)):
        name = f"stream-{i:02d}"
        path = work / "models" / f"{name}.tflite"
        write_bytes_atomic(path, build_model(group, seed=100 + i, name=name))
        models[name] = {"path": path, "points": [s.id for s in group]}
    elf = m.build_profiler(build, work, m.FIRMWARE)
    cal, out_held = [], []
    for name, model in models.items():
        got = m.measure(build, elf, name, model, work, 600)
        if "error" in got or not got.get("done"):
            sys.exit(f"{name}: the profiler failed ({got.get('error', 'no output')})")
        c, h = m.rows_of(build, name, model, got, set(), held)
        cal += c
        out_held += h
        for op in got["ops"]:
            print(f"  {model['points'][op['op_index']]:40s} {op['instructions']:8,d} instructions")
    ids = {s.id for s in specs}
    for path, rows in ((args.out / "op_counts_calibration.jsonl", cal), (args.out / "op_counts_heldout.jsonl", out_held)):
        old = [json.loads(line) for line in path.read_text().splitlines()]
        keep = [r for r in old if not (r["point"] in ids and r["provenance"] == build.key)]
        merged = sorted(keep + rows, key=lambda r: (r["core"], r["library"], r["model"], r["op_index"]))
        write_text_atomic(path, "".join(json.dumps(r, sort_keys=True) + "\n" for r in merged))
    frozen = json.loads((args.out / "heldout_models.json").read_text())
    frozen["sweep_points"] = [p for p in frozen["sweep_points"] if p not in ids] + sorted(held)
    write_text_atomic(args.out / "heldout_models.json", json.dumps(frozen, indent=1) + "\n")
    print(f"wrote {len(cal)} calibration and {len(out_held)} held-out rows of {build.key} to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
