"""The cost model's coefficients come from the committed measurements, and its validation is honest.

- running the fit on the committed counts restores coefficients.json byte for byte;
- no held-out point (whole held-out models, held-out sweep points) enters the fit, directly or as a
  duplicate of a calibration point (same op, shapes, library, core);
- published latencies: the held-out and calibration sets share no point;
- the kernel path the model picks is the one TFLM + CMSIS-NN ran (the profiler names the kernel).
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from dadarts.costmodel import fit, kernels
from dadarts.costmodel.layer import Layer

ROOT = Path(__file__).resolve().parents[1]
DATA = fit.DATA_DIR
HELD = json.loads((DATA / "heldout_models.json").read_text())


def test_deleting_the_coefficients_and_fitting_restores_them_exactly(tmp_path):
    committed = (ROOT / "dadarts" / "costmodel" / "coefficients.json").read_bytes()
    out = tmp_path / "coefficients.json"
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "fit_cost_model.py"), "--out", str(out)],
                   check=True, capture_output=True, cwd=tmp_path)
    assert out.read_bytes() == committed


def test_no_held_out_point_enters_any_fit():
    held_models = {m["name"] for m in HELD["models"]}
    held_points = set(HELD["sweep_points"])
    calibration = fit.read_rows(DATA / "op_counts_calibration.jsonl")
    heldout = fit.read_rows(DATA / "op_counts_heldout.jsonl")
    assert calibration and heldout
    # The split follows the frozen list ...
    assert not any(r["model"] in held_models or r["point"] in held_points for r in calibration)
    assert all(r["model"] in held_models or r["point"] in held_points for r in heldout)
    # ... and what the fit reads holds no row equal to a held-out one.
    held_keys = {fit.shape_key(r) for r in heldout}
    used = fit.calibration_rows(DATA)
    assert used and not any(fit.shape_key(r) in held_keys for r in used)
    # Every held-out sweep point was measured (none silently dropped).
    measured_points = {r["point"] for r in heldout if r["point"]}
    assert measured_points == held_points


def test_published_latency_points_are_split_without_overlap():
    cal = json.loads((DATA / "latency_calibration.json").read_text())
    held = json.loads((DATA / "latency_heldout.json").read_text())
    cal_ids = {p["id"] for p in cal["points"]}
    held_ids = {p["id"] for p in held["points"]}
    excluded = {p["id"] for p in cal["excluded"]}
    assert cal_ids and held_ids and not cal_ids & held_ids and not excluded & (cal_ids | held_ids)
    # A relative point's anchor is a calibration point; every point names its source.
    assert all(p["relative_to"] in cal_ids for p in held["points"] if p["use"] == "relative_to")
    assert all(p["source"] for p in cal["points"] + held["points"])


def test_kernel_path_is_the_kernel_cmsis_nn_ran():
    rows = fit.read_rows(DATA / "op_counts_calibration.jsonl") + fit.read_rows(DATA / "op_counts_heldout.jsonl")
    checked = 0
    for r in rows:
        if r["library"] == kernels.REFERENCE or r["layer"]["op"] not in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"):
            continue
        path = kernels.kernel_path(Layer(**r["layer"]), r["library"])
        assert kernels.CMSIS_KERNELS[path] in r["kernels"] or (path == "fc" and "arm_fully_connected_per_channel_s8" in r["kernels"]), \
            (r["core"], r["model"], r["point"], path, r["kernels"])
        checked += 1
    assert checked > 100


def test_every_measured_build_is_fitted_and_every_core_has_a_cycles_factor():
    body = kernels.coefficients()
    builds = {f"{r['core']}/{r['library']}" for r in fit.read_rows(DATA / "op_counts_calibration.jsonl")}
    assert builds <= set(body["instructions"])
    for core in ("M4F", "M7", "M33", "M55", "M0+"):
        cpi, provenance = kernels.cycles_per_instr(core, kernels.CMSIS_MVE if core == "M55" else
                                                   kernels.CMSIS_SCALAR if core == "M0+" else kernels.CMSIS_DSP)
        assert cpi > 0 and provenance.split(":")[0] in ("calibrated", "assumed")


def test_analytic_frontend_count_is_within_a_few_percent_of_every_measured_configuration():
    from dadarts.costmodel.frontend_cost import analytic_instructions_per_frame, measured_counts
    from dadarts.frontend.spec import MfccConfig
    for name, counts in measured_counts().items():
        for fft, measured in counts.items():
            assert analytic_instructions_per_frame(MfccConfig.parse(name), fft) == \
                pytest.approx(measured, rel=0.02), (name, fft)


def test_application_code_sizes_are_the_linked_firmware_s():
    """memory's front-end code and application bytes are what the STM32F405 linker map of the whole firmware
    measured (benchmarks/bench_firmware_sizes.py): the front-end part less its generated tables."""
    from dadarts.costmodel import memory
    from dadarts.frontend.spec import MfccConfig
    sizes = json.loads((ROOT / "benchmarks" / "results" / "firmware_sizes.json").read_text())
    parts = sizes["builds"]["int8_only_resolver"]["flash_by_part"]
    assert memory.APPLICATION_BYTES == parts["application"]
    assert memory.FRONTEND_CODE_BYTES == parts["front-end"] - memory.frontend_table_bytes(MfccConfig.parse(sizes["config"]))
