"""The discrete network a genotype describes: stem, stacked cells, global pooling, linear classifier.

This is what the evaluation phase trains from scratch (train registers it as model "searched") and
what export converts. It takes (B, 1, T, F) normalised MFCC features on the chosen configuration's
native shape: the alignment stage of the search is not part of it. Reduction cells sit at 1/3 and
2/3 of the depth; every stride-2 path rounds odd sizes up, so any (T, F) works.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from ..costmodel.spaces import cell_plans
from ..errors import UserError
from .genotypes import Genotype, from_dict
from .operations import Identity
from .space import Space, get_space, space_of_genotype


def drop_path(x: torch.Tensor, drop_prob: float) -> torch.Tensor:
    """Zero whole samples of a branch with probability drop_prob, rescaling the survivors."""
    keep = 1.0 - drop_prob
    mask = torch.empty(x.shape[0], 1, 1, 1, device=x.device, dtype=x.dtype).bernoulli_(keep)
    return x / keep * mask


class Cell(nn.Module):
    def __init__(self, genotype: Genotype, space: Space, C_prev_prev, C_prev, C, reduction, reduction_prev):
        super().__init__()
        # The previous-previous state is one resolution step larger when the previous cell reduced.
        f0, f1 = space.input_factors(reduction, reduction_prev)
        self.preprocess0 = space.preprocess(C_prev_prev, C, factor=f0)
        self.preprocess1 = space.preprocess(C_prev, C, factor=f1)
        edges = genotype.reduce if reduction else genotype.normal
        self.concat = list(genotype.reduce_concat if reduction else genotype.normal_concat)
        self.reduction = reduction
        self.steps = len(edges) // 2
        self.multiplier = len(self.concat)
        self.ops = nn.ModuleList()
        self.indices = []
        for name, index in edges:
            if name not in space.ops:
                raise UserError(f"The genotype uses '{name}', which is not an op of the {space.name} search space.")
            self.ops.append(space.ops[name](C, space.edge_stride(reduction, index), True))
            self.indices.append(int(index))

    def forward(self, s0, s1, drop_prob: float = 0.0):
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        for i in range(self.steps):
            hs = []
            for k in (2 * i, 2 * i + 1):
                op = self.ops[k]
                h = op(states[self.indices[k]])
                if self.training and drop_prob > 0.0 and not isinstance(op, Identity):
                    h = drop_path(h, drop_prob)
                hs.append(h)
            states.append(hs[0] + hs[1])
        return torch.cat([states[i] for i in self.concat], dim=1)


def stack_cells(layers: int, stem_channels: int, channels: int, multiplier: int, make_cell) -> tuple[nn.ModuleList, int]:
    """DARTS' cell stacking (dadarts.costmodel.spaces.cell_plans), shared by the supernet and the searched
    network. `make_cell(C_prev_prev, C_prev, C, reduction, reduction_prev)` builds one cell. Returns the
    cells and the channel count of the last one's output."""
    plans, c_out = cell_plans(layers, stem_channels, channels, multiplier)
    return nn.ModuleList(make_cell(p.c_prev_prev, p.c_prev, p.c, p.reduction, p.reduction_prev) for p in plans), c_out


class SearchedNetwork(nn.Module):
    """Stem conv over the 1-channel (T, F) map, `layers` cells, global average pool, linear.

    `genotype` may be a Genotype, its dict form (docs/contracts.md) or its string form; `space` names
    the search space it came from (default: the one whose primitives it uses, darts first).
    `drop_path_prob` is an attribute the trainer may change per epoch.
    """

    def __init__(self, genotype, input_shape=(49, 40), num_classes=12, channels=16, layers=8,
                 drop_path_prob=0.0, space: str | None = None):
        super().__init__()
        genotype = from_dict(genotype)
        if layers < 3:
            raise ValueError(f"A searched network needs at least 3 layers (two reduce), got {layers}.")
        self.space = get_space(space) if space else space_of_genotype(genotype)
        self.genotype = genotype
        self.input_shape = tuple(int(s) for s in input_shape)
        self.num_classes = num_classes
        self.drop_path_prob = drop_path_prob
        C_curr = self.space.stem_multiplier * channels
        self.stem = self.space.stem(1, C_curr)
        self.cells, C_prev = stack_cells(layers, C_curr, channels, len(genotype.normal_concat),
                                         lambda *plan: Cell(genotype, self.space, *plan))
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(C_prev, num_classes)

    def forward(self, x):
        s0 = s1 = self.stem(x)
        for cell in self.cells:
            s0, s1 = s1, cell(s0, s1, self.drop_path_prob)
        out = self.global_pooling(s1)
        return self.classifier(out.flatten(1))
