"""PyTorch -> ONNX -> float / int8 TFLite -> TFLite Micro on tiny networks: every primitive of the
search space and every configuration shape, with no TRANSPOSE or float op in the int8 graph.

Each conversion imports TensorFlow and runs onnx2tf (tens of seconds), so these tests are slow.
"""
import json

import numpy as np
import pytest
import torch

from dadarts.errors import UserError
from dadarts.export.carrays import MODEL_DATA_CC, MODEL_SETTINGS_H, parse_model_data
from dadarts.export.pipeline import ExportInputs, ExportOptions, export_model
from dadarts.export.tflite_graph import int8_problems, read_ops
from dadarts.frontend.spec import DEFAULT_SPACE
from dadarts.rundir import RunDir
from dadarts.search.genotypes import Genotype
from dadarts.search.network import SearchedNetwork
from test_export_concat_quant import requantised_concat_inputs
from test_export_inference import PRIMITIVES, randomize_bn, single_op_genotype

pytestmark = pytest.mark.slow

# Both cells use all seven primitives, so the stride-1 and stride-2 form of each is converted.
ALL_PRIMITIVES = Genotype(
    normal=[("sep_conv_3x3", 0), ("skip_connect", 1), ("max_pool_3x3", 0), ("dil_conv_3x3", 2),
            ("avg_pool_3x3", 1), ("sep_conv_5x5", 3), ("dil_conv_5x5", 0), ("skip_connect", 2)],
    normal_concat=[2, 3, 4, 5],
    reduce=[("max_pool_3x3", 0), ("skip_connect", 1), ("avg_pool_3x3", 0), ("dil_conv_3x3", 1),
            ("sep_conv_5x5", 1), ("dil_conv_5x5", 0), ("sep_conv_3x3", 2), ("skip_connect", 3)],
    reduce_concat=[2, 3, 4, 5])
LABELS = ["yes", "no", "_silence_", "_unknown_"]
CONFIG_OF_SHAPE = {cfg.shape: cfg.name for cfg in sorted(DEFAULT_SPACE)}
MCU_GENOTYPE = Genotype(
    normal=[("ds_conv_3x3", 0), ("skip_connect", 1), ("max_pool_3x3", 0), ("conv_1x1", 2), ("avg_pool_3x3", 1),
            ("ds_conv_5x5", 3)],
    normal_concat=[2, 3, 4],
    reduce=[("ds_conv_3x3_x2", 0), ("max_pool_3x3", 1), ("avg_pool_3x3", 0), ("skip_connect", 1), ("ds_conv_5x5", 1),
            ("conv_1x1", 0)],
    reduce_concat=[2, 3, 4])


def tiny_inputs(genotype, config: str, samples: int, space: str | None = None) -> ExportInputs:
    """A tiny searched network with random BN statistics, and random features as its data."""
    from dadarts.frontend.spec import MfccConfig
    shape = MfccConfig.parse(config).shape
    torch.manual_seed(0)
    net = randomize_bn(SearchedNetwork(genotype, shape, len(LABELS), channels=4, layers=3, space=space))
    rng = np.random.default_rng(0)
    x = rng.standard_normal((samples, *shape)).astype(np.float32)
    return ExportInputs(model=net, labels=LABELS, config=config, x_test=x, y_test=rng.integers(0, 4, samples),
                        x_calibration=rng.standard_normal((2 * samples, *shape)).astype(np.float32),
                        run_name="tiny", source="tests")


def convert(genotype, config: str, root, samples: int = 24, space: str | None = None,
            **options) -> tuple[dict, RunDir]:
    run = RunDir.of(root)
    opts = ExportOptions(int8=True, calibration_samples=samples, tflm_samples=8, **options)
    return export_model(tiny_inputs(genotype, config, samples, space), run, opts, log=lambda *_: None), run


