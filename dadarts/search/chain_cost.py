"""The chain space's expected cost on a board, differentiable in every choice, and its budget multiplier.

Every choice is priced from the measured cost model (dadarts.costmodel: the same lowering, kernel
model and board as `dadarts mcu-eval`), the glue it implies included (the PAD of a strided
depthwise). For every data configuration d (its native (T, F) shape), every stem s and every number
r of stride-2 blocks before a block, tables hold each candidate's latency, model bytes, arena tail
bytes (TFLM's per-tensor and per-op records) and the live activation bytes of each of its layers
(input + output, 16-byte aligned, as TFLM's planner places them):

  stem  [d, s, width]           block [d, s, r, kernel, c_in, c_out, stride]      head [d, s, r, c_in]

The search walks the chain with two distributions (FBNet/ProxylessNAS form, choices independent):
the width entering a block, D (start: softmax of the stem width; after block i:
p_skip·D + (1 − p_skip)·softmax(α_width_i)), and the number of strides so far, R (after block i:
p_skip·R + (1 − p_skip)·(q_1·R + q_2·shift(R))). A block's expected cost is the table contracted
with p_stem ⊗ R, its kernel probabilities (skip costs nothing), D, its width and its stride
probabilities. Per configuration:

  latency = front-end for one decision period + Σ expected layer latencies
  flash   = Σ expected model bytes + the code and tables of the derived network (refreshed each epoch)
  RAM     = reserve(max over layers of the expected live bytes + expected arena tail)
            + scratch, stack, front-end state and buffers of the derived network (refreshed)

and E[cost] = Σ_d softmax(γ)_d · cost_d. The maximum's value is the hard maximum; its gradient is
that of a smooth maximum (τ·logsumexp(x/τ)), so every layer's expected tensors get a gradient, not
only the largest. The reserve's rounding to 1 KB likewise keeps the value and passes the gradient.
At a discretised point (every softmax one-hot) the expected latency and flash equal
dadarts.costmodel.estimate.estimate_netgraph of the derived network exactly, and so does RAM at the network
the tables were last refreshed with (what TFLM's greedy planner packs beyond the largest live pair of
that network is added as a constant; tested).

Streaming (`dadarts search --streaming`, networks valid or causal in time): the budget's latency is the streaming
cost per decision period (dadarts.costmodel.stream.streaming_estimate: the step model's Invokes with their
state copies). The tables stay the whole-window ones; every configuration's expected Invoke latency is
scaled by the derived network's streaming cost over the tables' whole-window cost of it (its 'same'-padded
maps; refreshed with it each epoch), so that at the derived point the expectation is exactly the streaming
cost of that network and the gradient is the whole-window one, scaled.

The budget is kept by an augmented Lagrangian: loss += Σ_k λ_k·v_k + ρ/2·max(0, v_k)², v_k = E_k/B_k − 1,
and after every architecture step λ_k ← max(0, λ_k + η·max(v_k, u_k)), u_k the same violation of the
network the search would derive now (on the configuration γ leads with): the multiplier rises while
the expectation or the derived network is over the budget, and falls back to 0 once both are inside
(the expectation may sit inside the budget while its argmax does not; the derived network is what
`train` gets). A budget is also a resource: the supernet's loss alone favours cheap choices early
(they train fastest; DARTS' skip collapse is the same bias), so a latency below `latency_floor` of
its budget costs ρ/2·max(0, floor − E/B)² (TuNAS' point: a search aimed at its target uses it;
`--latency-floor`, off by default until a full run has measured it).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ..costmodel import chain as space
from ..costmodel import kernels, memory
from ..costmodel.chain import chain_graph
from ..costmodel.estimate import estimate_netgraph, frames_per_decision, frontend_ms_per_frame
from ..costmodel.frontend_cost import frontend_instructions_per_frame
from ..costmodel.network import NetGraph
from ..costmodel.targets import Target
from ..frontend.spec import MfccConfig

KB = 1024.0
SMOOTH_MAX_BYTES = 512.0          # τ of the smooth maximum's gradient
# Quantities along a table's last axis: latency (ms), model bytes, arena tail bytes, live bytes of up to
# three layers (a block: PAD, depthwise, pointwise; a head: MEAN, FULLY_CONNECTED).
LAT, MODEL, TAIL, LIVE = 0, 1, 2, 3
N_LIVE = 3
N_Q = LIVE + N_LIVE


def _priced(g: NetGraph, target: Target) -> torch.Tensor:
    """The quantities of all layers of `g` (a part of a network: no input tensor, no fixed header)."""
    out = torch.zeros(N_Q, dtype=torch.float64)
    layers = g.layers
    costed = kernels.estimate_layers(layers, target)
    out[LAT] = sum(c.cycles for c in costed) / (target.clock_mhz * 1e3)
    counts = memory.graph_counts(layers, len(layers))
    out[MODEL] = memory.model_bytes_estimate(counts, fixed=False)
    out[TAIL] = memory.arena_tail_bytes(counts) - memory.TAIL_FIXED
    for j, op in enumerate(g.ops):
        out[LIVE + j] = sum(memory._align(g.tensors[t]) for t in op.inputs) + memory._align(g.tensors[op.output])
    return out


def _straight_through(p: torch.Tensor) -> torch.Tensor:
    """The argmax one-hot of `p` along its last axis in value, `p` in gradient."""
    hard = F.one_hot(p.argmax(-1), p.shape[-1]).to(p.dtype)
    return hard + p - p.detach()


class ChainCost:
    """Cost tables of the chain space under every configuration, and the expectation (see module doc)."""

    def __init__(self, configs: list[MfccConfig], num_classes: int, target: Target, decision_ms: float | None,
                 streaming: bool = False, stems: tuple[str, ...] = space.SEARCH_STEMS,
                 widths: tuple[int, ...] = space.WIDTHS):
        self.widths = tuple(int(w) for w in widths)   # the supernet's widths: every width choice's columns
        self.configs, self.num_classes, self.target, self.decision_ms = list(configs), num_classes, target, decision_ms
        self.stems = tuple(stems)                     # the supernet's stem_names: alpha_stem's columns
        self.streaming = streaming
        self.latency_scale = torch.ones(len(self.configs), dtype=torch.float64)
        self.ram_scale = torch.ones(len(self.configs), dtype=torch.float64)
        self.space = space
        self.fe_instructions = [frontend_instructions_per_frame(c)["instructions"] for c in self.configs]
        n_d, n_s, n_r, n_w = len(self.configs), len(self.stems), space.BLOCKS + 1, len(self.widths)
        self.stem = torch.zeros(n_d, n_s, n_w, N_Q, dtype=torch.float64)
        self.block = torch.zeros(n_d, n_s, n_r, len(space.CONV_KERNELS), n_w, n_w, len(space.STRIDES), N_Q,
                                 dtype=torch.float64)
        self.head = torch.zeros(n_d, n_s, n_r, n_w, N_Q, dtype=torch.float64)
        fixed_ms, cache = [], {}
        for d, (config, fe) in enumerate(zip(self.configs, self.fe_instructions)):
            fixed_ms.append(frontend_ms_per_frame(config, target, fe) * frames_per_decision(config, decision_ms))
            for s, stem in enumerate(self.stems):
                for c, width in enumerate(self.widths):
                    g = NetGraph()
                    space.stem_layer(g, g.tensor((*config.shape, 1)), stem, width)
                    self.stem[d, s, c] = _priced(g, target)
                for r in range(n_r):
                    h, w = space.strided(space.stem_out(config.shape, stem), r)
                    for i, c_in in enumerate(self.widths):
                        self.head[d, s, r, i] = self._cached(cache, ("head", h, w, c_in), lambda: self._head(h, w, c_in))
                        for k, op in enumerate(space.CONV_KERNELS):
                            for t, stride in enumerate(space.STRIDES):
                                for o, c_out in enumerate(self.widths):
                                    self.block[d, s, r, k, i, o, t] = self._cached(
                                        cache, ("block", h, w, op, c_in, c_out, stride),
                                        lambda: self._block(h, w, op, c_in, c_out, stride))
        self.fixed_ms = torch.tensor(fixed_ms, dtype=torch.float64)
        # The graph input: one activation tensor (arena tail, flatbuffer) and the fixed parts.
        self.fixed_model = float(memory.FLATBUFFER_PER_TENSOR + memory.FLATBUFFER_FIXED)
        self.fixed_tail = float(memory.TAIL_PER_TENSOR + memory.TAIL_FIXED)
        self.refresh(space.DS_CNN_S_LIKE)

    @staticmethod
    def _cached(cache: dict, key, make):
        if key not in cache:
            cache[key] = make()
        return cache[key]

    def _block(self, h, w, op, c_in, c_out, stride) -> torch.Tensor:
        g = NetGraph()
        space.block_layers(g, g.tensor((h, w, c_in)), op, c_out, stride)
        q = _priced(g, self.target)
        if len(g.ops) == 2:                 # no PAD: its live slot stays empty, the others move up
            q[LIVE + 1:LIVE + 3], q[LIVE] = q[LIVE:LIVE + 2].clone(), 0.0
        return q

    def _head(self, h, w, c_in) -> torch.Tensor:
        g = NetGraph()
        g.head(g.tensor((h, w, c_in)), self.num_classes)
        return _priced(g, self.target)

    # -- what depends on the whole derived network, per configuration, refreshed once per epoch --------
    def refresh(self, arch: dict) -> None:
        """RAM and flash besides the arena and the model bytes: code (which ops), front-end tables and
        state, CMSIS-NN scratch, stack, of the derived network `arch` under every configuration."""
        other_ram, other_flash, excess, scale, ram_scale = [], [], [], [], []
        # The tables price 'same'-padded maps; a streaming search's derived network is valid or causal, so
        # its planner excess and whole-window arena are taken on the tables' form and the streaming ratios
        # map that onto the step model (exact at the derived point).
        tables_arch = {**arch, "time_padding": "same"} if self.streaming else arch
        for config, fe in zip(self.configs, self.fe_instructions):
            graph = chain_graph(tables_arch, config.shape, self.num_classes)
            tables = estimate_netgraph(graph, config, self.target, self.decision_ms, fe)
            est = tables if tables_arch is arch else estimate_netgraph(chain_graph(arch, config.shape, self.num_classes),
                                                                       config, self.target, self.decision_ms, fe)
            latency, ram = self._streaming_scale(arch, config, fe, tables, est)
            scale.append(latency)
            ram_scale.append(ram["ram_terms"]["tflm_arena"] / tables["ram_terms"]["tflm_arena"])
            other_ram.append(ram["ram_bytes"] - ram["ram_terms"]["tflm_arena"])
            other_flash.append(est["flash_bytes"] - est["model_bytes"])
            planned = memory.greedy_plan(memory.tensor_lifetimes(graph))
            excess.append(planned - max(sum(memory._align(graph.tensors[t]) for t in op.inputs + [op.output])
                                        for op in graph.ops))
        self.other_ram = torch.tensor(other_ram, dtype=torch.float64)
        self.other_flash = torch.tensor(other_flash, dtype=torch.float64)
        # What TFLM's greedy planner packs above the largest live pair (or below: it may reuse gaps) for
        # the derived network: added to the expected peak, so that at the derived point RAM is exact.
        self.planner_excess = torch.tensor(excess, dtype=torch.float64)
        self.latency_scale = torch.tensor(scale, dtype=torch.float64)
        # Streaming: the arena is the step model's, and the states' staging copy and a shorter feature ring
        # replace the window's: the expected arena is scaled by the derived network's step/whole ratio.
        self.ram_scale = torch.tensor(ram_scale, dtype=torch.float64)

    def _streaming_scale(self, arch: dict, config: MfccConfig, fe: float, tables: dict, whole: dict) -> tuple[float, dict]:
        """(the streaming Invoke latency of `arch` per decision over the tables' whole-window one (`tables`:
        its 'same'-padded maps), the streaming estimate whose RAM the search prices); (1, `whole`, the
        estimate of `arch`) when not streaming, or when `arch` cannot stream on `config` (its time map
        vanishes). `whole` is reused as the streamed network's estimate when `arch` streams already (valid or
        causal; a 'same' one is priced as its valid form)."""
        if not self.streaming:
            return 1.0, whole
        from ..costmodel.chain import time_map
        from ..costmodel.stream import streaming_estimate
        streamed_arch = arch if space.streams(arch) else {**arch, "time_padding": "valid"}
        if time_map(streamed_arch, config.shape[0]) < 1:
            return 1.0, whole
        if streamed_arch is not arch:
            whole = estimate_netgraph(chain_graph(streamed_arch, config.shape, self.num_classes), config, self.target,
                                      self.decision_ms, fe)
        streamed = streaming_estimate(whole, streamed_arch, config, self.num_classes, self.target, self.decision_ms)
        return streamed["invoke_ms"] / tables["invoke_ms"], streamed

    def estimate(self, arch: dict, config: MfccConfig, fe_instructions: float | None = None) -> dict:
        return chain_estimate(arch, config, self.num_classes, self.target, self.decision_ms, fe_instructions)

    # -- the expectation ------------------------------------------------------------------------------
    def expected(self, alpha_stem, alpha_stem_width, alpha_kernel, alpha_width, alpha_stride, gamma_p,
                 per_config: bool = False, hard: bool = False) -> dict[str, torch.Tensor]:
        """E[latency_ms], E[ram_kb], E[flash_kb] (differentiable; see module doc). `hard`: every choice's
        probabilities are its argmax one-hot in value and its softmax in gradient (straight-through), so the
        value is the cost of the derived network and the gradient of a choice's logits prices switching that
        choice alone (`dadarts search --price derived`)."""
        dev = alpha_stem.device
        choose = _straight_through if hard else (lambda p: p)
        p_stem = choose(F.softmax(alpha_stem.double(), -1))
        width = choose(F.softmax(alpha_stem_width.double(), -1))
        p_kernel = choose(F.softmax(alpha_kernel.double(), -1))
        p_width = choose(F.softmax(alpha_width.double(), -1))
        p_stride = choose(F.softmax(alpha_stride.double(), -1))
        gamma_p = choose(gamma_p.double()) if gamma_p is not None else None
        stem, block, head = self.stem.to(dev), self.block.to(dev), self.head.to(dev)
        strides = torch.zeros(space.BLOCKS + 1, dtype=torch.float64, device=dev)
        strides[0] = 1.0
        q = torch.einsum("s,c,dscq->dq", p_stem, width, stem)
        sums, lives = q[:, :LIVE], [q[:, LIVE:LIVE + 1]]
        for i in range(space.BLOCKS):
            sr = p_stem[:, None] * strides[None, :]
            q = torch.einsum("sr,k,i,o,t,dsrkiotq->dq", sr, p_kernel[i, 1:], width, p_width[i], p_stride[i], block)
            sums, lives = sums + q[:, :LIVE], lives + [q[:, LIVE:]]
            skip, (q1, q2) = p_kernel[i, 0], p_stride[i]
            width = skip * width + (1.0 - skip) * p_width[i]
            shifted = torch.cat([strides.new_zeros(1), strides[:-1]])
            strides = skip * strides + (1.0 - skip) * (q1 * strides + q2 * shifted)
        q = torch.einsum("sr,c,dsrcq->dq", p_stem[:, None] * strides[None, :], width, head)
        sums, lives = sums + q[:, :LIVE], lives + [q[:, LIVE:]]
        live = torch.cat(lives, dim=1)                                            # (D, layers)
        smooth = SMOOTH_MAX_BYTES * torch.logsumexp(live / SMOOTH_MAX_BYTES, dim=1)
        peak = live.max(dim=1).values.detach() + smooth - smooth.detach()         # value: max; gradient: smooth
        arena = peak + self.planner_excess.to(dev) + sums[:, TAIL] + self.fixed_tail
        reserved = memory.ARENA_MARGIN * arena
        rounded = torch.ceil(torch.floor(reserved.detach()) / memory.ARENA_ROUND) * memory.ARENA_ROUND  # arena_reserve_bytes
        reserved = reserved + (rounded - reserved.detach())
        cost = {"latency_ms": self.fixed_ms.to(dev) + sums[:, LAT] * self.latency_scale.to(dev),
                "ram_kb": (reserved * self.ram_scale.to(dev) + self.other_ram.to(dev)) / KB,
                "flash_kb": (sums[:, MODEL] + self.fixed_model + self.other_flash.to(dev)) / KB}
        if per_config:
            return cost
        p = gamma_p.double().to(dev)
        return {k: (p * v).sum() for k, v in cost.items()}

    def cheapest(self) -> dict:
        """The cheapest network of the space (narrowest stem, every block skipped) per quantity."""
        arch = {"stem": min(self.stems, key=lambda s: math.prod(space.STEMS[s][:2]) / math.prod(space.STEMS[s][2:])),
                "stem_channels": self.widths[0], "blocks": [{"op": "skip"}] * space.BLOCKS}
        rows = [self.estimate(arch, c, fe) for c, fe in zip(self.configs, self.fe_instructions)]
        from .cost import QUANTITIES, _quantity
        best = {q: min(range(len(rows)), key=lambda i: _quantity(rows[i], q)) for q in QUANTITIES}
        return {q: (_quantity(rows[i], q), self.configs[i]) for q, i in best.items()}


    def make_penalty(self, budget, settings) -> "Lagrangian":
        return Lagrangian(budget, settings.cost_weight, warmup_epochs=settings.warmup_epochs,
                          latency_floor=settings.latency_floor)

    def cheapest_what(self) -> str:
        return f"every block skipped, a {self.widths[0]}-channel stem"


def chain_estimate(arch: dict, config: MfccConfig, num_classes: int, target: Target, decision_ms: float | None,
                   fe_instructions: float | None = None) -> dict:
    """The cost model's estimate of chain network `arch`; for one valid or causal in time (`dadarts search
    --streaming`), its latency is the streaming one (dadarts.costmodel.stream.streaming_estimate)."""
    est = estimate_netgraph(chain_graph(arch, config.shape, num_classes), config, target, decision_ms, fe_instructions)
    if space.streams(arch):
        from ..costmodel.stream import streaming_estimate
        est = streaming_estimate(est, arch, config, num_classes, target, decision_ms)
    return est


def chain_deployment(arch: dict, config: MfccConfig, num_classes: int, target: Target | None, budget,
                     decision_ms: float | None) -> dict:
    """What search/result.json says about deployment: the derived network (the argmax, or where that was over
    the budget the most probable network within it: loop._within_budget), the board, its budget and the cost
    model's estimate of that network."""
    from .cost import estimate_costs, within
    graph = chain_graph(arch, config.shape, num_classes)
    blocks = [b for b in arch["blocks"] if b["op"] != "skip"]
    out = {"target": target.name if target else None, "budget": budget.to_dict() if budget else None,
           "decision_ms": decision_ms if target else None,
           "network": {"space": "chain", "blocks": len(blocks), "macs": graph.total_macs,
                       "sized_by": "the search (the argmax of every choice)"}}
    if target is None:
        out["predicted"] = None
        return out
    est = chain_estimate(arch, config, num_classes, target, decision_ms)
    costs = estimate_costs(est)
    out["predicted"] = {**{k: round(v, 3) for k, v in costs.items()}, "macs": est["macs"],
                        "arena_kb": round(est["arena_bytes"] / KB, 3), "model_kb": round(est["model_bytes"] / KB, 3),
                        "over": within(costs, budget), "fits": not within(costs, budget),
                        **({"streaming": est["streaming"]} if "streaming" in est else {})}
    return out


DUAL_STEP = 0.2                   # η: λ grows by 0.2 per architecture step at 100 % over the budget


class Lagrangian:
    """The budget's augmented Lagrangian (see module doc); λ is part of the search checkpoint."""

    watches_derived = True              # update() wants the derived network's cost too

    def __init__(self, budget, rho: float, step: float = DUAL_STEP, warmup_epochs: int = 0,
                 latency_floor: float = 0.0):
        self.budget, self.rho, self.step, self.warmup_epochs = budget, rho, step, warmup_epochs
        self.latency_floor = latency_floor
        self.lam = {k: 0.0 for k, _ in budget.items()}
        self.violated_steps = 0            # architecture steps of the current epoch with a budget violated

    def violations(self, expected: dict) -> dict[str, torch.Tensor]:
        return {k: expected[k] / b - 1.0 for k, b in self.budget.items()}

    def weight(self, epoch: int) -> float:
        return self.rho if epoch >= self.warmup_epochs else 0.0

    def loss(self, expected: dict, epoch: int) -> torch.Tensor:
        v = self.violations(expected)
        terms = [self.lam[k] * v[k] + 0.5 * self.rho * F.relu(v[k]) ** 2 for k in v]
        if self.latency_floor > 0 and "latency_ms" in v:
            terms.append(0.5 * self.rho * F.relu(self.latency_floor - 1.0 - v["latency_ms"]) ** 2)
        return torch.stack(terms).sum()

    def columns(self, expected: dict, epoch: int) -> dict:
        """history.csv: the penalty at the epoch's end, each multiplier, the steps that were over budget."""
        row = {"cost_penalty": round(float(self.loss(expected, epoch)), 6), "cost_weight": self.weight(epoch),
               **{f"lambda_{k}": round(v, 4) for k, v in self.lam.items()}, "violated_steps": self.violated_steps}
        self.violated_steps = 0
        return row

    def update(self, expected: dict, derived: dict | None = None) -> None:
        v = {k: float(x) for k, x in self.violations(expected).items()}
        if derived is not None:
            v = {k: max(x, derived[k] / self.budget_of(k) - 1.0) for k, x in v.items()}
        self.violated_steps += any(x > 0 for x in v.values())
        for k, x in v.items():
            self.lam[k] = max(0.0, self.lam[k] + self.step * x)

    def budget_of(self, k: str) -> float:
        return dict(self.budget.items())[k]

    def state_dict(self) -> dict:
        return {"lam": dict(self.lam), "violated_steps": self.violated_steps}

    def load_state_dict(self, state: dict) -> None:
        self.lam.update(state.get("lam", {}))
        self.violated_steps = state.get("violated_steps", 0)
