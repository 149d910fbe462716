"""The op profiler on the emulated Cortex-M4: its instruction counter checks out on loops of known
length, and a sweep model's operators count what the committed data say (on the project's pinned TFLM
build for the Cortex-M4F, dadarts/firmware/tflm.py; arm-none-eabi-gcc, cmake and qemu-system-arm)."""
from __future__ import annotations

import sys
from pathlib import Path

from dadarts.costmodel import fit
from tflm_builds import tflm_or_skip

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))



def test_profiler_counts_loops_exactly_and_operators_as_measured(tmp_path):
    import measure_op_counts as m
    from dadarts.mcu_eval.sweep_models import build_model, pack, sweep_specs

    tree, lib = tflm_or_skip("m4f")
    build = m.Build(m.CORES["M4F"], m.library_of(m.CORES["M4F"], lib), tree, lib)
    elf = m.build_profiler(build, tmp_path, m.FIRMWARE)
    check = m.counter_check(build, elf, tmp_path)
    assert check["instructions_per_tick"] == 40.0 and check["loops"] > 30
    assert check["max_abs_error"] <= 4          # the vernier's resolution: one spin-loop iteration

    group = pack(sweep_specs())[0]
    path = tmp_path / "sweep-00.tflite"
    path.write_bytes(build_model(group, seed=0, name="sweep-00"))
    got = m.parse_output(m.run_profiler(build, elf, [path.name, str(m.ARENA_BYTES)], tmp_path, 600))
    assert got.get("done") and len(got["ops"]) == len(group)
    committed = {(r["point"]): r for r in fit.read_rows(fit.DATA_DIR / "op_counts_calibration.jsonl")
                 + fit.read_rows(fit.DATA_DIR / "op_counts_heldout.jsonl")
                 if r["model"] == "sweep-00" and f"{r['core']}/{r['library']}" == build.key}
    for op, spec in zip(got["ops"], group):
        row = committed[spec.id]
        assert abs(op["instructions"] - row["instructions"]) <= 8, spec.id
        assert op["kernels"] == row["kernels"]
    assert got["invoke"] <= got["invoke_profiled"]