def check_clean_int8(report: dict, run: RunDir) -> None:
    ops = read_ops(run.tflite_int8.read_bytes())
    assert int8_problems(ops) == []
    # Every concatenation input of a searched cell is an ADD: a requantising copy stays only where
    # another op reads the node too (concat_quant.py).
    kept = requantised_concat_inputs(run.tflite_int8.read_bytes())
    assert all(kept) and len(kept) == report["concat_quantize"]["kept"] == report["int8"]["ops"].get("QUANTIZE", 0)
    assert report["concat_quantize"]["after"]["arena_bytes"] == report["tflm"]["arena_bytes"]
    assert "TRANSPOSE" not in report["int8"]["ops"] and "SPACE_TO_BATCH_ND" not in report["int8"]["ops"]
    assert report["onnx"]["max_abs_error"] < 1e-4 and report["float"]["max_abs_error"] < 1e-4
    assert report["onnx"]["top1_agreement"] == 1.0 and report["float"]["top1_agreement"] == 1.0
    assert report["int8"]["top1_agreement"] >= 0.9
    assert report["tflm"]["within_1_lsb_share"] >= 0.99 and report["tflm"]["top1_agreement"] >= 0.99


def test_all_primitives_export_end_to_end(tmp_path):
    with pytest.raises(UserError, match="max-int8-drop"):
        # An impossible bound: int8 would have to beat float by 100 points. The report stays.
        convert(ALL_PRIMITIVES, "640/320/40", tmp_path / "run", max_int8_drop=-100.0)
    run = RunDir.of(tmp_path / "run")
    report = json.loads(run.export_report.read_text())
    assert report["kind"] == "export_report"
    check_clean_int8(report, run)
    assert report["inference_model"]["max_abs_diff_vs_trained"] < 1e-5
    # Stride-2 average pools convert to one pool (no border-patching MUL / extra CONCATENATION chains),
    # so the only concatenations are the three cells' outputs.
    assert "MUL" not in report["int8"]["ops"] and report["int8"]["ops"]["CONCATENATION"] == 3
    assert report["input"]["shape"] == [1, 49, 40, 1] and report["input"]["dtype"] == "int8"
    assert -128 <= report["input"]["zero_point"] <= 127 and report["input"]["scale"] > 0
    assert report["output"]["shape"] == [1, 4] and report["output"]["scale"] > 0
    assert report["model_bytes"] == run.tflite_int8.stat().st_size
    assert report["tflm"]["arena_bytes"] > 0 and report["tflm"]["ops"][0] == "CONV_2D"
    c_model = parse_model_data((run.firmware / MODEL_DATA_CC).read_text())
    assert c_model == run.tflite_int8.read_bytes()
    settings = (run.firmware / MODEL_SETTINGS_H).read_text()
    assert f"#define KWS_NUM_OPS {len(report['tflm']['ops'])}" in settings
    assert '#define KWS_LABELS {"yes", "no", "_silence_", "_unknown_"}' in settings


@pytest.mark.parametrize("mode", ["safe", "all"])
def test_mcu_cells_export_without_requantising_copies(mode, tmp_path):
    """The fold of concat_quant.py in the export: the int8 file is the folded model that was checked."""
    from dadarts.export.inference import build_inference_model
    from dadarts.export.onnx_export import run_torch
    from dadarts.export.tflite_convert import TfliteRunner
    report, run = convert(MCU_GENOTYPE, "400/200/40/20", tmp_path / "run", space="mcu", fold_concat=mode)
    check_clean_int8(report, run)
    fold = report["concat_quantize"]
    # Normal cells: node 4 is read by the concat alone, nodes 2 and 3 by later nodes too (one of them
    # may set the concat's range and need no copy); reduction cells: every node by the concat alone.
    assert fold["mode"] == mode and fold["folded"] >= 4
    assert (fold["kept"] == 0) if mode == "all" else (1 <= fold["kept"] <= 2)
    # Each removed op and tensor frees its persistent structs; the activations' peak is the concat's
    # (every node state and the output live at once), which the copies did not raise.
    assert fold["after"]["arena_bytes"] < fold["before"]["arena_bytes"]
    # The figures reported are those of the file written (and of the firmware's C array).
    inputs = tiny_inputs(MCU_GENOTYPE, "400/200/40/20", 24, "mcu")
    written = TfliteRunner(run.tflite_int8.read_bytes())(inputs.x_test[..., None])
    pt = run_torch(build_inference_model(inputs.model), inputs.x_test[:, None])
    assert fold["after"]["int8_accuracy"] == report["int8"]["accuracy"] == (written.argmax(1) == inputs.y_test).mean()
    assert report["int8"]["max_abs_error"] == pytest.approx(float(np.abs(written - pt).max()), rel=1e-6)
    assert parse_model_data((run.firmware / MODEL_DATA_CC).read_text()) == run.tflite_int8.read_bytes()


