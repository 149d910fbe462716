"""The search section: softmax(γ) over epochs, the expected cost against the budget, the search
curves, α as a heat map per edge, and the normal and reduction cells."""
from __future__ import annotations

import numpy as np

from ..costmodel.spaces import SPACE_FACTS
from .artifacts import RunArtifacts
from .cells import cell_figure, state_label
from .curves import column, epoch_axis, loss_accuracy_figure
from .page import Figure, Section, Table, png_of, pyplot

# history.csv column -> (result.json budget / predicted key, axis label); present with a budget only.
COST_COLUMNS = {"exp_latency_ms": ("latency_ms", "latency per decision (ms)"),
                "exp_ram_kb": ("ram_kb", "peak RAM (KB)"),
                "exp_flash_kb": ("flash_kb", "flash (KB)")}


def _mark_phases(ax, history: list[dict], stop_epoch) -> None:
    """Shade the warm-up epochs and draw the γ early stop, on any per-epoch axis."""
    epoch_axis(ax)
    warm = [r["epoch"] for r in history if r.get("phase") == "warmup"]
    if warm:
        ax.axvspan(0.5, max(warm) + 0.5, color="#999999", alpha=0.12, lw=0, label="warm-up (w only)")
    if stop_epoch:
        ax.axvline(stop_epoch, color="#c0392b", ls="--", lw=1.2, label=f"γ early stop (epoch {stop_epoch})")


def gamma_figure(history: list[dict], configs: list[str], chosen: str | None, stop_epoch) -> Figure:
    plt = pyplot()
    x = column(history, "epoch")
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    for name in configs:
        y = column(history, f"gamma_{name}")
        bold = name == chosen
        ax.plot(x, y, marker="o", ms=3, lw=2.4 if bold else 1.2, label=name + (" (chosen)" if bold else ""),
                zorder=3 if bold else 2)
    _mark_phases(ax, history, stop_epoch)
    ax.axhline(1 / len(configs), color="#777777", lw=0.8, ls=":", label="uniform (1 / configurations)")
    ax.set_ylabel("softmax(γ)")
    ax.set_title("Weight of each MFCC configuration (window/hop/mels[/coefficients])", fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))
    stop = f"stopped at epoch {stop_epoch}" if stop_epoch else "did not stop within the search"
    return Figure("gamma", "softmax(γ) per configuration", png=png_of(fig),
                  caption=f"the data search stops once the best weight is at least twice the second ({stop}).")


def budget_figure(history: list[dict], result: dict | None, stop_epoch) -> Figure | None:
    """Expected cost (the search's differentiable estimate) against the budget, one panel per resource."""
    present = [c for c in COST_COLUMNS if any(isinstance(r.get(c), float) for r in history)]
    if not present:
        return None
    budget = (result or {}).get("budget") or {}
    predicted = (result or {}).get("predicted") or {}
    penalty = any(isinstance(r.get("cost_penalty"), float) for r in history)
    plt = pyplot()
    n = len(present) + penalty
    fig, axes = plt.subplots(1, n, figsize=(3.6 * n, 3.4), squeeze=False)
    x = column(history, "epoch")
    for ax, col in zip(axes[0], present):
        key, label = COST_COLUMNS[col]
        ax.plot(x, column(history, col), marker="o", ms=3, label="expected (search)")
        if isinstance(budget.get(key), (int, float)):
            ax.axhline(budget[key], color="#c0392b", lw=1.5, label=f"budget {budget[key]:g}")
        if isinstance(predicted.get(key), (int, float)):
            ax.scatter([x[-1]], [predicted[key]], marker="*", s=120, color="#2c3e50", zorder=4,
                       label=f"derived network {predicted[key]:.4g}")
        _mark_phases(ax, history, stop_epoch)
        ax.set_title(label, fontsize=10)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7)
    if penalty:
        ax = axes[0][-1]
        ax.plot(x, column(history, "cost_penalty"), marker="o", ms=3, color="tab:purple", label="penalty")
        if np.isfinite(column(history, "cost_weight")).any():
            ax.plot(x, column(history, "cost_weight"), marker="o", ms=3, color="tab:gray", label="its weight λ")
        _mark_phases(ax, history, stop_epoch)
        ax.set_title("cost penalty in the arch loss", fontsize=10)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7)
    target = (result or {}).get("target")
    fits = predicted.get("fits")
    verdict = "" if fits is None else (" The derived network fits." if fits else " The derived network does NOT fit.")
    return Figure("budget", "Expected cost against the budget" + (f" on {target}" if target else ""),
                  png=png_of(fig), caption="softmax(α, β, γ)-weighted expectation of the cost model per epoch; "
                                           f"the star is the discrete network the search returned.{verdict}")


