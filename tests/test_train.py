"""`dadarts train` end to end on the tiny corpus: artifacts, rebuilding model.pt, resume, searched runs."""
import argparse

import numpy as np
import pytest
import torch

from dadarts.errors import UserError
from dadarts.frontend.artifact import read_frontend
from dadarts.rundir import RunDir, read_json, write_json_atomic
from dadarts.search.genotypes import PCDARTS, to_dict
from dadarts.train import command, loop
from dadarts.train.models import build_model


def train_cli(*argv):
    parser = argparse.ArgumentParser()
    command.add_arguments(parser)
    args = parser.parse_args(list(argv))
    args._argv = ["train", *argv]
    return command.run(args)


def rebuild(run: RunDir):
    saved = torch.load(run.model, map_location="cpu", weights_only=False)
    b = saved["build"]
    model = build_model(b["name"], b["input_shape"], b["num_classes"], **b["kwargs"])
    model.load_state_dict(saved["state_dict"])
    return saved, model.eval()


def test_baseline_one_epoch_end_to_end(tiny_corpus, tmp_path):
    run = RunDir.of(tmp_path / "ds")
    assert train_cli("--model", "ds-cnn-s", "--mfcc", "640/320/40", "--data", str(tiny_corpus), "--run", str(run.root),
                     "--epochs", "1", "--batch-size", "16", "--quiet", "--device", "cpu") == 0
    m = read_json(run.train_metrics, "train_metrics")
    assert m["model"] == "ds-cnn-s" and m["config"] == "640/320/40" and m["epochs"] == 1
    assert 0.0 <= m["accuracy"] <= 1.0 and 0.0 <= m["balanced_accuracy"] <= 1.0
    assert len(m["confusion"]) == 12 and sum(map(sum, m["confusion"])) == m["n"]
    assert m["params"] == sum(p.numel() for p in build_model("ds-cnn-s", (49, 40), 12).parameters())
    assert m["macs"] > 0 and m["params_with_buffers"] > m["params"]
    saved, model = rebuild(run)
    assert saved["kind"] == "model" and saved["config"] == "640/320/40" and saved["build"]["input_shape"] == [49, 40]
    assert saved["labels"] == m["labels"]
    fe = read_frontend(run.frontend)
    assert fe.config.name == "640/320/40" and fe.mean.shape == (40,)
    rows = run.train_history.read_text().strip().splitlines()
    assert len(rows) == 2 and rows[0].startswith("epoch,")
    stages = read_json(run.run_json, "run")["stages"]
    assert stages["train"]["model"] == "ds-cnn-s"


def interrupt_after_first_epoch(monkeypatch, *argv):
    """Run `dadarts train *argv` and stop it right after its first epoch's checkpoint (at the second validation)."""
    real_evaluate, calls = loop.evaluate, []

    def interrupting(*a, **kw):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real_evaluate(*a, **kw)
    with monkeypatch.context() as m:
        m.setattr(loop, "evaluate", interrupting)
        with pytest.raises(KeyboardInterrupt):
            train_cli(*argv)


def test_resume_continues_bit_for_bit(tiny_corpus, tmp_path, monkeypatch):
    common = ["--model", "ds-cnn-s", "--mfcc", "640/320/40", "--data", str(tiny_corpus), "--epochs", "2",
              "--batch-size", "32", "--quiet", "--device", "cpu", "--drop-path", "0.1"]
    straight = RunDir.of(tmp_path / "straight")
    train_cli(*common, "--run", str(straight.root))

    resumed = RunDir.of(tmp_path / "resumed")
    interrupt_after_first_epoch(monkeypatch, *common, "--run", str(resumed.root))
    assert resumed.train_checkpoint.is_file() and not resumed.model.exists()
    # Different CLI settings are ignored on resume: the checkpoint's settings win.
    train_cli("--model", "ds-cnn-s", "--data", str(tiny_corpus), "--run", str(resumed.root), "--epochs", "9",
              "--quiet", "--device", "cpu", "--resume")

    a, b = rebuild(straight)[0]["state_dict"], rebuild(resumed)[0]["state_dict"]
    for k in a:
        assert torch.equal(a[k], b[k]), k
    ma, mb = read_json(straight.train_metrics, "train_metrics"), read_json(resumed.train_metrics, "train_metrics")
    assert ma["accuracy"] == mb["accuracy"] and mb["epochs"] == 2


