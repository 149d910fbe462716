"""The models the cost model is measured on have the published architectures, and its instruction model
reproduces the measured Invoke of the calibration models it was fitted on."""
from __future__ import annotations

import json

import pytest

from dadarts.costmodel import fit
from dadarts.costmodel import kernels as cost_model
from dadarts.mcu_eval.calibration_models import build_calibration_model
from dadarts.costmodel.graph import parse_tflite


@pytest.fixture(scope="module")
def models() -> dict[str, bytes]:
    return {name: build_calibration_model(name) for name in ("ds-cnn-s", "micro_speech")}


def test_calibration_models_have_the_published_structure(models):
    s = parse_tflite(models["ds-cnn-s"])
    # Hello Edge DS-CNN-S: 10x4 stride-2 conv to 25x5x64, four (dw 3x3 + pw 64) blocks, 2.66 M MACs.
    assert s.layers[0].output_shape == [1, 25, 5, 64] and s.total_macs == 2_656_768
    ms = parse_tflite(models["micro_speech"])
    assert ms.layers[0].op == "DEPTHWISE_CONV_2D" and ms.layers[0].multiplier == 8


def test_ds_cnn_s_built_here_is_the_model_that_was_measured(models):
    # The measured rows carry each layer's shapes: the model built now has the same layers.
    rows = [r for r in fit.read_rows(fit.DATA_DIR / "op_counts_calibration.jsonl")
            if r["model"] == "ds-cnn-s" and r["core"] == "M4F" and r["library"] == cost_model.CMSIS_DSP]
    layers = parse_tflite(models["ds-cnn-s"]).layers
    assert [r["layer"]["output_shape"] for r in sorted(rows, key=lambda r: r["op_index"])] == \
        [layer.output_shape for layer in layers]


def test_fitted_model_reproduces_the_calibration_models_invoke(models):
    totals = json.loads((fit.DATA_DIR / "invoke_totals.json").read_text())["models"]
    for t in totals:
        if t["model"] not in models or t["role"] != "calibration":
            continue
        predicted = cost_model.model_instructions(parse_tflite(models[t["model"]]).layers, t["library"], t["core"])
        # The Invoke adds TFLM's loop between operators (a few dozen instructions each) to their sum.
        assert predicted == pytest.approx(t["invoke"], rel=0.06), t


def test_cmsis_nn_runs_far_fewer_instructions_than_reference(models):
    layers = parse_tflite(models["ds-cnn-s"]).layers
    ratio = (cost_model.model_instructions(layers, cost_model.REFERENCE, "M4F")
             / cost_model.model_instructions(layers, cost_model.CMSIS_DSP, "M4F"))
    assert 3.0 < ratio < 8.0
