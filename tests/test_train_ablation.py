"""`dadarts ablation` orchestration: both searches, both trainings, baselines on the chosen config, compare, restart.

The search stage is replaced by a stand-in that writes a search/result.json as `dadarts search`
does, so this test checks the ablation's own logic; training and compare run for real.
"""
import argparse
import csv

import pytest

import dadarts.cli
from dadarts.data.datasets import load_dataset
from dadarts.rundir import RunDir, read_json, write_json_atomic
from dadarts.search.genotypes import PCDARTS, to_dict
from dadarts.train import ablation_command


@pytest.mark.slow
def test_ablation_end_to_end_with_stand_in_search(tiny_corpus, tmp_path, monkeypatch):
    ds = load_dataset(tiny_corpus, "gsc12")
    real_main, calls = dadarts.cli.main, []

    def fake_main(argv):
        calls.append(list(argv))
        if argv[0] != "search":
            return real_main(argv)
        run = RunDir.of(argv[argv.index("--run") + 1])
        config = argv[argv.index("--fixed-config") + 1] if "--fixed-config" in argv else "400/200/40"
        write_json_atomic(run.search_result, {
            "task": "gsc12", "labels": ds.labels, "config": config, "genotype": to_dict(PCDARTS),
            "gamma": {config: 1.0}, "gamma_stop_epoch": None, "align": "fixed", "data_space": [config],
            "settings": {}, "dataset_fingerprint": ds.fingerprint, "search_val_accuracy": 0.1}, kind="search_result")
        return 0
    monkeypatch.setattr(dadarts.cli, "main", fake_main)

    prefix = str(tmp_path / "abl")
    argv = ["--run-prefix", prefix, "--data", str(tiny_corpus), "--epochs", "1", "--channels", "4", "--layers", "3",
            "--no-augment", "--device", "cpu", "--fixed-config", "640/320/40"]
    p = argparse.ArgumentParser()
    ablation_command.add_arguments(p)
    args = p.parse_args(argv)
    args._argv = ["ablation", *argv]
    assert ablation_command.run(args) == 0

    commands = [c[0] for c in calls]
    assert commands == ["search", "search", "train", "train", "train", "compare"]
    baseline = calls[4]
    assert baseline[baseline.index("--mfcc") + 1] == "400/200/40"   # the data-aware search's choice
    assert read_json(RunDir.of(f"{prefix}-fixed").train_metrics, "train_metrics")["config"] == "640/320/40"
    rows = list(csv.DictReader(open(f"{prefix}-compare/compare.csv")))
    assert [r["run"] for r in rows] == ["abl-data-aware", "abl-fixed", "abl-ds-cnn-s"]

    # Running it again skips every finished step and only re-draws the comparison.
    calls.clear()
    assert ablation_command.run(args) == 0
    assert [c[0] for c in calls] == ["compare"]
