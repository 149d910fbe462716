"""`dadarts mcu-eval RUN` on a tiny exported run built here (int8 Keras model + frontend.json + report.json)."""
from __future__ import annotations

import json

import pytest

from dadarts.cli import main
from dadarts.frontend.artifact import write_frontend
from dadarts.frontend.spec import MfccConfig
from dadarts.costmodel.graph import parse_tflite
from dadarts.costmodel.memory import arena_reserve_bytes
from dadarts.rundir import RunDir, read_json, write_json_atomic

CONFIG = MfccConfig.parse("640/320/40")     # 49 x 40 features


@pytest.fixture(scope="module")
def model_bytes() -> bytes:
    from dadarts.mcu_eval.calibration_models import _moderate_logits, _quiet_tf, to_int8_tflite
    tf = _quiet_tf()
    L = tf.keras.layers
    inp = tf.keras.Input((*CONFIG.shape, 1), batch_size=1)
    x = L.Conv2D(8, (5, 3), strides=2, padding="same", activation="relu")(inp)
    x = L.DepthwiseConv2D(3, padding="same", activation="relu")(x)
    x = L.Conv2D(12, 1, activation="relu")(x)
    x = L.GlobalAveragePooling2D()(x)
    dense = L.Dense(5)
    return to_int8_tflite(_moderate_logits(tf.keras.Model(inp, L.Softmax()(dense(x))), dense))


def make_run(root, model: bytes | None, config: MfccConfig = CONFIG, arena: int | None = 4321) -> RunDir:
    run = RunDir.of(root)
    run.train.mkdir(parents=True)
    write_frontend(run.frontend, config, [0.0] * config.n_mfcc, [1.0] * config.n_mfcc)
    if model is not None:
        run.export.mkdir(parents=True)
        run.tflite_int8.write_bytes(model)
        report = {"model_bytes": len(model), "input": {"shape": [1, *config.shape, 1]}}
        if arena:
            report["tflm"] = {"arena_bytes": arena}
        write_json_atomic(run.export_report, report, kind="export_report")
    return run


def test_cli_prints_verdicts_and_writes_estimates(tmp_path, model_bytes, capsys):
    run = make_run(tmp_path / "run", model_bytes)
    rc = main(["mcu-eval", str(run.root), "--target", "NUCLEO-L4R5ZI", "--target", "rp2040", "--layers"])
    out = capsys.readouterr().out
    assert rc == 0
    assert "NUCLEO-L4R5ZI" in out and "RP2040" in out and "fits" in out
    assert "DEPTHWISE_CONV_2D" in out and "dw_3x3" in out and "conv_1x1" in out   # --layers breakdown
    est = read_json(run.estimates, "mcu_estimates")
    assert est["config"] == "640/320/40"
    for name in ("NUCLEO-L4R5ZI", "RP2040"):
        t = est["targets"][name]
        assert t["latency_ms"] > 0 and isinstance(t["fits"], bool)
        assert t["ram_bytes"] == sum(t["ram_terms"].values()) and t["flash_bytes"] == sum(t["flash_terms"].values())
        assert t["flash_terms"]["model"] == len(model_bytes)
        assert [layer["op"] for layer in t["layers"]] == [layer.op for layer in parse_tflite(model_bytes).layers]
        assert sum(layer["macs"] for layer in t["layers"]) == est["model"]["total_macs"]
    # The arena is measured with tflite-micro; the export report's figure is kept as a cross-check.
    arena = est["model"]["arena"]
    assert arena["verified"] and arena["export_report_bytes"] == 4321
    assert est["targets"]["RP2040"]["ram_terms"]["tflm_arena"] == arena_reserve_bytes(arena["total_bytes"])
    assert "mcu-eval" in read_json(run.run_json, "run")["stages"]


def test_a_runs_decision_period_is_the_one_its_firmware_decides_at(tmp_path, model_bytes, capsys):
    """At a 20 ms hop: search/result.json "decision_ms" 60 gives 3 front-end frames per decision, --decision-ms
    wins; a run fine-tuned with `train --init` from it takes its period; a run without a search (a baseline) is
    priced at one decision per 100 ms, the rate export's recogniser runs its model at, not one per hop."""
    from dadarts.export.recognizer_settings import default_settings
    from dadarts.rundir import RunDir
    searched, plain = make_run(tmp_path / "run", model_bytes), make_run(tmp_path / "plain", model_bytes)
    tuned = make_run(tmp_path / "tuned", model_bytes)
    searched.search.mkdir(parents=True)
    write_json_atomic(searched.search_result, {"decision_ms": 60.0}, kind="search_result")
    write_json_atomic(tuned.train_metrics, {"settings": {"init": str(searched.root)}}, kind="train_metrics")
    frames = {}
    for run, extra in ((searched, []), (searched, ["--decision-ms", "40"]), (plain, []), (tuned, [])):
        assert main(["mcu-eval", str(run.root), "--target", "NUCLEO-F446RE", *extra]) == 0
        t = read_json(run.estimates, "mcu_estimates")["targets"]["NUCLEO-F446RE"]
        assert t["latency_ms"] == pytest.approx(t["invoke_ms"] + t["frames_per_decision"] * t["frontend_ms_per_frame"])
        frames[run.root.name, len(extra)] = (t["decision_ms"], t["frames_per_decision"])
    assert frames == {("run", 0): (60.0, 3), ("run", 2): (40.0, 2), ("plain", 0): (100.0, 5), ("tuned", 0): (60.0, 3)}
    for run in (searched, plain, tuned):       # the recogniser export writes runs the model at the period priced
        every = default_settings(RunDir.of(run.root), CONFIG).inference_every_hops
        assert every == frames[run.root.name, 0][1]
    assert "one decision every 60 ms" in capsys.readouterr().out


def test_own_targets_file_and_a_board_that_is_too_small(tmp_path, model_bytes, capsys):
    run = make_run(tmp_path / "run", model_bytes)
    boards = tmp_path / "boards.json"
    boards.write_text(json.dumps({"targets": {"Speck": {"core": "M0+", "clock_mhz": 48, "sram_kb": 8,
                                                        "flash_kb": 64}}}))
    rc = main(["mcu-eval", str(run.root), "--targets-file", str(boards), "--kernels", "reference"])
    out = capsys.readouterr().out
    assert rc == 0 and "DOES NOT FIT" in out
    t = read_json(run.estimates, "mcu_estimates")["targets"]["Speck"]
    assert not t["fits"] and t["ram_margin_bytes"] < 0 and t["library"] == "reference"


def test_run_that_was_not_exported_is_a_clear_error(tmp_path, capsys):
    run = make_run(tmp_path / "run", None)
    assert main(["mcu-eval", str(run.root)]) == 2
    err = capsys.readouterr().err
    assert "has not been exported" in err and "dadarts export" in err and "Traceback" not in err


def test_model_from_another_configuration_is_refused(tmp_path, model_bytes, capsys):
    run = make_run(tmp_path / "run", model_bytes, config=MfccConfig.parse("400/200/40"))
    assert main(["mcu-eval", str(run.root), "--target", "nRF52840"]) == 2
    assert "does not match the front-end" in capsys.readouterr().err


def test_unknown_target_is_a_clear_error(tmp_path, model_bytes, capsys):
    run = make_run(tmp_path / "run", model_bytes)
    assert main(["mcu-eval", str(run.root), "--target", "Arduino-Uno"]) == 2
    assert "Unknown target 'Arduino-Uno'" in capsys.readouterr().err