def curves_figure(history: list[dict], stop_epoch) -> Figure:
    return loss_accuracy_figure(
        history, [("train", "w half (train)"), ("arch", "α/β/γ half (train)"), ("val", "validation")],
        "Supernet", "search_curves", "Search curves",
        "PC-DARTS alternates w on one half of the training split and α, β, γ on the other.",
        decorate=lambda ax: _mark_phases(ax, history, stop_epoch))


def _softmax(a: np.ndarray, axis=-1) -> np.ndarray:
    e = np.exp(a - a.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _edge_weights(betas: np.ndarray, steps: int) -> np.ndarray:
    """β softmax-normalised over the inputs of each node (the search's edge_weights, in numpy)."""
    parts, start = [], 0
    for i in range(steps):
        parts.append(_softmax(betas[start:start + 2 + i]))
        start += 2 + i
    return np.concatenate(parts)


def edge_names(steps: int) -> list[tuple[int, int]]:
    """(input state, node) of every edge in the order α's rows follow."""
    return [(j, i) for i in range(steps) for j in range(2 + i)]


def alpha_figure(arch: dict, genotype: dict | None, primitives: list[str]) -> Figure:
    """softmax(α) per edge (rows) and primitive (columns), normal and reduction cells side by side."""
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(12, 5.6))
    for ax, kind in zip(axes, ("normal", "reduce")):
        alpha = _softmax(arch[f"alphas_{kind}"])
        n_edges = alpha.shape[0]
        steps = _steps(n_edges)
        beta = _edge_weights(arch[f"betas_{kind}"], steps)
        im = ax.imshow(alpha, cmap="viridis", aspect="auto")
        ax.set_xticks(range(len(primitives)), primitives, rotation=40, ha="right", fontsize=8)
        labels = [f"${state_label(j)}$ → {i}  (β {b:.2f})" if j < 2 else f"{state_label(j)} → {i}  (β {b:.2f})"
                  for (j, i), b in zip(edge_names(steps), beta)]
        ax.set_yticks(range(n_edges), labels, fontsize=8)
        if genotype is not None:   # outline the edges the genotype kept, on the op it kept
            for k, (op, src) in enumerate(genotype[kind]):
                row = edge_names(steps).index((int(src), k // 2))
                ax.add_patch(plt.Rectangle((primitives.index(op) - 0.5, row - 0.5), 1, 1, fill=False,
                                           ec="#ff4136", lw=2))
        ax.set_title(f"{'Normal' if kind == 'normal' else 'Reduction'} cell: softmax(α) per edge", fontsize=10)
        fig.colorbar(im, ax=ax, fraction=0.04, pad=0.02)
    fig.tight_layout()
    return Figure("alpha", "α as a heat map per edge", png=png_of(fig),
                  caption="rows: edge input → node, with β (the edge's weight among the node's inputs); "
                          "red boxes: the two edges per node and the operation the genotype kept.")


def _derived_genotype(arch: dict, primitives: list[str]) -> dict:
    """The genotype a checkpoint's α, β give (for a search that has not written result.json yet)."""
    import torch

    from ..search.genotypes import to_dict
    from ..search.supernet import derive_genotype
    t = {k: torch.from_numpy(np.asarray(arch[k])) for k in ("alphas_normal", "alphas_reduce", "betas_normal",
                                                            "betas_reduce")}
    steps = _steps(t["alphas_normal"].shape[0])
    return to_dict(derive_genotype(t["alphas_normal"], t["alphas_reduce"], t["betas_normal"], t["betas_reduce"],
                                   primitives, steps))


def _steps(n_edges: int) -> int:
    """Intermediate nodes of a cell with `n_edges` edges (node i has 2 + i inputs)."""
    return next(s for s in range(1, 20) if sum(2 + i for i in range(s)) == n_edges)


def _summary(result: dict | None, history: list[dict] | None) -> str:
    if result is None:
        done = int(history[-1]["epoch"]) if history else 0
        return (f"The search has not finished (search/result.json is missing; {done} epoch(s) in history.csv): "
                "the figures show it so far. `dadarts search --resume` continues it.")
    gamma = sorted(result.get("gamma", {}).items(), key=lambda kv: -kv[1])
    text = f"Chose {result.get('config')} (align {result.get('align')})"
    if len(gamma) > 1:
        text += f", softmax(γ) {gamma[0][1]:.3f} against {gamma[1][1]:.3f} for {gamma[1][0]}"
    stop = result.get("gamma_stop_epoch")
    if len(gamma) > 1:
        text += f"; γ early stop at epoch {stop}" if stop else "; no γ early stop"
    acc = result.get("search_val_accuracy")
    if isinstance(acc, (int, float)):
        text += f"; supernet validation accuracy {100 * acc:.1f} %"
    return text + "."


def _settings_table(result: dict) -> Table:
    s = result.get("settings", {})
    keys = [("task", result.get("task")), ("data", result.get("data") or "built-in corpus"),
            ("target", result.get("target")), ("space", result.get("space"))]
    keys += [(k, s.get(k)) for k in ("channels", "layers", "epochs", "warmup_epochs", "batch_size", "max_train",
                                     "stem_stride", "seed")]
    rows = [[k, str(v)] for k, v in keys if v is not None]
    if result.get("budget"):
        rows.append(["budget", ", ".join(f"{k} {v}" for k, v in result["budget"].items() if v is not None)
                     or "none"])
    net = result.get("network")
    if isinstance(net, dict) and net.get("space") == "chain":
        rows.append(["network to train", f"chain space, {net.get('blocks')} blocks, {net.get('macs')} MACs ({net.get('sized_by')})"])
    elif isinstance(net, dict) and net.get("channels"):
        rows.append(["network to train", f"{net.get('space', 'darts')} space, C={net['channels']}, {net.get('layers')} cells"
                     + (f" ({net['sized_by']})" if net.get("sized_by") else "")])
    if result.get("predicted"):
        rows.append(["predicted", ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}"
                                            for k, v in result["predicted"].items())])
    rows.append(["genotype", result.get("genotype_str", "")])
    return Table("search_settings", "Search settings and result", ["setting", "value"], rows)


