"""What a newcomer sees on the console: no library noise from TensorFlow's import, and a baseline's
training resumed with nothing but `dadarts train RUN --resume`."""
import argparse
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from dadarts.rundir import RunDir, read_json
from dadarts.train import command, loop

REPO = Path(__file__).resolve().parents[1]


def train_cli(*argv):
    parser = argparse.ArgumentParser()
    command.add_arguments(parser)
    args = parser.parse_args(list(argv))
    args._argv = ["train", *argv]
    return command.run(args)


def test_tensorflow_import_prints_nothing():
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    env["PYTHONPATH"] = str(REPO)
    done = subprocess.run([sys.executable, "-c", "from dadarts.export.tflite_convert import quiet_tensorflow; "
                           "quiet_tensorflow()"], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "" and done.stderr == ""


def test_baseline_resumes_from_its_checkpoint_alone(tiny_corpus, tmp_path, monkeypatch):
    common = ["--model", "ds-cnn-s", "--mfcc", "640/320/40", "--data", str(tiny_corpus), "--epochs", "2",
              "--batch-size", "32", "--quiet", "--device", "cpu", "--no-augment"]
    straight = RunDir.of(tmp_path / "straight")
    train_cli(*common, "--run", str(straight.root))

    resumed = RunDir.of(tmp_path / "resumed")
    real_evaluate, calls = loop.evaluate, []

    def interrupting(*a, **kw):   # stop at the second validation: one epoch checkpointed
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real_evaluate(*a, **kw)
    monkeypatch.setattr(loop, "evaluate", interrupting)
    with pytest.raises(KeyboardInterrupt):
        train_cli(*common, "--run", str(resumed.root))
    monkeypatch.setattr(loop, "evaluate", real_evaluate)
    assert not resumed.search_result.exists() and not resumed.model.exists()

    # No --model, --mfcc or --data: the checkpoint says which model, configuration and dataset.
    train_cli(str(resumed.root), "--resume", "--quiet", "--device", "cpu")
    a = torch.load(straight.model, weights_only=False)["state_dict"]
    b = torch.load(resumed.model, weights_only=False)["state_dict"]
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    ma, mb = read_json(straight.train_metrics, "train_metrics"), read_json(resumed.train_metrics, "train_metrics")
    assert mb["model"] == "ds-cnn-s" and mb["config"] == "640/320/40" and ma["accuracy"] == mb["accuracy"]
