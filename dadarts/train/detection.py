"""Detection metrics for the name task: per-name false-reject and false-accept rates, DET curves, EER.

Name detection is imbalanced (few names, many other words), so accuracy says little. For each name
n, the clips of n are the positives and every other clip (other names, `_unknown_`) the negatives:
- FRR(n): share of positives the model does not label n (at its argmax decision),
- FAR(n): share of negatives the model labels n,
- DET curve: FRR and FAR when "n" is declared whenever softmax(n) >= θ, over all thresholds θ,
  and the equal error rate where the two meet.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np


def det_curve(scores: np.ndarray, positive: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(thresholds, FAR, FRR) for 'detect when score >= threshold', thresholds ascending."""
    scores = np.asarray(scores, np.float64)
    positive = np.asarray(positive, bool)
    thresholds = np.unique(np.concatenate([scores, [np.inf]]))
    n_pos, n_neg = max(1, positive.sum()), max(1, (~positive).sum())
    pos_sorted = np.sort(scores[positive])
    neg_sorted = np.sort(scores[~positive])
    frr = np.searchsorted(pos_sorted, thresholds, side="left") / n_pos          # positives below θ
    far = (neg_sorted.size - np.searchsorted(neg_sorted, thresholds, side="left")) / n_neg  # negatives ≥ θ
    return thresholds, far, frr


def equal_error_rate(far: np.ndarray, frr: np.ndarray) -> float:
    i = int(np.argmin(np.abs(far - frr)))
    return float((far[i] + frr[i]) / 2)


def detection_report(probs: np.ndarray, y: np.ndarray, labels: list[str], names: list[str]) -> dict:
    """Per-name FRR/FAR at the argmax decision, EER and the DET curve (thinned to ≤ 200 points)."""
    probs = np.asarray(probs, np.float64)
    y = np.asarray(y)
    pred = probs.argmax(1)
    out = {}
    for name in names:
        k = labels.index(name)
        positive = y == k
        thresholds, far, frr = det_curve(probs[:, k], positive)
        keep = np.unique(np.linspace(0, thresholds.size - 1, min(200, thresholds.size)).round().astype(int))
        out[name] = {
            "positives": int(positive.sum()), "negatives": int((~positive).sum()),
            "false_reject_rate": float((pred[positive] != k).mean()) if positive.any() else None,
            "false_accept_rate": float((pred[~positive] == k).mean()) if (~positive).any() else None,
            "eer": equal_error_rate(far, frr),
            "det": {"threshold": [float(t) for t in thresholds[keep]], "far": [float(v) for v in far[keep]],
                    "frr": [float(v) for v in frr[keep]]},
        }
    return out


def plot_det(report: dict, path: str | Path, title: str = "") -> None:
    """DET curves of every name (FAR vs FRR, log axes) as a PNG, written atomically."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..rundir import atomic_path
    fig, ax = plt.subplots(figsize=(5, 4.5))
    floor = 1e-3
    for name, r in report.items():
        far = np.maximum(r["det"]["far"], floor)
        frr = np.maximum(r["det"]["frr"], floor)
        ax.plot(far * 100, frr * 100, label=f"{name} (EER {r['eer'] * 100:.1f} %)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("false accept rate (%)")
    ax.set_ylabel("false reject rate (%)")
    ax.set_title(title or "Detection error trade-off")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120)
    plt.close(fig)


def name_detection(model, x, y, labels: list[str], batch_size: int, device, png_path: str | Path) -> dict:
    """Detection report of a trained name-task model on normalised (N, T, F) features + DET plot."""
    import torch
    model.eval()
    probs = []
    with torch.no_grad():
        for i in range(0, x.shape[0], batch_size):
            probs.append(torch.softmax(model(x[i:i + batch_size, None].to(device)).float(), 1).cpu())
    names = [name for name in labels if not name.startswith("_")]
    report = detection_report(torch.cat(probs).numpy(), y.numpy(), labels, names)
    plot_det(report, png_path, title="Name detection on the test split (held-out voices)")
    return report
