"""The two search spaces: the paper's PC-DARTS cells ("darts") and cells made for microcontrollers ("mcu").

A space fixes everything a genotype does not say: the primitives (the columns of α, in order), how
each is built, the stem, the 1x1 stages that bring a cell's two inputs to its width, and the number
of nodes per cell. The supernet and the searched network are built from the same space, and
dadarts.costmodel.lowering writes down the int8 TFLite layers each of these blocks exports to
(a test checks both agree with the real export).

- darts: DARTS/PC-DARTS as published: pre-activation ReLU-conv-BN ops (separable and dilated convs,
  pools, skip), a 3x3 stem at full resolution (3C channels), FactorizedReduce after a reduction,
  4 nodes per cell.
- mcu: post-activation ops whose ReLUs fuse into the convolutions, depthwise-separable convs on
  CMSIS-NN's fast paths, no dilation, every op at stride 1; a 3x3 stride-2 'valid' stem that halves
  the map first as DS-CNN does (2C channels); a reduction cell shrinks its two inputs (average pool
  2x2 stride 2, or 4x4 stride 4 for an input two reductions back, then a 1x1 conv) before its ops; 3 nodes per
  cell (a smaller concat: the arena's peak sits at the concat). Nothing in it needs an export-time
  rewrite: every block is one TFLite op with its ReLU fused.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from torch import nn

from ..costmodel.spaces import DARTS_FACTS, MCU_FACTS, SpaceFacts
from ..errors import UserError
from .operations import MCU_OPS, OPS, ConvBNReLU, FactorizedReduce, ReduceConv, ReLUConvBN, StemConv


@dataclass(frozen=True)
class Space(SpaceFacts):
    """The facts of dadarts.costmodel.spaces plus the PyTorch constructor of every primitive."""
    ops: dict[str, Callable[[int, int, bool], nn.Module]] = field(default_factory=dict)

    def stem(self, c_in: int, c_out: int, stride: int | None = None) -> nn.Module:
        if self.post_activation:
            return StemConv(c_in, c_out)
        stride = self.stem_stride if stride is None else stride
        return nn.Sequential(nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False), nn.BatchNorm2d(c_out))

    def preprocess(self, c_in: int, c_out: int, affine: bool = True, factor: int = 1) -> nn.Module:
        """A cell input brought to the cell's width (1x1) and, for factor > 1, resolution."""
        if self.post_activation:
            return ConvBNReLU(c_in, c_out, 1, affine) if factor == 1 else ReduceConv(c_in, c_out, factor, affine)
        if factor == 1:
            return ReLUConvBN(c_in, c_out, 1, 1, 0, affine)
        if factor == 2:
            return FactorizedReduce(c_in, c_out, affine)
        raise ValueError(f"the darts space reduces a cell input by 2 at most, not {factor}")


DARTS = Space(**vars(DARTS_FACTS), ops=OPS)
MCU = Space(**vars(MCU_FACTS), ops=MCU_OPS)
SPACES = {s.name: s for s in (DARTS, MCU)}


def get_space(name: str) -> Space:
    if name not in SPACES:
        raise UserError(f"Unknown search space '{name}': use one of {', '.join(SPACES)}.")
    return SPACES[name]


def space_of_genotype(genotype) -> Space:
    """The space whose primitives include every op of `genotype` (darts first: older runs)."""
    ops = {op for op, _ in list(genotype.normal) + list(genotype.reduce)}
    for space in SPACES.values():
        if ops <= set(space.primitives):
            return space
    raise UserError(f"The genotype mixes ops of different search spaces ({', '.join(sorted(ops))}): "
                    "re-run the search.")
