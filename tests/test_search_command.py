"""`dadarts search` end to end on the tiny synthetic corpus: artifacts, printout, resume, user errors."""
import json

import pytest

from dadarts.cli import main
from dadarts.search import genotypes as G
from dadarts.search.network import SearchedNetwork

TINY = ["--space", "mcu", "--epochs", "2", "--warmup-epochs", "1", "--batch-size", "16", "--channels", "4", "--layers", "3",
        "--data-space", "640/320/40,400/200/40", "--device", "cpu", "--quiet"]


@pytest.mark.slow
def test_search_command_end_to_end_and_resume(tiny_corpus, tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["search", "--data", str(tiny_corpus), "--run", str(run), *TINY]) == 0
    out = capsys.readouterr().out
    assert "chosen configuration:" in out and "Genotype(normal=" in out and "softmax(γ) per epoch" in out
    result = json.loads((run / "search" / "result.json").read_text())
    assert result["task"] == "gsc12" and result["labels"][-1] == "_unknown_"
    assert result["config"] in ("640/320/40", "400/200/40")
    assert result["data_space"] == ["640/320/40", "400/200/40"]
    assert result["data"] == str(tiny_corpus.resolve()) and result["names"] is None
    run_json = json.loads((run / "run.json").read_text())
    assert "search" in run_json["stages"] and run_json["dataset_fingerprint"] == result["dataset_fingerprint"]
    # The train stage rebuilds the searched network from the result on the chosen native shape.
    from dadarts.frontend.spec import MfccConfig
    import torch
    shape = MfccConfig.parse(result["config"]).shape
    net = SearchedNetwork(result["genotype"], input_shape=shape, num_classes=len(result["labels"]), channels=4, layers=3,
                          space=result["space"])
    assert net(torch.randn(1, 1, *shape)).shape == (1, len(result["labels"]))
    # --resume on a finished search reproduces the same result.
    assert main(["search", "--data", str(tiny_corpus), "--run", str(run), "--resume", "--device", "cpu", "--quiet"]) == 0
    again = json.loads((run / "search" / "result.json").read_text())
    assert again["genotype"] == result["genotype"] and again["gamma"] == result["gamma"]
    assert G.from_dict(again["genotype"])


def test_search_command_user_errors(tmp_path, capsys):
    assert main(["search", "--run", str(tmp_path / "r"), "--resume"]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["search", "--data", str(tmp_path / "missing"), "--run", str(tmp_path / "r")]) == 2
    assert main(["search", "--fixed-config", "400/x/40", "--run", str(tmp_path / "r")]) == 2
    assert "WINDOW/HOP/MELS" in capsys.readouterr().err
    assert main(["search", "--space", "mcu", "--channels", "6", "--run", str(tmp_path / "r")]) == 2
    assert "multiple of 4" in capsys.readouterr().err


@pytest.mark.slow
def test_resume_after_a_kill_matches_an_uninterrupted_search(tiny_corpus, tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    args = ["--data", str(tiny_corpus), "--space", "mcu", "--epochs", "2", "--warmup-epochs", "1", "--batch-size", "16",
            "--channels", "4", "--layers", "3", "--data-space", "640/320/40,640/160/40", "--device", "cpu", "--quiet"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cli = [sys.executable, "-m", "dadarts.cli", "search"]
    full, cut = tmp_path / "full", tmp_path / "cut"
    subprocess.run([*cli, "--run", str(full), *args], env=env, check=True, capture_output=True, timeout=600)
    proc = subprocess.Popen([*cli, "--run", str(cut), *args], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    ckpt = cut / "search" / "checkpoint.pt"
    deadline = time.time() + 600
    while not ckpt.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert ckpt.exists() and not (cut / "search" / "result.json").exists()
    subprocess.run([*cli, "--run", str(cut), "--resume", "--quiet"], env=env, check=True, capture_output=True,
                   timeout=600)
    a = json.loads((full / "search" / "result.json").read_text())
    b = json.loads((cut / "search" / "result.json").read_text())
    assert (a["genotype"], a["gamma"], a["config"]) == (b["genotype"], b["gamma"], b["config"])
