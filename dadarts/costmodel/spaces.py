"""The structure of the two search spaces, as plain facts both the search and the cost model read.

dadarts.search.space adds the PyTorch constructors of each primitive to these facts; this module is
what the cost model needs to write down a searched network's layers without building it: the
primitives (α's columns), nodes per cell, stem width and stride, where the cells reduce, and how a
cell brings its inputs to its resolution.

- darts: the paper's PC-DARTS cells: pre-activation ops, a stride-1 3x3 stem of 3C channels, the ops
  on a reduction cell's input edges carry stride 2, FactorizedReduce catches up c_{k-2}, 4 nodes.
- mcu: post-activation ops (ReLU fused into each convolution), a 3x3 stride-2 'valid' stem of 2C
  channels, every op at stride 1; a reduction cell shrinks its inputs in its input stages
  ('valid' average pool with kernel = stride, then a 1x1 conv), 3 nodes.
"""
from __future__ import annotations

from dataclasses import dataclass

DARTS_PRIMITIVES = ("none", "max_pool_3x3", "avg_pool_3x3", "skip_connect", "sep_conv_3x3", "sep_conv_5x5",
                    "dil_conv_3x3", "dil_conv_5x5")
MCU_PRIMITIVES = ("none", "max_pool_3x3", "avg_pool_3x3", "skip_connect", "conv_1x1", "ds_conv_3x3",
                  "ds_conv_5x5", "ds_conv_3x3_x2")


@dataclass(frozen=True)
class SpaceFacts:
    name: str
    primitives: tuple[str, ...]      # α's columns, "none" first
    steps: int                       # intermediate nodes per cell (all concatenated)
    stem_multiplier: int             # stem channels = stem_multiplier x C
    stem_stride: int                 # stride of the evaluation network's stem
    post_activation: bool            # ops end with ReLU and reduce in the input stages (mcu)

    def input_factors(self, reduction: bool, reduction_prev: bool) -> tuple[int, int]:
        """By how much a cell's input stages shrink its two inputs (c_{k-2}, c_{k-1})."""
        catch_up = 2 if reduction_prev else 1       # c_{k-2} is one resolution step larger
        if self.post_activation and reduction:
            return 2 * catch_up, 2
        return catch_up, 1

    def edge_stride(self, reduction: bool, index: int) -> int:
        """Stride of the op on an edge from state `index` (darts: reduction edges from the inputs)."""
        return 2 if reduction and index < 2 and not self.post_activation else 1


DARTS_FACTS = SpaceFacts("darts", DARTS_PRIMITIVES, steps=4, stem_multiplier=3, stem_stride=1, post_activation=False)
MCU_FACTS = SpaceFacts("mcu", MCU_PRIMITIVES, steps=3, stem_multiplier=2, stem_stride=2, post_activation=True)
SPACE_FACTS = {f.name: f for f in (DARTS_FACTS, MCU_FACTS)}


def reduction_layers(layers: int) -> tuple[int, int]:
    """Indices of the two reduction cells: at 1/3 and 2/3 of the depth."""
    return (layers // 3, 2 * layers // 3)


@dataclass(frozen=True)
class CellPlan:
    c_prev_prev: int
    c_prev: int
    c: int                           # the cell's width (channels of every node)
    reduction: bool
    reduction_prev: bool


def cell_plans(layers: int, stem_channels: int, channels: int, multiplier: int) -> tuple[list[CellPlan], int]:
    """DARTS' cell stacking: channels double at each reduction, each cell reads the two previous outputs
    (a cell's output has `multiplier` x its width). Returns the plans and the last output's channels."""
    plans = []
    c_prev_prev, c_prev, c = stem_channels, stem_channels, channels
    reduction_prev = False
    reduce_at = reduction_layers(layers)
    for i in range(layers):
        reduction = i in reduce_at
        if reduction:
            c *= 2
        plans.append(CellPlan(c_prev_prev, c_prev, c, reduction, reduction_prev))
        reduction_prev = reduction
        c_prev_prev, c_prev = c_prev, multiplier * c
    return plans, c_prev
