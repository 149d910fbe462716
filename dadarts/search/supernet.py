"""The PC-DARTS supernet: every edge a softmax(α)-weighted mix of all primitives on 1/K of the channels.

Partial channel connections (Xu et al., PC-DARTS): each MixedOp runs the primitives on the first
C/K channels only, passes the rest through (max-pooled on reduction edges) and shuffles channels so
that a different part goes through the ops next time. Edge normalisation β weights the inputs of
every node. α and β are nn.Parameters of this module; `derive_genotype` turns them into a Genotype.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from .genotypes import Genotype
from .network import stack_cells
from .space import DARTS, Space


def channel_shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    b, c, h, w = x.shape
    return x.view(b, groups, c // groups, h, w).transpose(1, 2).reshape(b, c, h, w)


def num_edges(steps: int) -> int:
    return sum(2 + i for i in range(steps))


class MixedOp(nn.Module):
    """All primitives on the first C/K channels of one edge.

    'none' is left out of the computation: its output is zero, so it adds nothing to the sum and
    nothing to any gradient, yet it still takes part in softmax(α) like in PC-DARTS.
    """

    def __init__(self, C, stride, k, space: Space = DARTS):
        super().__init__()
        self.k = k
        self.stride = stride
        self.ops = nn.ModuleDict()
        for name in space.primitives:
            if name == "none":
                continue
            op = space.ops[name](C // k, stride, False)
            if "pool" in name:
                op = nn.Sequential(op, nn.BatchNorm2d(C // k, affine=False))
            self.ops[name] = op
        self.op_index = [space.primitives.index(name) for name in self.ops]
        # ceil_mode: on odd sizes the bypass must round up like the stride-2 ops do.
        self.bypass = nn.MaxPool2d(2, 2, ceil_mode=True)

    def forward(self, x, weights):
        c = x.shape[1] // self.k
        head, rest = x[:, :c], x[:, c:]
        out = sum(weights[i] * op(head) for i, op in zip(self.op_index, self.ops.values()))
        if self.stride == 2:
            rest = self.bypass(rest)
        return channel_shuffle(torch.cat([out, rest], dim=1), self.k)


class SearchCell(nn.Module):
    def __init__(self, space: Space, C_prev_prev, C_prev, C, reduction, reduction_prev, k):
        super().__init__()
        self.reduction = reduction
        f0, f1 = space.input_factors(reduction, reduction_prev)
        self.preprocess0 = space.preprocess(C_prev_prev, C, affine=False, factor=f0)
        self.preprocess1 = space.preprocess(C_prev, C, affine=False, factor=f1)
        self.steps = space.steps
        self.multiplier = space.steps
        self.ops = nn.ModuleList()
        for i in range(self.steps):
            for j in range(2 + i):
                self.ops.append(MixedOp(C, space.edge_stride(reduction, j), k, space))

    def forward(self, s0, s1, weights, weights2):
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        offset = 0
        for _ in range(self.steps):
            s = sum(weights2[offset + j] * self.ops[offset + j](h, weights[offset + j]) for j, h in enumerate(states))
            offset += len(states)
            states.append(s)
        return torch.cat(states[-self.multiplier:], dim=1)


def edge_weights(betas: torch.Tensor, steps: int) -> torch.Tensor:
    """β softmax-normalised over the inputs of each node, concatenated per edge."""
    parts, start = [], 0
    for i in range(steps):
        n = 2 + i
        parts.append(F.softmax(betas[start:start + n], dim=-1))
        start += n
    return torch.cat(parts)


class Supernet(nn.Module):
    """Stem over an `in_channels` (T, F) map, `layers` search cells, global pool, linear classifier."""

    def __init__(self, C, num_classes, layers, in_channels=1, space: Space = DARTS, k=4, stem_stride=None):
        super().__init__()
        if C % k or (C // k) < 1:
            raise ValueError(f"channels ({C}) must be a multiple of the partial-channel K ({k}).")
        self.space = space
        self.steps = space.steps
        C_curr = space.stem_multiplier * C
        # A darts search may run its stem at stride 2 (stem_stride), which quarters the cost of every
        # cell: a search-only economy for small machines (the genotype does not depend on it; the
        # evaluation network keeps the space's stem). The mcu space's stem is stride 2 in both.
        self.stem = space.stem(in_channels, C_curr, stem_stride)
        self.cells, C_prev = stack_cells(layers, C_curr, C, space.steps, lambda *plan: SearchCell(space, *plan, k))
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(C_prev, num_classes)

        n_edges, n_ops = num_edges(self.steps), len(space.primitives)
        self.alphas_normal = nn.Parameter(1e-3 * torch.randn(n_edges, n_ops))
        self.alphas_reduce = nn.Parameter(1e-3 * torch.randn(n_edges, n_ops))
        self.betas_normal = nn.Parameter(1e-3 * torch.randn(n_edges))
        self.betas_reduce = nn.Parameter(1e-3 * torch.randn(n_edges))

    def arch_parameters(self) -> list[nn.Parameter]:
        return [self.alphas_normal, self.alphas_reduce, self.betas_normal, self.betas_reduce]

    def forward(self, x):
        w_normal = F.softmax(self.alphas_normal, dim=-1)
        w_reduce = F.softmax(self.alphas_reduce, dim=-1)
        b_normal = edge_weights(self.betas_normal, self.steps)
        b_reduce = edge_weights(self.betas_reduce, self.steps)
        s0 = s1 = self.stem(x)
        for cell in self.cells:
            w, b = (w_reduce, b_reduce) if cell.reduction else (w_normal, b_normal)
            s0, s1 = s1, cell(s0, s1, w, b)
        return self.classifier(self.global_pooling(s1).flatten(1))

    def genotype(self) -> Genotype:
        return derive_genotype(self.alphas_normal, self.alphas_reduce, self.betas_normal, self.betas_reduce,
                               self.space.primitives, self.steps)


def _parse(weights: torch.Tensor, edge_w: torch.Tensor, primitives, steps: int) -> list[tuple[str, int]]:
    """Top-2 inputs per node by strongest non-'none' op (weighted by β), then that op per input."""
    none = primitives.index("none")
    w = (weights * edge_w[:, None]).detach().float().cpu()
    w[:, none] = -1.0  # never pick 'none'
    gene, start = [], 0
    for i in range(steps):
        n = 2 + i
        W = w[start:start + n]
        best = W.max(dim=1)
        # Ties (e.g. a freshly initialised supernet) resolve to the lower input index: stable output.
        order = sorted(range(n), key=lambda j: (-float(best.values[j]), j))[:2]
        for j in sorted(order):
            gene.append((primitives[int(best.indices[j])], j))
        start += n
    return gene


def derive_genotype(alphas_normal, alphas_reduce, betas_normal, betas_reduce, primitives, steps: int) -> Genotype:
    """Discretise α, β as PC-DARTS does: softmax(α) × per-node softmax(β), top-2 edges, argmax op."""
    concat = list(range(2, 2 + steps))
    with torch.no_grad():
        normal = _parse(F.softmax(alphas_normal, dim=-1), edge_weights(betas_normal, steps), primitives, steps)
        reduce = _parse(F.softmax(alphas_reduce, dim=-1), edge_weights(betas_reduce, steps), primitives, steps)
    return Genotype(normal=normal, normal_concat=concat, reduce=reduce, reduce_concat=concat)
