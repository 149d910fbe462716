"""Per-epoch curves shared by the search and training sections: a history.csv column as an array,
and the two-panel loss / accuracy figure."""
from __future__ import annotations

from typing import Callable

import numpy as np

from .page import Figure, png_of, pyplot


def column(history: list[dict], key: str) -> np.ndarray:
    """One column of a history (rows read by artifacts._csv) as floats, NaN where empty or text."""
    return np.array([v if isinstance(v := r.get(key), float) else np.nan for r in history], float)


def epoch_axis(ax) -> None:
    from matplotlib.ticker import MaxNLocator
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")


def loss_accuracy_figure(history: list[dict], series: list[tuple[str, str]], what: str, key: str, title: str,
                         caption: str, decorate: Callable | None = None) -> Figure:
    """Loss and accuracy per epoch of every (column prefix, label) in `series` that has values."""
    plt = pyplot()
    x = column(history, "epoch")
    fig, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(10, 3.6))
    for prefix, label in series:
        for ax, metric in ((loss_ax, "loss"), (acc_ax, "acc")):
            y = column(history, f"{prefix}_{metric}")
            if np.isfinite(y).any():
                ax.plot(x, y, marker="o", ms=3, label=label)
    for ax, name in ((loss_ax, "cross-entropy"), (acc_ax, "accuracy")):
        if decorate is not None:
            decorate(ax)
        epoch_axis(ax)
        ax.set_title(f"{what} {name}", fontsize=10)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    return Figure(key, title, png=png_of(fig), caption=caption)
