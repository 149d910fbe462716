"""`dadarts compare`: rows from train metrics, optional export / MCU figures read defensively, files written."""
import csv

import pytest

from dadarts.errors import UserError
from dadarts.rundir import RunDir, write_json_atomic
from dadarts.train.compare import compare
from dadarts.train.compare_command import add_arguments, run as run_command


def fake_run(root, model, acc, params, kwargs=None):
    run = RunDir.of(root)
    write_json_atomic(run.train_metrics, {"model": model, "config": "400/200/40", "accuracy": acc,
                                          "balanced_accuracy": acc - 0.01, "params": params, "macs": 10 * params,
                                          "seed": 0, "epochs": 3, "settings": {"model_kwargs": kwargs or {}}},
                      kind="train_metrics")
    return run


def test_table_with_and_without_later_stages(tmp_path):
    a = fake_run(tmp_path / "searched", "searched", 0.91, 120_000, {"channels": 8, "layers": 5})
    b = fake_run(tmp_path / "dscnn", "ds-cnn-s", 0.87, 23_180)
    c = fake_run(tmp_path / "odd", "ghostnet", 0.5, 2_000_000, {"width": 0.5})
    write_json_atomic(a.export_report, {"int8": {"accuracy": 0.905}}, kind="export_report")
    write_json_atomic(a.estimates, {"targets": {"NUCLEO-L4R5ZI": {"latency_ms": 12.34}, "bad": {"latency_ms": "n/a"}}},
                      kind="mcu_estimates")
    b.export.mkdir(parents=True)
    b.export_report.write_text("{ half written")            # unreadable: an empty cell, not an error
    c.mcu.mkdir(parents=True)
    c.estimates.write_text('{"targets": ["not", "a", "dict"]}')

    text, paths = compare([str(a.root), str(b.root), str(c.root)], tmp_path / "cmp")
    assert "searched C=8 L=5" in text and "ghostnet x0.5" in text and "NUCLEO-L4R5ZI ms" in text
    md = paths["markdown"].read_text()
    assert "| searched | searched C=8 L=5 | 400/200/40 | 120.0 K | 1.20 M | 91.00 | 90.00 | 90.50 |" in md
    assert "bad ms" not in md
    rows = list(csv.DictReader(paths["csv"].open()))
    assert [r["run"] for r in rows] == ["searched", "dscnn", "odd"]
    assert rows[0]["int8_accuracy"] == "0.905" and rows[1]["int8_accuracy"] == ""
    assert rows[0]["latency_ms_NUCLEO-L4R5ZI"] == "12.34" and rows[2]["latency_ms_NUCLEO-L4R5ZI"] == ""
    assert paths["plot"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    write_json_atomic(b.estimates, {"targets": {"RP2040": {"latency_ms": 99.0}}}, kind="mcu_estimates")
    text, _ = compare([str(a.root), str(b.root)], tmp_path / "cmp2", targets=["RP2040"])
    assert "RP2040 ms" in text and "NUCLEO-L4R5ZI ms" not in text
    with pytest.raises(UserError, match="choose among"):
        compare([str(a.root)], tmp_path / "cmp3", targets=["Arduino-Uno"])


def test_untrained_run_is_a_user_error(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="dadarts train"):
        compare([str(tmp_path / "empty")], tmp_path / "cmp")


def test_command_default_out_dir(tmp_path, capsys):
    import argparse
    fake_run(tmp_path / "r1", "ds-cnn-s", 0.8, 23_180)
    p = argparse.ArgumentParser()
    add_arguments(p)
    assert run_command(p.parse_args([str(tmp_path / "r1")])) == 0
    assert (tmp_path / "compare" / "compare.md").is_file()
    assert "ds-cnn-s" in capsys.readouterr().out
