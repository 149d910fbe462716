"""`dadarts mcu-eval MODEL.tflite`: any int8 TFLite file is estimated; a bad file gets one sentence."""
from __future__ import annotations

import json

import pytest

from dadarts.cli import main
from dadarts.costmodel.memory import arena_reserve_bytes
from dadarts.mcu_eval.sweep_models import OpSpec, build_model


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    """49x10 input through a stride-2 'valid' stem conv, a 3x3 depthwise, a 1x1 conv and a MIRROR_PAD,
    each an independent operator of one model (dadarts.mcu_eval.sweep_models builds it without TF)."""
    specs = [OpSpec("CONV_2D", (49, 10), 1, c_out=16, kernel=(3, 3), stride=(2, 2), padding="valid"),
             OpSpec("DEPTHWISE_CONV_2D", (24, 4), 16, kernel=(3, 3)),
             OpSpec("CONV_2D", (24, 4), 16, c_out=16),
             OpSpec("MIRROR_PAD", (24, 4), 16, extra=(1,))]
    path = tmp_path_factory.mktemp("tflite") / "other_tool.tflite"
    path.write_bytes(build_model(specs))
    return path


def test_any_int8_tflite_is_estimated_without_a_front_end(model_file, tmp_path, capsys):
    out_json = tmp_path / "est.json"
    rc = main(["mcu-eval", str(model_file), "--target", "NUCLEO-L4R5ZI", "--layers", "--out", str(out_json)])
    out = capsys.readouterr().out
    assert rc == 0
    assert "front-end not counted" in out and "--mfcc" in out
    assert "dw_3x3" in out and "conv_1x1" in out and "mirror_pad" in out
    est = json.loads(out_json.read_text())
    assert est["kind"] == "mcu_estimates" and est["config"] is None and not est["frontend"]["counted"]
    t = est["targets"]["NUCLEO-L4R5ZI"]
    assert t["latency_ms"] == pytest.approx(t["invoke_ms"]) and t["frontend_ms_per_frame"] == 0
    assert "frontend_tables" not in t["flash_terms"] and "feature_ring" not in t["ram_terms"]
    assert t["ram_terms"]["tflm_arena"] == arena_reserve_bytes(est["model"]["arena"]["total_bytes"]) > 0
    assert [layer["op"] for layer in t["layers"]] == ["CONV_2D", "DEPTHWISE_CONV_2D", "CONV_2D", "MIRROR_PAD"]


def test_mfcc_given_counts_the_front_end_and_must_match_the_input(model_file, capsys):
    assert main(["mcu-eval", str(model_file), "--target", "NUCLEO-L4R5ZI", "--mfcc", "640/320/40/10"]) == 0
    assert "MFCC 640/320/40/10" in capsys.readouterr().out
    assert main(["mcu-eval", str(model_file), "--mfcc", "400/100/40"]) != 0
    err = capsys.readouterr().err
    assert "157x40" in err and "Traceback" not in err


def test_decision_period_counts_its_frames_as_the_search_budget_does(model_file, tmp_path, capsys):
    """--decision-ms at a 20 ms hop counts its frames as the search's frames_per_decision does (100 ms: one Invoke
    + 5 front-end frames); without it the period is the default 100 ms (DEFAULT_DECISION_MS), not one per hop."""
    from dadarts.costmodel.estimate import frames_per_decision
    from dadarts.frontend.spec import MfccConfig
    outs = {}
    for extra in ([], ["--decision-ms", "40"]):
        out_json = tmp_path / f"est{len(extra)}.json"
        assert main(["mcu-eval", str(model_file), "--target", "NUCLEO-F446RE", "--mfcc", "640/320/40/10",
                     "--out", str(out_json), *extra]) == 0
        outs[len(extra)] = json.loads(out_json.read_text())["targets"]["NUCLEO-F446RE"]
    assert "one decision every 100 ms" in capsys.readouterr().out
    period, forty = outs[0], outs[2]
    assert period["frames_per_decision"] == frames_per_decision(MfccConfig.parse("640/320/40/10"), 100.0) == 5
    assert period["latency_ms"] == pytest.approx(period["invoke_ms"] + 5 * period["frontend_ms_per_frame"])
    assert period["duty_cycle"] == pytest.approx(period["latency_ms"] / 100.0)
    assert forty["frames_per_decision"] == 2 and forty["duty_cycle"] == pytest.approx(forty["latency_ms"] / 40.0)
    assert forty["latency_ms"] == pytest.approx(forty["invoke_ms"] + 2 * forty["frontend_ms_per_frame"])
    assert main(["mcu-eval", str(model_file), "--decision-ms", "100"]) != 0
    assert "--mfcc" in capsys.readouterr().err
    assert main(["mcu-eval", str(model_file), "--mfcc", "640/320/40/10", "--decision-ms", "0"]) != 0
    assert "not a period" in capsys.readouterr().err


@pytest.mark.parametrize("content, sentence", [
    (lambda good: good[: len(good) // 3], "truncated or corrupt"),
    (lambda good: b"PK\x03\x04 this is a zip file, not a model" * 4, "not a TFLite model"),
    (lambda good: b"", "not a TFLite model"),
])
def test_a_bad_file_gets_one_sentence(model_file, tmp_path, capsys, content, sentence):
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(content(model_file.read_bytes()))
    assert main(["mcu-eval", str(bad)]) != 0
    err = capsys.readouterr().err
    assert sentence in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_a_float_model_is_refused_with_the_reason(tmp_path, capsys):
    from dadarts.mcu_eval.sweep_models import _Builder
    b = _Builder(seed=0)
    x = b.tensor((1, 8, 8, 4), "FLOAT32", None, None)
    y = b.tensor((1, 8, 8, 4), "FLOAT32", None, None)
    b.inputs, b.outputs = [x], [y]
    b.op("RELU", [x], [y])
    path = tmp_path / "float.tflite"
    path.write_bytes(b.finish("float relu"))
    assert main(["mcu-eval", str(path)]) != 0
    err = capsys.readouterr().err
    assert "float model" in err and "int8" in err and "Traceback" not in err


def test_an_operator_tflite_micro_cannot_run_is_named(tmp_path, capsys):
    from dadarts.mcu_eval.sweep_models import _Builder
    b = _Builder(seed=0)
    x, k = b.activation((1, 8)), b.int32([2])
    values, indices = b.activation((1, 2)), b.tensor((1, 2), "INT32", None, None)
    b.inputs, b.outputs = [x], [values, indices]
    b.op("TOPK_V2", [x, k], [values, indices])
    path = tmp_path / "topk.tflite"
    path.write_bytes(b.finish("top-k"))
    assert main(["mcu-eval", str(path)]) != 0
    err = capsys.readouterr().err
    assert "TOPK_V2" in err and "no kernel" in err and "Traceback" not in err
