"""The comparison with baselines: accuracy against parameters and against estimated latency.

Rows come from trained run directories (as `dadarts compare` collects them) or from the compare.csv
that `dadarts compare --out DIR` wrote; the report's own run is highlighted.
"""
from __future__ import annotations

import csv
from pathlib import Path

from ..errors import UserError
from ..rundir import RunDir
from ..train.compare import collect, table
from .artifacts import RunArtifacts
from .page import Figure, Section, Table, png_of, pyplot


def _float(text):
    try:
        return float(text) if text not in (None, "") else None
    except ValueError:
        return None


def _csv_rows(path: Path) -> list[dict]:
    """Rows of a compare.csv in the form `dadarts.train.compare.collect` returns."""
    try:
        with open(path, newline="") as f:
            raw = list(csv.DictReader(f))
    except (OSError, csv.Error, UnicodeDecodeError) as exc:
        raise UserError(f"{path} is not a readable compare.csv ({exc}): re-run dadarts compare --out.") from None
    rows = []
    for r in raw:
        rows.append({"run": r.get("run", "?"), "model": r.get("model", ""), "config": r.get("config"),
                     "params": _float(r.get("params")), "macs": _float(r.get("macs")),
                     "accuracy": _float(r.get("accuracy")), "balanced_accuracy": _float(r.get("balanced_accuracy")),
                     "int8_accuracy": _float(r.get("int8_accuracy")), "seed": r.get("seed") or None,
                     "epochs": r.get("epochs") or None,
                     "latency_ms": {k[len("latency_ms_"):]: _float(v) for k, v in r.items()
                                    if k.startswith("latency_ms_") and _float(v) is not None}})
    return rows


def gather(a: RunArtifacts, others: list[str]) -> list[dict]:
    """The report's run (when trained) first, then every --compare run directory or compare output."""
    rows = collect([str(a.run.root)])[0] if a.train_metrics is not None else []
    for other in others:
        path = Path(other)
        if RunDir.of(path).train_metrics.is_file():
            found = collect([str(path)])[0]
        elif path.is_file() and path.suffix == ".csv":
            found = _csv_rows(path)
        elif (path / "compare.csv").is_file():
            found = _csv_rows(path / "compare.csv")
        else:
            raise UserError(f"--compare {other} is neither a trained run directory (train/metrics.json) nor a "
                            "`dadarts compare --out` folder or compare.csv: give one of those.")
        seen = {(r["run"], r["model"]) for r in rows}
        rows += [r for r in found if (r["run"], r["model"]) not in seen]
    return rows


def pick_target(rows: list[dict], wanted: str | None) -> str | None:
    """The board whose latency the plot uses: the one asked for, else the one most rows have."""
    counts: dict[str, int] = {}
    for r in rows:
        for t in r["latency_ms"]:
            counts[t] = counts.get(t, 0) + 1
    if wanted:
        if wanted not in counts:
            raise UserError(f"No compared run has a latency estimate for --target {wanted}: "
                            f"choose among {', '.join(sorted(counts)) or 'none (run dadarts mcu-eval first)'}.")
        return wanted
    return max(sorted(counts), key=lambda t: counts[t]) if counts else None


def _scatter(ax, rows: list[dict], x_of, own: str | None) -> None:
    for r in rows:
        x, acc = x_of(r), r["accuracy"]
        if x is None or acc is None:
            continue
        mine = r["run"] == own
        ax.scatter(x, 100 * acc, color="#c0392b" if mine else "tab:blue", marker="*" if mine else "o",
                   s=160 if mine else 40, zorder=3)
        ax.annotate(f"{r['run']} ({r['model']})", (x, 100 * acc), textcoords="offset points", xytext=(5, 4),
                    fontsize=7.5)
        if r["int8_accuracy"] is not None:
            ax.scatter(x, 100 * r["int8_accuracy"], color="tab:orange", marker="x", zorder=3)
    ax.set_xscale("log")
    ax.margins(x=0.25, y=0.12)
    ax.set_ylabel("test accuracy (%)")
    ax.grid(True, which="both", alpha=0.3)


def comparison_figure(rows: list[dict], target: str | None, own: str | None) -> Figure:
    plt = pyplot()
    panels = 2 if target else 1
    fig, axes = plt.subplots(1, panels, figsize=(6.2 * panels, 4.4), squeeze=False)
    _scatter(axes[0][0], rows, lambda r: r["params"], own)
    axes[0][0].set_xlabel("parameters")
    axes[0][0].set_title("Accuracy against size", fontsize=10)
    if target:
        _scatter(axes[0][1], rows, lambda r: r["latency_ms"].get(target), own)
        axes[0][1].set_xlabel(f"estimated ms per decision on {target}")
        axes[0][1].set_title("Accuracy against latency", fontsize=10)
    ax = axes[0][0]
    ax.scatter([], [], color="tab:blue", label="float")
    ax.scatter([], [], color="tab:orange", marker="x", label="int8 TFLite")
    ax.scatter([], [], color="#c0392b", marker="*", s=100, label="this run")
    ax.legend(fontsize=8, loc="lower right")
    return Figure("comparison", "Comparison with baselines", png=png_of(fig),
                  caption="dots: float accuracy; crosses: the int8 model where exported. Latency from mcu-eval.")


def section(a: RunArtifacts, others: list[str], target: str | None) -> Section | None:
    if not others:
        return None
    rows = gather(a, others)
    if len(rows) < 2:
        return Section("compare", "Comparison", notes=["Only one trained model among this run and --compare: "
                                                         "give the runs of baselines to compare with."])
    target = pick_target(rows, target)
    s = Section("compare", "Comparison", summary=f"{len(rows)} trained models"
                + (f"; latency estimated on {target}." if target else "; no latency estimates (run dadarts mcu-eval)."))
    own = rows[0]["run"] if a.train_metrics is not None and rows else None
    s.items.append(comparison_figure(rows, target, own))
    header, body = table(rows, [target] if target else [])
    s.items.append(Table("comparison_table", "Compared models", header, body))
    return s
