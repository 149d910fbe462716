"""GhostNet (Han et al. 2020) for MFCC inputs.

A ghost module makes half its output channels with a 1x1 convolution and the other half from those
with a cheap depthwise 3x3, then concatenates them. The stage table is the published GhostNet-1.0
one; `width` scales it (the KWS default 0.5 keeps the network near 1.4 M parameters, the size
of the paper's DS-CNN baseline, instead of ImageNet's 4 M).
"""
from __future__ import annotations

import torch
from torch import nn

from .layers import ConvBnAct, SqueezeExcite, make_divisible


class GhostModule(nn.Module):
    def __init__(self, size, c_in, c_out, relu: bool):
        super().__init__()
        primary = c_out // 2
        act = "relu" if relu else None
        self.primary = ConvBnAct(size, c_in, primary, 1, 1, act=act)
        self.cheap = ConvBnAct(size, primary, c_out - primary, 3, 1, groups=primary, act=act) \
            if c_out - primary == primary else ConvBnAct(size, primary, c_out - primary, 3, 1, act=act)

    def forward(self, x):
        y = self.primary(x)
        return torch.cat([y, self.cheap(y)], dim=1)


class GhostBottleneck(nn.Module):
    def __init__(self, size, c_in, c_mid, c_out, kernel, stride, se: bool):
        super().__init__()
        layers: list[nn.Module] = [GhostModule(size, c_in, c_mid, relu=True)]
        out_size = size
        if stride > 1:
            dw = ConvBnAct(size, c_mid, c_mid, kernel, stride, groups=c_mid, act=None)
            layers.append(dw)
            out_size = dw.out_size
        if se:
            layers.append(SqueezeExcite(c_mid, make_divisible(c_mid / 4, 4)))
        layers.append(GhostModule(out_size, c_mid, c_out, relu=False))
        self.block = nn.Sequential(*layers)
        if stride == 1 and c_in == c_out:
            self.shortcut = nn.Identity()
        else:
            dw = ConvBnAct(size, c_in, c_in, kernel, stride, groups=c_in, act=None)
            self.shortcut = nn.Sequential(dw, ConvBnAct(dw.out_size, c_in, c_out, 1, 1, act=None))
        self.out_size = out_size

    def forward(self, x):
        return self.block(x) + self.shortcut(x)


# (kernel, expansion channels, out channels, squeeze-excite, stride) — Han et al., Table 7.
GHOST_STAGES = [
    (3, 16, 16, False, 1), (3, 48, 24, False, 2), (3, 72, 24, False, 1), (5, 72, 40, True, 2),
    (5, 120, 40, True, 1), (3, 240, 80, False, 2), (3, 200, 80, False, 1), (3, 184, 80, False, 1),
    (3, 184, 80, False, 1), (3, 480, 112, True, 1), (3, 672, 112, True, 1), (5, 672, 160, True, 2),
    (5, 960, 160, False, 1), (5, 960, 160, True, 1), (5, 960, 160, False, 1), (5, 960, 160, True, 1),
]


class GhostNet(nn.Module):
    def __init__(self, input_shape, num_classes, width: float = 0.5, dropout: float = 0.2):
        super().__init__()
        c = make_divisible(16 * width, 4)
        stem = ConvBnAct(tuple(input_shape), 1, c, 3, 2, act="relu")
        size, blocks = stem.out_size, [stem]
        for k, exp, out, se, s in GHOST_STAGES:
            c_mid, c_out = make_divisible(exp * width, 4), make_divisible(out * width, 4)
            block = GhostBottleneck(size, c, c_mid, c_out, k, s, se)
            blocks.append(block)
            size, c = block.out_size, c_out
        last = make_divisible(960 * width, 4)
        blocks.append(ConvBnAct(size, c, last, 1, 1, act="relu"))
        self.features = nn.Sequential(*blocks)
        self.head = nn.Sequential(nn.Linear(last, 1280), nn.ReLU(), nn.Dropout(dropout), nn.Linear(1280, num_classes))

    def forward(self, x):
        return self.head(self.features(x).mean(dim=(2, 3)))
