"""Name-detection metrics on hand-made cases."""
from __future__ import annotations

import numpy as np
import pytest

from dadarts.train.detection import det_curve, detection_report, equal_error_rate, plot_det

LABELS = ["marvin", "sheila", "_unknown_"]


def test_rates_at_the_argmax_decision():
    # 4 marvin clips (one missed), 2 sheila (one taken for marvin), 4 unknown (one taken for marvin).
    y = np.array([0, 0, 0, 0, 1, 1, 2, 2, 2, 2])
    pred = np.array([0, 0, 0, 2, 1, 0, 2, 2, 0, 2])
    probs = np.eye(3)[pred] * 0.8 + 0.2 / 3
    r = detection_report(probs, y, LABELS, ["marvin", "sheila"])
    assert r["marvin"]["false_reject_rate"] == pytest.approx(1 / 4)
    assert r["marvin"]["false_accept_rate"] == pytest.approx(2 / 6)
    assert r["sheila"]["false_reject_rate"] == pytest.approx(1 / 2)
    assert r["sheila"]["false_accept_rate"] == pytest.approx(0.0)
    assert r["marvin"]["positives"] == 4 and r["marvin"]["negatives"] == 6


def test_det_curve_and_eer():
    scores = np.array([0.9, 0.8, 0.7, 0.3, 0.6, 0.2, 0.1, 0.05])
    positive = np.array([1, 1, 1, 1, 0, 0, 0, 0], bool)
    thr, far, frr = det_curve(scores, positive)
    i = list(thr).index(0.7)                 # declare at >= 0.7: 3/4 positives kept, no negative
    assert frr[i] == pytest.approx(0.25) and far[i] == 0.0
    j = list(thr).index(0.3)                 # >= 0.3: all positives, one negative (0.6)
    assert frr[j] == 0.0 and far[j] == pytest.approx(0.25)
    assert (np.diff(far) <= 0).all() and (np.diff(frr) >= 0).all()
    assert equal_error_rate(far, frr) == pytest.approx(0.25)
    perfect = det_curve(np.array([0.9, 0.1]), np.array([True, False]))
    assert equal_error_rate(perfect[1], perfect[2]) == 0.0


def test_det_plot_is_written(tmp_path):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 200)
    probs = rng.dirichlet(np.ones(3), 200)
    probs[np.arange(200), y] += 0.5
    report = detection_report(probs / probs.sum(1, keepdims=True), y, LABELS, ["marvin", "sheila"])
    plot_det(report, tmp_path / "det.png")
    assert (tmp_path / "det.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_train_on_the_names_task_reports_detection(tiny_corpus, tmp_path):
    import json

    from dadarts.cli import main
    run = tmp_path / "names"
    assert main(["train", "--model", "ds-cnn-s", "--mfcc", "640/320/40", "--data", str(tiny_corpus),
                 "--task", "names", "--run", str(run), "--epochs", "1", "--no-augment", "--quiet",
                 "--device", "cpu"]) == 0
    metrics = json.loads((run / "train" / "metrics.json").read_text())
    assert metrics["labels"] == LABELS
    det = metrics["detection"]
    assert set(det) == {"marvin", "sheila"}
    for name in det:
        assert 0.0 <= det[name]["false_reject_rate"] <= 1.0 and 0.0 <= det[name]["false_accept_rate"] <= 1.0
        assert det[name]["positives"] == metrics["support"][name]
    assert (run / "train" / "det.png").is_file()