def section(a: RunArtifacts) -> Section | None:
    result, history, arch = a.search_result, a.search_history, a.architecture
    if result is None and history is None and arch is None:
        return None
    s = Section("search", "Search", summary=_summary(result, history))
    stop = (result or {}).get("gamma_stop_epoch")
    if history:
        configs = (result or {}).get("data_space") or [k[len("gamma_"):] for k in history[0] if k.startswith("gamma_")]
        if len(configs) > 1:
            chosen = (result or {}).get("config")
            s.items.append(gamma_figure(history, configs, chosen, stop))
        budget = budget_figure(history, result, stop)
        if budget is not None:
            s.items.append(budget)
        s.items.append(curves_figure(history, stop))
    genotype = (result or {}).get("genotype")
    facts = SPACE_FACTS.get((result or {}).get("space") or (arch or {}).get("space") or "darts")
    if arch is not None and facts is None:
        s.notes.append(f"The checkpoint's search space '{arch.get('space')}' is unknown to this dadarts: "
                       "α is not drawn.")
        arch = None
    if arch is not None:
        s.items.append(alpha_figure(arch, genotype, list(facts.primitives)))
    caption = ""
    if genotype is None and arch is not None:
        genotype = _derived_genotype(arch, list(facts.primitives))
        caption = f"derived from α, β of the checkpoint after epoch {arch.get('epoch')} (the search has not finished)."
    if genotype is not None and (result or {}).get("space") != "chain":
        s.items += [cell_figure(genotype, "normal", caption), cell_figure(genotype, "reduce", caption)]
    if result is not None:
        s.items.append(_settings_table(result))
    return s
