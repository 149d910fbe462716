"""The latency model against the published figures in calibration.json: predictions, errors, refits.

A point is a model (built by calibration_models) on a core with a kernel library and a published
value: milliseconds on a board, or executed instructions under emulation. `evaluate` predicts each
with the current coefficients of cost_model and reports the error; for millisecond points it also
gives the cycles-per-instruction factor that would reproduce the figure exactly, which is how the
"calibrated" entries of cost_model.CYCLES_PER_INSTR were obtained.
"""
from __future__ import annotations

import json
from importlib import resources

from . import cost_model
from .graph import Layer


def load_points() -> list[dict]:
    return json.loads(resources.files(__package__).joinpath("calibration.json").read_text())["points"]


def point_library(point: dict) -> str:
    if point["kernels"] == "reference":
        return cost_model.REFERENCE
    return cost_model.CMSIS_MVE if point["core"] == "M55" else cost_model.CMSIS_DSP


def evaluate(points: list[dict], layers_by_model: dict[str, list[Layer]]) -> list[dict]:
    """One row per point whose model is in `layers_by_model`."""
    rows = []
    for p in points:
        layers = layers_by_model.get(p["model"])
        if layers is None:
            continue
        library = point_library(p)
        instr = cost_model.model_instructions(layers, library)
        row = {"id": p["id"], "role": p["role"], "model": p["model"], "core": p["core"], "kernels": p["kernels"],
               "unit": p["unit"], "published": p["value"], "source": p["source"]}
        if p["unit"] == "instructions":
            row["predicted"] = instr
        else:
            cpi, provenance = cost_model.cycles_per_instr(p["core"], library)
            row["predicted"] = instr * cpi / (p["clock_mhz"] * 1e3)
            row["fitted_cycles_per_instruction"] = p["value"] * 1e-3 * p["clock_mhz"] * 1e6 / instr
            row["model_cycles_per_instruction"] = cpi
            row["cost_model"] = provenance
        row["error_pct"] = 100.0 * (row["predicted"] / p["value"] - 1.0)
        rows.append(row)
    return rows