def test_baseline_resumes_from_its_checkpoint_alone(tiny_corpus, tmp_path, monkeypatch):
    common = ["--model", "ds-cnn-s", "--mfcc", "640/320/40", "--data", str(tiny_corpus), "--epochs", "2",
              "--batch-size", "32", "--quiet", "--device", "cpu", "--no-augment"]
    straight, resumed = RunDir.of(tmp_path / "straight"), RunDir.of(tmp_path / "resumed")
    train_cli(*common, "--run", str(straight.root))
    interrupt_after_first_epoch(monkeypatch, *common, "--run", str(resumed.root))
    assert not resumed.search_result.exists() and not resumed.model.exists()
    # No --model, --mfcc or --data: the checkpoint says which model, configuration and dataset.
    train_cli(str(resumed.root), "--resume", "--quiet", "--device", "cpu")
    a, b = rebuild(straight)[0]["state_dict"], rebuild(resumed)[0]["state_dict"]
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    ma, mb = read_json(straight.train_metrics, "train_metrics"), read_json(resumed.train_metrics, "train_metrics")
    assert mb["model"] == "ds-cnn-s" and mb["config"] == "640/320/40" and ma["accuracy"] == mb["accuracy"]


def test_searched_network_from_search_result(tiny_corpus, tmp_path):
    from dadarts.data.datasets import load_dataset
    ds = load_dataset(tiny_corpus, "gsc12")
    run = RunDir.of(tmp_path / "searched")
    write_json_atomic(run.search_result, {
        "task": "gsc12", "labels": ds.labels, "config": "640/320/80", "genotype": to_dict(PCDARTS),
        "gamma": {"640/320/80": 1.0}, "gamma_stop_epoch": None, "align": "fixed", "data_space": ["640/320/80"],
        "settings": {}, "dataset_fingerprint": ds.fingerprint, "search_val_accuracy": 0.1}, kind="search_result")
    with pytest.raises(UserError, match="another dataset"):   # same folder, other task: not what was searched
        train_cli(str(run.root), "--epochs", "1", "--quiet", "--data", str(tiny_corpus), "--task", "names")
    train_cli(str(run.root), "--data", str(tiny_corpus), "--channels", "4", "--layers", "3", "--epochs", "1",
              "--batch-size", "32", "--no-augment", "--quiet", "--device", "cpu")
    saved, model = rebuild(run)
    assert saved["build"]["name"] == "searched" and saved["build"]["input_shape"] == [49, 80]
    assert saved["build"]["kwargs"]["channels"] == 4
    with torch.no_grad():
        assert model(torch.randn(2, 1, 49, 80)).shape == (2, 12)


def test_searched_without_search_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="dadarts search"):
        train_cli(str(tmp_path / "nothing"), "--quiet")


def test_cosine_schedule_with_warmup():
    assert loop.lr_at(0, 100, 10, 1.0) == pytest.approx(0.1)
    assert loop.lr_at(9, 100, 10, 1.0) == pytest.approx(1.0)
    assert loop.lr_at(55, 100, 10, 1.0) == pytest.approx(0.5)
    assert loop.lr_at(100, 100, 10, 1.0) == pytest.approx(0.0)
    lrs = [loop.lr_at(i, 100, 10, 1.0) for i in range(10, 100)]
    assert all(np.diff(lrs) <= 0)


def test_a_causal_chain_trains_after_stream_history(tiny_corpus, tmp_path, monkeypatch):
    """--stream-history: the model is called with the batch's previous examples as history (one epoch, end to
    end); it is refused for a network that does not stream causally."""
    import json
    arch = {"stem": "conv_10x4_s2x1", "stem_channels": 16, "time_padding": "causal",
            "blocks": [{"op": "dw_3x3", "channels": 16, "stride": 2}] + [{"op": "skip"}] * 5}
    calls = []
    real = build_model

    def spying(*a, **kw):
        model = real(*a, **kw)
        forward = model.forward

        def recorded(x, history=None):
            calls.append(None if history is None else tuple(history.shape))
            return forward(x, history)
        model.forward = recorded
        return model
    monkeypatch.setattr(loop, "build_model", spying)
    run = RunDir.of(tmp_path / "causal")
    assert train_cli("--model", "chain", "--arch", json.dumps(arch), "--mfcc", "640/320/40", "--data", str(tiny_corpus),
                     "--run", str(run.root), "--epochs", "1", "--batch-size", "16", "--quiet", "--device", "cpu",
                     "--stream-history") == 0
    assert (16, 1, 48, 40) in calls     # H = 48 of 49 frames (time stride 4) in training, and in evaluation
    assert calls[-1] is None            # the last evaluation: the test split's windows alone
    metrics = read_json(run.train_metrics, "train_metrics")
    assert metrics["settings"]["stream_history"] is True
    assert metrics["streamed"]["history_frames"] == 48 and 0 <= metrics["streamed"]["window_accuracy"] <= 1
    with pytest.raises(UserError, match="--stream-history hears each example"):
        train_cli("--model", "chain", "--arch", json.dumps({**arch, "time_padding": "valid"}), "--mfcc", "640/320/40",
                  "--data", str(tiny_corpus), "--run", str(tmp_path / "v"), "--quiet", "--stream-history")
