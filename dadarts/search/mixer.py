"""The data mixer: one weight γ_d per MFCC configuration, mixing the aligned features by softmax(γ).

Configurations give feature maps of different shapes, so each is first aligned:
- "preprocess": a small learnable stage per configuration: a strided conv to `align_channels`
  channels that maps the map to (about) the smallest (T, F) of the space, an average pool for the
  last few rows, BN. The conv sees every frame and coefficient: pooling first (as an earlier version
  did) averaged away exactly what tells a 157-frame or 80-coefficient configuration from the others
  before γ could weigh it;
- "zeropad": zero-pad every map to the largest (T, F) shape, 1 channel;
- "fixed": one configuration, no γ (the not-data-aware ablation).
After the γ early stop the mixer may run the winning configuration alone (`only`), which costs what
a single-configuration search costs.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

ALIGNS = ("preprocess", "zeropad", "fixed")


class AlignStage(nn.Module):
    """Learnable alignment of one configuration's 1-channel (T, F) map to `out_shape`.

    Conv with stride (T // T0, F // F0) and a kernel two taps wider than the stride (padding 1), so
    its windows overlap and cover the whole map; its output (T // sT, F // sF) is at least the target
    and an average pool trims the remainder; then BN.
    """

    def __init__(self, in_shape, out_shape, channels):
        super().__init__()
        self.in_shape, self.out_shape = tuple(in_shape), tuple(out_shape)
        stride = tuple(max(1, i // o) for i, o in zip(self.in_shape, self.out_shape))
        self.conv = nn.Conv2d(1, channels, tuple(s + 2 for s in stride), stride=stride, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(channels)

    def forward(self, x):
        x = self.conv(x)
        if tuple(x.shape[-2:]) != self.out_shape:
            x = F.adaptive_avg_pool2d(x, self.out_shape)
        return self.bn(x)


class DataMixer(nn.Module):
    def __init__(self, shapes: list[tuple[int, int]], align: str = "preprocess", align_channels: int = 4):
        super().__init__()
        if align not in ALIGNS:
            raise ValueError(f"align must be one of {ALIGNS}, got {align!r}")
        if align == "fixed" and len(shapes) != 1:
            raise ValueError("align 'fixed' takes exactly one configuration.")
        self.align = align
        self.shapes = [tuple(int(v) for v in s) for s in shapes]
        self.gamma = nn.Parameter(torch.zeros(len(shapes)))
        if align == "preprocess":
            self.out_shape = (min(s[0] for s in self.shapes), min(s[1] for s in self.shapes))
            self.stages = nn.ModuleList(AlignStage(s, self.out_shape, align_channels) for s in self.shapes)
            self.out_channels = align_channels
        else:
            self.out_shape = (max(s[0] for s in self.shapes), max(s[1] for s in self.shapes))
            self.stages = None
            self.out_channels = 1

    def weights(self) -> torch.Tensor:
        return F.softmax(self.gamma, dim=0)

    def _aligned(self, d: int, x: torch.Tensor) -> torch.Tensor:
        x = x.unsqueeze(1) if x.dim() == 3 else x
        if self.stages is not None:
            return self.stages[d](x)
        return x

    def forward(self, xs: list[torch.Tensor | None], only: int | None = None) -> torch.Tensor:
        """xs[d]: (B, T_d, F_d) or (B, 1, T_d, F_d) features of configuration d (None where unused).

        only=d: configuration d alone at weight 1, at its native shape when zero padding (the
        network is fully convolutional; padding it would only cost time).
        """
        if only is not None or self.align == "fixed":
            d = 0 if only is None else only
            return self._aligned(d, xs[d])
        p = self.weights()
        if self.align == "preprocess":
            return sum(p[d] * self._aligned(d, x) for d, x in enumerate(xs))
        T, Fq = self.out_shape
        out = None
        for d, x in enumerate(xs):
            x = self._aligned(d, x)
            x = F.pad(x, (0, Fq - x.shape[-1], 0, T - x.shape[-2]))
            out = p[d] * x if out is None else out + p[d] * x
        return out


def gamma_should_stop(p: torch.Tensor, ratio: float = 2.0) -> bool:
    """The early-stop rule: the best configuration's softmax(γ) is at least `ratio` × the second."""
    if p.numel() < 2:
        return False
    top = torch.topk(p.detach().float(), 2).values
    return bool(top[0] >= ratio * top[1])
