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

from ..costmodel import kernels as cost_model
from ..costmodel.layer import Layer


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


def load_kernel_points() -> list[dict]:
    obj = json.loads(resources.files(__package__).joinpath("calibration.json").read_text())
    return obj.get("kernels", [])


def kernel_layer(point: dict) -> Layer:
    """The graph Layer of one measured kernel call (stored whole for ops timed inside a TFLM Invoke)."""
    if "layer" in point:
        return Layer(**point["layer"])
    i, o = point["input_hwc"], point["output_hwc"]
    out_elems = o[0] * o[1] * o[2]
    return Layer(index=0, op=point["op"], input_shape=[1, *i], output_shape=[1, *o], macs=point["macs"],
                 in_elems=i[0] * i[1] * i[2], out_elems=out_elems, kernel=list(point["kernel"]),
                 stride=list(point["stride"]), in_ch=i[2], out_ch=o[2], multiplier=point["multiplier"],
                 dilation=[1, 1])


def evaluate_kernels(points: list[dict] | None = None) -> list[dict]:
    """Per measured kernel call: the path the cost model picks and its instructions vs the measurement.

    A bare kernel call has no TFLM dispatch, so the model's per-op overhead is left out of the
    prediction; ops timed inside a TFLM Invoke ("includes_dispatch") keep it.
    """
    rows = []
    for p in load_kernel_points() if points is None else points:
        layer = kernel_layer(p)
        path, instr, _ = cost_model.layer_instructions(layer, p["library"])
        predicted = instr if p.get("includes_dispatch") else instr - cost_model.OP_OVERHEAD[p["library"]]
        rows.append({"case": p["case"], "library": p["library"], "path": path, "macs": p["macs"],
                     "measured": p["instructions"], "predicted": predicted,
                     "error_pct": 100.0 * (predicted / p["instructions"] - 1.0)})
    return rows
