"""The paper-style comparison table of trained runs: size, cost, float and int8 accuracy, latency.

Train metrics are required; export and MCU figures are added where those stages have run. Their
files are read defensively (a missing, partial or differently shaped file gives an empty cell,
never an error), using only the agreed keys: report["int8"]["accuracy"] in export/report.json and
estimates["targets"][name]["latency_ms"] in mcu/estimates.json.
"""
from __future__ import annotations

import json
from pathlib import Path

from ..errors import UserError
from ..rundir import RunDir, atomic_path, read_json, write_csv_atomic, write_text_atomic
from .loop import METRICS_KIND


def _load_optional(path: Path) -> dict:
    try:
        obj = json.loads(path.read_text())
        return obj if isinstance(obj, dict) else {}
    except (OSError, ValueError):
        return {}


def _number(value) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _model_label(m: dict) -> str:
    name = m.get("model", "?")
    kw = m.get("settings", {}).get("model_kwargs", {})
    if name == "searched":
        return f"searched C={kw.get('channels')} L={kw.get('layers')}"
    if name == "chain":
        return f"chain {sum(b.get('op') != 'skip' for b in kw.get('arch', {}).get('blocks', []))} blocks"
    if kw.get("width"):
        return f"{name} x{kw['width']}"
    return name


def collect(runs: list[str]) -> tuple[list[dict], list[str]]:
    """One row per run, and the MCU targets that appear in any run's estimates (sorted)."""
    rows, targets = [], set()
    for root in runs:
        run = RunDir.of(root)
        run.require(run.train_metrics, hint=f"run 'dadarts train {run.root}' first.")
        m = read_json(run.train_metrics, METRICS_KIND)
        report = _load_optional(run.export_report)
        int8 = report.get("int8") if isinstance(report.get("int8"), dict) else {}
        est = _load_optional(run.estimates)
        est_targets = est.get("targets") if isinstance(est.get("targets"), dict) else {}
        latency = {}
        for name, t in est_targets.items():
            if isinstance(t, dict) and _number(t.get("latency_ms")) is not None:
                latency[name] = _number(t["latency_ms"])
                targets.add(name)
        rows.append({
            "run": run.root.name or str(run.root), "model": _model_label(m), "config": m.get("config"),
            "params": m.get("params"), "macs": m.get("macs"),
            "accuracy": _number(m.get("accuracy")), "balanced_accuracy": _number(m.get("balanced_accuracy")),
            "int8_accuracy": _number(int8.get("accuracy")),
            "seed": m.get("seed"), "epochs": m.get("epochs"), "latency_ms": latency,
        })
    return rows, sorted(targets)


def _fmt_count(n) -> str:
    if n is None:
        return ""
    return f"{n / 1e6:.2f} M" if n >= 1e6 else f"{n / 1e3:.1f} K"


def _fmt_pct(v) -> str:
    return "" if v is None else f"{100 * v:.2f}"


def table(rows: list[dict], targets: list[str]) -> tuple[list[str], list[list[str]]]:
    header = ["run", "model", "MFCC", "params", "MACs", "float acc %", "balanced %", "int8 acc %", "seed", "epochs"]
    header += [f"{t} ms" for t in targets]
    body = []
    for r in rows:
        line = [r["run"], r["model"], r["config"] or "", _fmt_count(r["params"]), _fmt_count(r["macs"]),
                _fmt_pct(r["accuracy"]), _fmt_pct(r["balanced_accuracy"]), _fmt_pct(r["int8_accuracy"]),
                "" if r["seed"] is None else str(r["seed"]), "" if r["epochs"] is None else str(r["epochs"])]
        line += ["" if r["latency_ms"].get(t) is None else f"{r['latency_ms'][t]:.1f}" for t in targets]
        body.append(line)
    return header, body


def markdown(header, body) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in body]
    return "\n".join(lines) + "\n"


def plain(header, body) -> str:
    widths = [max(len(h), *(len(r[i]) for r in body)) for i, h in enumerate(header)]
    fmt = "  ".join("{:<%d}" % w for w in widths)
    return "\n".join([fmt.format(*header), fmt.format(*("-" * w for w in widths))] + [fmt.format(*r) for r in body])


def csv_rows(rows: list[dict], targets: list[str]) -> list[dict]:
    out = []
    for r in rows:
        row = {k: r[k] for k in ("run", "model", "config", "params", "macs", "accuracy", "balanced_accuracy",
                                 "int8_accuracy", "seed", "epochs")}
        row.update({f"latency_ms_{t}": r["latency_ms"].get(t) for t in targets})
        out.append(row)
    return out


def plot(rows: list[dict], path: Path) -> None:
    """Accuracy against parameters (log scale), float and int8 where known, each point labelled."""
    import matplotlib
    import matplotlib.ticker
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for r in rows:
        if r["params"] is None or r["accuracy"] is None:
            continue
        ax.scatter(r["params"], 100 * r["accuracy"], color="tab:blue", zorder=3)
        ax.annotate(r["run"], (r["params"], 100 * r["accuracy"]), textcoords="offset points", xytext=(5, 4), fontsize=8)
        if r["int8_accuracy"] is not None:
            ax.scatter(r["params"], 100 * r["int8_accuracy"], color="tab:orange", marker="x", zorder=3)
    ax.scatter([], [], color="tab:blue", label="float")
    if any(r["int8_accuracy"] is not None for r in rows):
        ax.scatter([], [], color="tab:orange", marker="x", label="int8 TFLite")
    ax.set_xscale("log")
    # Sizes in K / M on major ticks only: log-scale minor labels overlap over a narrow range.
    ax.xaxis.set_major_locator(matplotlib.ticker.LogLocator(subs=(1.0, 1.5, 2.0, 3.0, 5.0, 7.0)))
    ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: _fmt_count(v).replace(" ", "")))
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.margins(x=0.2, y=0.1)
    ax.set_xlabel("parameters")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title("Accuracy against model size")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="lower right")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=120, format="png")
    plt.close(fig)


def compare(runs: list[str], out: Path, targets: list[str] | None = None) -> tuple[str, dict[str, Path]]:
    """Write compare.md, compare.csv and compare.png into `out`; return the plain-text table and the paths.

    `targets` limits the latency columns to those MCU targets (default: every target found)."""
    if not runs:
        raise UserError("Give at least one run directory to compare.")
    rows, found = collect(runs)
    if targets:
        unknown = [t for t in targets if t not in found]
        if unknown and found:
            raise UserError(f"No latency estimate for target(s) {', '.join(unknown)} in these runs: "
                            f"choose among {', '.join(found)}.")
    targets = [t for t in targets if t in found] if targets else found
    header, body = table(rows, targets)
    out = Path(out)
    paths = {"markdown": out / "compare.md", "csv": out / "compare.csv", "plot": out / "compare.png"}
    write_text_atomic(paths["markdown"], markdown(header, body))
    write_csv_atomic(paths["csv"], csv_rows(rows, targets))
    plot(rows, paths["plot"])
    return plain(header, body), paths
