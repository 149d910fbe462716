"""The searched system's expected cost on a board, differentiable in α, β and γ, and the budget penalty.

The ProxylessNAS/FBNet form, written for this search space. For every data configuration d the
network the search will derive runs on d's native (T, F) shape, so every layer's cost depends on d.
Cost tables are computed once with dadarts.costmodel (the same lowering, kernel model and board as
`dadarts mcu-eval`), for the network that will be trained (its channels and cells, which may differ
from the supernet's):

  E[latency] = Σ_d p_d · ( fixed_d + Σ_cells Σ_edges w_e · Σ_o ã_{e,o} · lat_{d,cell,e,o} )

- p = softmax(γ); fixed_d = the front-end for one decision period + stem, input stages, node ADDs,
  concatenations and head (the layers no α changes);
- ã = softmax(α) renormalised over the ops a genotype can take ('none' is never derived, so it
  cannot make the system cheaper);
- w_e = 2 · softmax(β) over the inputs of the edge's node (two inputs are kept per node), and 1 on
  the first node's two edges (both are always kept).

Flash is the same sum over each op's bytes in the .tflite plus the firmware's code and tables of
configuration d. RAM (the arena's peak live set plus the firmware's buffers) is set by the map
size and the concat width far more than by the ops on the edges, so E[RAM] = Σ_d p_d · RAM_d with
RAM_d planned for the genotype the search would derive now (refreshed every epoch): γ gets its
gradient, α none. The requantising QUANTIZE ops before a concat depend on the cell's wiring
(dadarts.costmodel.lowering) and are priced the same way, as part of fixed_d.

At a discretised point (one-hot α and γ, β picking two inputs per node) E[cost] equals
estimate_from_genotype of that genotype. The penalty is a squared hinge per budgeted quantity,
Σ_k max(0, E_k / B_k − 1)², zero inside the budget; its weight rises linearly from 0 to
`cost_weight` over the first half of the search epochs (the architecture first learns what is
accurate, then is pushed inside the budget).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..costmodel import kernels, memory
from ..costmodel.estimate import DEFAULT_DECISION_MS, estimate_netgraph, frames_per_decision, frontend_ms_per_frame
from ..costmodel.frontend_cost import frontend_instructions_per_frame
from ..costmodel.network import edge_layers, searched_graph, skeleton_genotype
from ..costmodel.spaces import SPACE_FACTS
from ..costmodel.targets import Target
from ..errors import UserError
from ..frontend.spec import MfccConfig

KB = 1024.0
QUANTITIES = ("latency_ms", "ram_kb", "flash_kb")


@dataclass(frozen=True)
class Budget:
    latency_ms: float | None = None
    ram_kb: float | None = None
    flash_kb: float | None = None

    def items(self) -> list[tuple[str, float]]:
        return [(k, float(getattr(self, k))) for k in QUANTITIES if getattr(self, k) is not None]

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in QUANTITIES}


def default_budget(target: Target, max_latency_ms=None, max_ram_kb=None, max_flash_kb=None,
                   decision_ms: float = DEFAULT_DECISION_MS) -> Budget:
    """The board's budget: its SRAM and flash (the firmware's own buffers and code are part of the
    estimate), and real time at one decision every `decision_ms`."""
    return Budget(latency_ms=decision_ms if max_latency_ms is None else max_latency_ms,
                  ram_kb=target.sram_kb if max_ram_kb is None else max_ram_kb,
                  flash_kb=target.flash_kb if max_flash_kb is None else max_flash_kb)


def _layers_ms(layers, target: Target) -> float:
    return sum(c.cycles for c in kernels.estimate_layers(layers, target)) / (target.clock_mhz * 1e3)


def _layers_bytes(layers) -> float:
    return float(memory.model_bytes_estimate(memory.graph_counts(layers, len(layers)), fixed=False))


class CostTables:
    """Per-configuration cost tables of the network the search will derive (see module doc)."""

    def __init__(self, space: str, configs: list[MfccConfig], num_classes: int, channels: int, layers: int,
                 target: Target, decision_ms: float | None = None):
        self.space = SPACE_FACTS[space]
        self.configs, self.num_classes, self.channels, self.layers = list(configs), num_classes, channels, layers
        self.target, self.decision_ms = target, decision_ms
        self.fe_instructions = [frontend_instructions_per_frame(c)["instructions"] for c in self.configs]
        prims = self.space.primitives
        self.op_columns = [i for i, name in enumerate(prims) if name != "none"]
        steps = self.space.steps
        n_edges = sum(2 + i for i in range(steps))
        lat = {k: torch.zeros(len(self.configs), n_edges, len(prims), dtype=torch.float64) for k in ("normal", "reduce")}
        size = {k: torch.zeros(len(self.configs), n_edges, len(prims), dtype=torch.float64) for k in ("normal", "reduce")}
        macs = {k: torch.zeros(len(self.configs), n_edges, len(prims), dtype=torch.float64) for k in ("normal", "reduce")}
        fixed_ms, fixed_model, fixed_macs = [], [], []
        for d, config in enumerate(self.configs):
            skeleton = searched_graph(self.space, skeleton_genotype(steps), config.shape, num_classes, channels, layers)
            fe = frontend_ms_per_frame(config, target, self.fe_instructions[d]) * frames_per_decision(config, decision_ms)
            fixed_ms.append(fe + _layers_ms(skeleton.layers, target))
            fixed_model.append(float(memory.model_bytes_estimate(memory.graph_counts(
                skeleton.layers, len(skeleton.inputs) + len(skeleton.ops)))))
            fixed_macs.append(float(skeleton.total_macs))
            for cell in skeleton.cells:
                kind = "reduce" if cell["reduction"] else "normal"
                e = 0
                for node in range(steps):
                    for j in range(2 + node):
                        stride = self.space.edge_stride(cell["reduction"], j)
                        for o in self.op_columns:
                            ls = edge_layers(self.space, prims[o], cell["shapes"][j], cell["fused"][j], stride)
                            lat[kind][d, e, o] += _layers_ms(ls, target)
                            size[kind][d, e, o] += _layers_bytes(ls)
                            macs[kind][d, e, o] += sum(layer.macs for layer in ls)
                        e += 1
        self.edge_ms, self.edge_bytes, self.edge_macs = lat, size, macs
        self.fixed_macs = torch.tensor(fixed_macs, dtype=torch.float64)
        self.fixed_ms = torch.tensor(fixed_ms, dtype=torch.float64)
        self.fixed_model_bytes = torch.tensor(fixed_model, dtype=torch.float64)
        self.refresh(self.cheapest_genotype())

    # -- the parts that depend on the derived genotype, recomputed once per epoch ---------------------
    def refresh(self, genotype: dict) -> None:
        """What depends on the whole derived genotype, under every configuration: RAM, the non-model flash
        (code, tables), and the concat QUANTIZE ops that stay (the cell's wiring decides them)."""
        ram, other_flash, quant_ms, quant_bytes = [], [], [], []
        for config, fe in zip(self.configs, self.fe_instructions):
            graph = searched_graph(self.space, genotype, config.shape, self.num_classes, self.channels, self.layers)
            est = estimate_netgraph(graph, config, self.target, self.decision_ms, fe)
            ram.append(est["ram_bytes"] / KB)
            other_flash.append((est["flash_bytes"] - est["model_bytes"]) / KB)
            quant = [layer for layer in graph.layers if layer.op == "QUANTIZE"]
            quant_ms.append(_layers_ms(quant, self.target))
            quant_bytes.append(_layers_bytes(quant))
        self.ram_kb = torch.tensor(ram, dtype=torch.float64)
        self.other_flash_kb = torch.tensor(other_flash, dtype=torch.float64)
        self.quant_ms = torch.tensor(quant_ms, dtype=torch.float64)
        self.quant_bytes = torch.tensor(quant_bytes, dtype=torch.float64)

    def estimate(self, genotype: dict, config: MfccConfig, fe_instructions: float | None = None) -> dict:
        graph = searched_graph(self.space, genotype, config.shape, self.num_classes, self.channels, self.layers)
        return estimate_netgraph(graph, config, self.target, self.decision_ms, fe_instructions)

    def cheapest_genotype(self) -> dict:
        """Every node fed by its two cheapest edges with their cheapest ops (latency) on the first config."""
        out = {}
        for kind in ("normal", "reduce"):
            table = self.edge_ms[kind][0]
            edges, start = [], 0
            for node in range(self.space.steps):
                n = 2 + node
                best = [(float(table[start + j, self.op_columns].min()), j,
                         self.space.primitives[self.op_columns[int(table[start + j, self.op_columns].argmin())]])
                        for j in range(n)]
                for _, j, op in sorted(sorted(best)[:2], key=lambda b: b[1]):
                    edges.append([op, j])
                start += n
            out[kind], out[f"{kind}_concat"] = edges, list(range(2, 2 + self.space.steps))
        return out

    # -- the expectation ------------------------------------------------------------------------------
    def expected(self, alphas_normal, alphas_reduce, betas_normal, betas_reduce, gamma_p,
                 with_macs: bool = False) -> dict[str, torch.Tensor]:
        """E[latency_ms], E[ram_kb], E[flash_kb] (differentiable; see module doc), and E[macs] if asked."""
        dev = gamma_p.device
        p = gamma_p.double()
        lat = (self.fixed_ms + self.quant_ms).to(dev)
        model_b = (self.fixed_model_bytes + self.quant_bytes).to(dev)
        macs = self.fixed_macs.to(dev).clone()
        for kind, alphas, betas in (("normal", alphas_normal, betas_normal), ("reduce", alphas_reduce, betas_reduce)):
            a = torch.zeros_like(alphas, dtype=torch.float64)
            a[:, self.op_columns] = F.softmax(alphas[:, self.op_columns].double(), dim=-1)
            w = self.edge_weights(betas)
            per_edge_ms = (self.edge_ms[kind].to(dev) * a.unsqueeze(0)).sum(-1)           # (D, E)
            per_edge_b = (self.edge_bytes[kind].to(dev) * a.unsqueeze(0)).sum(-1)
            lat = lat + (per_edge_ms * w.unsqueeze(0)).sum(-1)
            model_b = model_b + (per_edge_b * w.unsqueeze(0)).sum(-1)
            if with_macs:
                macs = macs + ((self.edge_macs[kind].to(dev) * a.unsqueeze(0)).sum(-1) * w.unsqueeze(0)).sum(-1)
        flash_kb = model_b / KB + self.other_flash_kb.to(dev)
        out = {"latency_ms": (p * lat).sum(), "ram_kb": (p * self.ram_kb.to(dev)).sum(), "flash_kb": (p * flash_kb).sum()}
        if with_macs:
            out["macs"] = (p * macs).sum()
        return out

    def uniform(self) -> dict[str, float]:
        """The expected cost with every op, input and configuration equally likely (the average candidate)."""
        n_edges, n_ops = self.edge_ms["normal"].shape[1:]
        a, b = torch.zeros(n_edges, n_ops), torch.zeros(n_edges)
        p = torch.full((len(self.configs),), 1.0 / len(self.configs), dtype=torch.float64)
        return {k: float(v) for k, v in self.expected(a, a, b, b, p, with_macs=True).items()}

    def edge_weights(self, betas: torch.Tensor) -> torch.Tensor:
        parts, start = [], 0
        for node in range(self.space.steps):
            n = 2 + node
            parts.append(torch.ones(2, dtype=torch.float64, device=betas.device) if n == 2
                         else 2.0 * F.softmax(betas[start:start + n].double(), dim=-1))
            start += n
        return torch.cat(parts)

    def make_penalty(self, budget: Budget, settings) -> HingeRamp:
        return HingeRamp(budget, settings)

    def cheapest_what(self) -> str:
        return f"its cheapest op on every edge, {self.channels} channels, {self.layers} cells"

    def cheapest(self) -> dict:
        """The cheapest system of the space at this size, per quantity (for refusing impossible budgets)."""
        genotype = self.cheapest_genotype()
        rows = [self.estimate(genotype, c, fe) for c, fe in zip(self.configs, self.fe_instructions)]
        best = {q: min(range(len(rows)), key=lambda i: _quantity(rows[i], q)) for q in QUANTITIES}
        return {q: (_quantity(rows[i], q), self.configs[i]) for q, i in best.items()}


def _quantity(est: dict, q: str) -> float:
    return est["latency_ms"] if q == "latency_ms" else est[q.replace("_kb", "_bytes")] / KB


def penalty(expected: dict[str, torch.Tensor], budget: Budget) -> torch.Tensor:
    """Σ_k max(0, E_k / B_k − 1)² over the budgeted quantities (0 inside the budget)."""
    terms = [F.relu(expected[k] / b - 1.0) ** 2 for k, b in budget.items()]
    return torch.stack(terms).sum() if terms else torch.zeros((), dtype=torch.float64)


def penalty_weight(cost_weight: float, epoch: int, warmup_epochs: int, epochs: int) -> float:
    """0 before the search phase, then rising linearly to cost_weight over half the search epochs."""
    if epoch < warmup_epochs:
        return 0.0
    ramp = max(1, (epochs - warmup_epochs) // 2)
    return cost_weight * min(1.0, (epoch - warmup_epochs + 1) / ramp)


class HingeRamp:
    """The cell spaces' penalty rule: λ(epoch)·Σ_k max(0, E_k/B_k − 1)², λ on the ramp of `penalty_weight`."""

    def __init__(self, budget: Budget, settings):
        self.budget, self.settings = budget, settings

    def weight(self, epoch: int) -> float:
        s = self.settings
        return penalty_weight(s.cost_weight, epoch, s.warmup_epochs, s.epochs)

    def loss(self, expected: dict, epoch: int) -> torch.Tensor:
        return self.weight(epoch) * penalty(expected, self.budget)

    watches_derived = False

    def update(self, expected: dict, derived: dict | None = None) -> None:
        pass

    def columns(self, expected: dict, epoch: int) -> dict:
        return {"cost_penalty": round(float(penalty(expected, self.budget)), 6),
                "cost_weight": round(self.weight(epoch), 4)}

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass


def refuse_impossible(tables, budget: Budget) -> None:
    """A UserError saying what the cheapest system costs when no candidate can meet the budget."""
    cheapest = tables.cheapest()
    for q, limit in budget.items():
        value, config = cheapest[q]
        if value > limit:
            unit = "ms per decision" if q == "latency_ms" else "KB"
            flag = {"latency_ms": "--max-latency-ms", "ram_kb": "--max-ram-kb", "flash_kb": "--max-flash-kb"}[q]
            raise UserError(
                f"No system of the {tables.space.name} search space fits {tables.target.name} with "
                f"{q.split('_')[0]} at most {limit:g} {unit}: the cheapest ({tables.cheapest_what()}, "
                f"configuration {config}) needs {value:.1f} {unit}; raise {flag}"
                + ("." if tables.space.name == "chain" else ", or lower --final-channels / --final-layers."))



CHANNEL_GRID = (8, 12, 16, 20, 24, 32, 40, 48, 64)
LAYER_GRID = (3, 4, 5, 6)


def within(costs: dict, budget: Budget) -> list[str]:
    """The budgeted quantities `costs` exceeds (empty: it fits); costs holds latency_ms, ram_kb, flash_kb."""
    return [k for k, b in budget.items() if costs[k] > b]


def estimate_costs(est: dict) -> dict:
    """latency_ms, ram_kb, flash_kb of an estimate dict (bytes to KB)."""
    return {"latency_ms": est["latency_ms"], "ram_kb": est["ram_bytes"] / KB, "flash_kb": est["flash_bytes"] / KB}


def initial_size(space: str, configs, num_classes: int, target: Target, budget: Budget,
                 decision_ms: float | None) -> tuple[int, int]:
    """The network size the search prices its candidates at: the largest grid size (by MACs) at which
    the average candidate (uniform α, β, γ) fits the budget; the smallest grid size if none does."""
    best = None
    for layers in LAYER_GRID:
        for channels in CHANNEL_GRID:
            u = CostTables(space, configs, num_classes, channels, layers, target, decision_ms).uniform()
            if within(u, budget):
                break                                     # wider only costs more
            if best is None or u["macs"] > best[0]:
                best = (u["macs"], channels, layers)
    return (best[1], best[2]) if best else (CHANNEL_GRID[0], LAYER_GRID[0])


def size_for_budget(space: str, genotype: dict, config: MfccConfig, num_classes: int, target: Target,
                    budget: Budget, decision_ms: float | None) -> tuple[int, int, dict] | None:
    """The largest grid size (by MACs) at which `genotype` on `config` fits the budget, with its estimate."""
    best = None
    for layers in LAYER_GRID:
        for channels in CHANNEL_GRID:
            graph = searched_graph(space, genotype, config.shape, num_classes, channels, layers)
            est = estimate_netgraph(graph, config, target, decision_ms)
            if within(estimate_costs(est), budget):
                break
            if best is None or est["macs"] > best[2]["macs"]:
                best = (channels, layers, est)
    return best


def deployment(genotype: dict, config: MfccConfig, space: str, num_classes: int, target: Target | None,
               budget: Budget | None, decision_ms: float | None, channels: int, layers: int,
               fixed_size: bool) -> dict:
    """What search/result.json says about deployment: the trained network's size (budget-derived unless
    `fixed_size`), the board, its budget and the predicted cost of the derived system."""
    out = {"target": target.name if target else None, "budget": budget.to_dict() if budget else None,
           "decision_ms": decision_ms}
    if target is None:
        out.update({"network": {"space": space, "channels": channels, "layers": layers}, "predicted": None})
        return out
    sized = None if fixed_size else size_for_budget(space, genotype, config, num_classes, target, budget, decision_ms)
    if sized is None:
        graph = searched_graph(space, genotype, config.shape, num_classes, channels, layers)
        sized = (channels, layers, estimate_netgraph(graph, config, target, decision_ms))
    c, n, est = sized
    costs = estimate_costs(est)
    out["network"] = {"space": space, "channels": c, "layers": n,
                      "sized_by": "given" if fixed_size else "largest grid size that fits the budget"}
    out["predicted"] = {**{k: round(v, 3) for k, v in costs.items()}, "macs": est["macs"],
                        "arena_kb": round(est["arena_bytes"] / KB, 3), "model_kb": round(est["model_bytes"] / KB, 3),
                        "over": within(costs, budget), "fits": not within(costs, budget)}
    return out


def budget_check(costs: dict, target: str, budget: dict | None) -> dict:
    """The budget_check entry of train/metrics.json and export/report.json: the system's cost against
    the budget the search had (costs: latency_ms, ram_kb, flash_kb)."""
    b = Budget(**{k: (budget or {}).get(k) for k in QUANTITIES})
    over = within(costs, b)
    return {"target": target, **{k: round(v, 3) for k, v in costs.items()}, "budget": b.to_dict(),
            "fits": not over, "over": over}


def describe_check(check: dict, what: str) -> str:
    """One line for the console: fits or over budget, with the figures."""
    b = check["budget"]
    parts = [f"{check['latency_ms']:.1f} ms per decision (budget {b['latency_ms']:g})" if b["latency_ms"] else
             f"{check['latency_ms']:.1f} ms per decision",
             f"RAM {check['ram_kb']:.1f} KB" + (f" (budget {b['ram_kb']:g})" if b["ram_kb"] else ""),
             f"flash {check['flash_kb']:.1f} KB" + (f" (budget {b['flash_kb']:g})" if b["flash_kb"] else "")]
    verdict = "fits the budget" if check["fits"] else "is OVER the budget in " + ", ".join(check["over"])
    return f"{what} on {check['target']}: {', '.join(parts)}: {verdict}"


def genotype_budget_check(result: dict, channels: int, layers: int, num_classes: int) -> dict | None:
    """Re-check a search result's system at the size actually trained (None when it had no target)."""
    from ..costmodel.targets import get_target
    if not result.get("target"):
        return None
    config = MfccConfig.parse(result["config"])
    if result.get("space") == "chain":
        from .chain_cost import chain_estimate
        est = chain_estimate(result["genotype"], config, num_classes, get_target(result["target"]),
                             result.get("decision_ms"))
    else:
        graph = searched_graph(result.get("space", "darts"), result["genotype"], config.shape, num_classes,
                               channels, layers)
        est = estimate_netgraph(graph, config, get_target(result["target"]), result.get("decision_ms"))
    return budget_check(estimate_costs(est), result["target"], result.get("budget"))