@pytest.mark.parametrize("shape", sorted(s for s in CONFIG_OF_SHAPE if s != (49, 40)), ids=lambda s: f"{s[0]}x{s[1]}")
def test_every_configuration_shape_converts(shape, tmp_path):
    report, run = convert(ALL_PRIMITIVES, CONFIG_OF_SHAPE[shape], tmp_path / "run", samples=12)
    check_clean_int8(report, run)
    assert report["input"]["shape"] == [1, *shape, 1]


@pytest.mark.parametrize("op", PRIMITIVES)
def test_every_primitive_converts(op, tmp_path):
    report, run = convert(single_op_genotype(op), "640/160/40", tmp_path / "run", samples=12)
    check_clean_int8(report, run)


def test_export_command_on_a_trained_run(tiny_corpus, tmp_path):
    """`dadarts export RUN --int8` on a run laid out as dadarts train writes it (docs/contracts.md)."""
    from dadarts.cli import main
    from dadarts.data.datasets import load_dataset
    from dadarts.data.features import fit_normalizer
    from dadarts.frontend.artifact import write_frontend
    from dadarts.frontend.spec import MfccConfig
    from dadarts.rundir import record_run
    from dadarts.search.genotypes import PCDARTS, to_dict
    ds = load_dataset(tiny_corpus, "gsc12")
    config = MfccConfig.parse("640/320/40")
    run = RunDir.of(tmp_path / "searched")
    build = {"name": "searched", "input_shape": list(config.shape), "num_classes": len(ds.labels),
             "kwargs": {"genotype": to_dict(PCDARTS), "channels": 4, "layers": 3}}
    torch.manual_seed(0)
    net = randomize_bn(SearchedNetwork(PCDARTS, config.shape, len(ds.labels), channels=4, layers=3))
    run.train.mkdir(parents=True)
    torch.save({"schema": 1, "kind": "model", "build": build, "state_dict": net.state_dict(), "labels": ds.labels,
                "config": config.name, "task": "gsc12"}, run.model)
    norm = fit_normalizer(ds, config)
    write_frontend(run.frontend, config, norm.mean, norm.std)
    record_run(run, "train", ["train", str(run.root)], dataset_fingerprint=ds.fingerprint, data=str(ds.root),
               task="gsc12", model="searched", config=config.name)

    assert main(["export", str(run.root), "--int8", "--calibration-samples", "16", "--tflm-samples", "8"]) == 0
    report = json.loads(run.export_report.read_text())
    check_clean_int8(report, run)
    assert report["model"] == "searched" and report["labels"] == ds.labels
    assert report["test_samples"] == len(ds.splits["testing"])
    assert {"frontend_tables.h", "frontend_tables.c", "model_data.cc", "model_settings.h"} <= \
        {p.name for p in run.firmware.iterdir()}
    assert json.loads(run.run_json.read_text())["stages"]["export"]["int8"] is True
    assert main(["export", str(tmp_path / "missing")]) == 2


def test_op_without_a_tflm_kernel_is_named_with_its_layer():
    import tensorflow as tf
    from dadarts.export.tflm_check import run_tflm

    @tf.function(input_signature=[tf.TensorSpec([1, 8], tf.float32)])
    def top2(x):
        return tf.math.top_k(tf.nn.relu(x), k=2).values

    model = tf.lite.TFLiteConverter.from_concrete_functions([top2.get_concrete_function()]).convert()
    with pytest.raises(UserError, match="no kernel for op TOPK_V2 .*producing '"):
        run_tflm(model, np.zeros((1, 8), np.float32))
