"""The training section: curves, confusion matrix, per-class accuracy, and for the names task the
detection rates and DET curves."""
from __future__ import annotations

import numpy as np

from .artifacts import RunArtifacts
from .curves import loss_accuracy_figure
from .page import Figure, Section, Table, png_of, pyplot


def curves_figure(history: list[dict]) -> Figure:
    return loss_accuracy_figure(history, [("train", "training (augmented)"), ("val", "validation")], "Training",
                                "train_curves", "Training curves",
                                "training loss includes label smoothing, so it stays above the validation loss.")


def confusion_figure(confusion: list[list[int]], labels: list[str]) -> Figure:
    plt = pyplot()
    cm = np.asarray(confusion, float)
    rows = cm.sum(axis=1, keepdims=True)
    share = np.divide(cm, rows, out=np.zeros_like(cm), where=rows > 0)
    k = len(labels)
    size = min(12.0, 2.5 + 0.38 * k)
    fig, ax = plt.subplots(figsize=(size + 1.2, size))
    im = ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(k), labels, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(k), labels, fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if k <= 16:   # counts stay legible up to about this many classes
        for i in range(k):
            for j in range(k):
                if cm[i, j]:
                    ax.text(j, i, f"{int(cm[i, j])}", ha="center", va="center", fontsize=7,
                            color="white" if share[i, j] > 0.5 else "#1d2330")
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.03, label="share of the true class")
    ax.set_title("Confusion matrix (test split)", fontsize=10)
    return Figure("confusion", "Confusion matrix", png=png_of(fig),
                  caption="rows are true classes, normalised to 1; numbers are clip counts.")


def per_class_figure(per_class: dict, support: dict, accuracy: float | None) -> Figure:
    plt = pyplot()
    items = sorted(((v, name) for name, v in per_class.items() if v is not None))
    fig, ax = plt.subplots(figsize=(7, 0.8 + 0.28 * len(items)))
    values = [100 * v for v, _ in items]
    colours = ["#c0392b" if accuracy is not None and v < accuracy else "#2e86c1" for v, _ in items]
    ax.barh(range(len(items)), values, color=colours)
    ax.set_yticks(range(len(items)), [f"{n} ({support.get(n, '?')})" for _, n in items], fontsize=8)
    ax.invert_yaxis()
    if accuracy is not None:
        ax.axvline(100 * accuracy, color="#333333", ls="--", lw=1, label=f"overall {100 * accuracy:.2f} %")
        ax.legend(fontsize=8, loc="lower right")
    ax.set_xlim(max(0.0, min(values, default=0) - 5), 100.5)
    ax.set_xlabel("test accuracy of the class (%)")
    ax.grid(True, axis="x", alpha=0.3)
    ax.set_title("Per-class accuracy (recall), worst first", fontsize=10)
    return Figure("per_class", "Per-class accuracy", png=png_of(fig),
                  caption="in brackets: test clips of the class; red: below the overall accuracy.")


def _pct(v) -> str:
    return f"{100 * v:.2f} %" if isinstance(v, (int, float)) else "-"


def detection_table(detection: dict) -> Table:
    rows = [[name, str(r.get("positives", "-")), _pct(r.get("false_reject_rate")), _pct(r.get("false_accept_rate")),
             _pct(r.get("eer"))] for name, r in detection.items() if isinstance(r, dict)]
    return Table("detection", "Name detection (test split)", ["name", "clips", "false reject", "false accept", "EER"],
                 rows, caption="false reject / accept at the argmax decision; EER over all thresholds.")


def budget_table(check: dict) -> Table:
    """budget_check of train/metrics.json or export/report.json: the trained model against its target."""
    def num(key):
        v = check.get(key)
        return f"{v:.4g}" if isinstance(v, (int, float)) else "-"
    over = check.get("over") or []
    verdict = "yes" if check.get("fits") else "no" + (f" (over: {', '.join(map(str, over))})" if over else "")
    rows = [["estimated", num("latency_ms"), num("ram_kb"), num("flash_kb"), verdict]]
    if isinstance(check.get("budget"), dict):
        budget = check["budget"]
        rows.append(["budget"] + [f"{budget[k]:g}" if isinstance(budget.get(k), (int, float)) else "none"
                                  for k in ("latency_ms", "ram_kb", "flash_kb")] + [""])
    return Table("budget_check", f"Budget check on {check.get('target')}",
                 ["", "latency ms", "RAM KB", "flash KB", "fits"], rows)


def _summary(m: dict) -> str:
    text = (f"{m.get('model')} on {m.get('config')} ({m.get('task')}): test accuracy {_pct(m.get('accuracy'))} "
            f"(balanced {_pct(m.get('balanced_accuracy'))}) on {m.get('n')} clips")
    if isinstance(m.get("params"), (int, float)):
        text += f", {int(m['params']):,} parameters"
    if isinstance(m.get("macs"), (int, float)):
        text += f", {m['macs'] / 1e6:.2f} M MACs"
    if isinstance(m.get("wall_time_s"), (int, float)):
        text += f"; {m.get('epochs')} epochs in {m['wall_time_s']:.0f} s"
    return text + "."


def section(a: RunArtifacts) -> Section | None:
    m, history = a.train_metrics, a.train_history
    if m is None and history is None:
        return None
    if m is None:
        s = Section("train", "Training", summary=f"Training has not finished ({len(history)} epoch(s) in "
                                                 "train/history.csv): `dadarts train RUN --resume` continues it.")
    else:
        s = Section("train", "Training", summary=_summary(m))
    if history:
        s.items.append(curves_figure(history))
    if m is None:
        return s
    labels = m.get("labels") or list((m.get("per_class") or {}).keys())
    if m.get("confusion") and labels and len(m["confusion"]) == len(labels):
        s.items.append(confusion_figure(m["confusion"], labels))
    if isinstance(m.get("per_class"), dict):
        s.items.append(per_class_figure(m["per_class"], m.get("support") or {}, m.get("accuracy")))
    if isinstance(m.get("detection"), dict):
        s.items.append(detection_table(m["detection"]))
        det = a.run.train / "det.png"
        if det.is_file():
            s.items.append(Figure("det", "Detection error trade-off", png=det.read_bytes(),
                                  caption="false reject against false accept rate per name, over all thresholds."))
    if isinstance(m.get("budget_check"), dict):
        s.items.append(budget_table(m["budget_check"]))
    return s
