"""MobileNetV2 (Sandler et al. 2018) and MobileNetV3-small (Howard et al. 2019) for MFCC inputs.

The stage tables are the published ImageNet ones; only the input (one MFCC channel, any (T, F)) and
the classifier change, and `width` scales every stage. Padding is TensorFlow 'SAME' for the given
input shape so odd MFCC sizes (49, 79, 97, 157 frames) downsample without losing a row. At width 1.0
and 35 classes MobileNetV2 has the 2.27 M parameters of the data-aware DARTS paper's baseline.
"""
from __future__ import annotations

from torch import nn

from .layers import ConvBnAct, HardSwish, SqueezeExcite, make_divisible


class InvertedResidual(nn.Module):
    """Expand 1x1 -> depthwise kxk (stride) -> optional squeeze-excite -> project 1x1, residual when shapes match."""

    def __init__(self, size, c_in, c_exp, c_out, kernel, stride, act, se):
        super().__init__()
        layers: list[nn.Module] = []
        if c_exp != c_in:
            layers.append(ConvBnAct(size, c_in, c_exp, 1, 1, act=act))
        dw = ConvBnAct(size, c_exp, c_exp, kernel, stride, groups=c_exp, act=act)
        layers.append(dw)
        if se:
            layers.append(SqueezeExcite(c_exp, make_divisible(c_exp / 4)))
        layers.append(ConvBnAct(dw.out_size, c_exp, c_out, 1, 1, act=None))
        self.block = nn.Sequential(*layers)
        self.residual = stride == 1 and c_in == c_out
        self.out_size = dw.out_size

    def forward(self, x):
        y = self.block(x)
        return x + y if self.residual else y


# (expansion t, channels c, repeats n, stride s) — Sandler et al., Table 2.
V2_STAGES = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]


class MobileNetV2(nn.Module):
    def __init__(self, input_shape, num_classes, width: float = 1.0, dropout: float = 0.2):
        super().__init__()
        c = make_divisible(32 * width)
        stem = ConvBnAct(tuple(input_shape), 1, c, 3, 2, act="relu6")
        size, blocks = stem.out_size, [stem]
        for t, ch, n, s in V2_STAGES:
            c_out = make_divisible(ch * width)
            for i in range(n):
                block = InvertedResidual(size, c, c * t, c_out, 3, s if i == 0 else 1, "relu6", False)
                blocks.append(block)
                size, c = block.out_size, c_out
        last = make_divisible(1280 * max(1.0, width))
        blocks.append(ConvBnAct(size, c, last, 1, 1, act="relu6"))
        self.features = nn.Sequential(*blocks)
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(last, num_classes)

    def forward(self, x):
        x = self.features(x).mean(dim=(2, 3))
        return self.classifier(self.dropout(x))


# (kernel, expansion channels, out channels, squeeze-excite, activation, stride) — Howard et al., Table 2.
V3_SMALL = [
    (3, 16, 16, True, "relu", 2), (3, 72, 24, False, "relu", 2), (3, 88, 24, False, "relu", 1),
    (5, 96, 40, True, "hswish", 2), (5, 240, 40, True, "hswish", 1), (5, 240, 40, True, "hswish", 1),
    (5, 120, 48, True, "hswish", 1), (5, 144, 48, True, "hswish", 1), (5, 288, 96, True, "hswish", 2),
    (5, 576, 96, True, "hswish", 1), (5, 576, 96, True, "hswish", 1),
]


class MobileNetV3Small(nn.Module):
    def __init__(self, input_shape, num_classes, width: float = 1.0, dropout: float = 0.2):
        super().__init__()
        c = make_divisible(16 * width)
        stem = ConvBnAct(tuple(input_shape), 1, c, 3, 2, act="hswish")
        size, blocks = stem.out_size, [stem]
        for k, exp, out, se, act, s in V3_SMALL:
            c_exp, c_out = make_divisible(exp * width), make_divisible(out * width)
            block = InvertedResidual(size, c, c_exp, c_out, k, s, act, se)
            blocks.append(block)
            size, c = block.out_size, c_out
        last = make_divisible(576 * width)
        blocks.append(ConvBnAct(size, c, last, 1, 1, act="hswish"))
        self.features = nn.Sequential(*blocks)
        self.head = nn.Sequential(nn.Linear(last, 1024), HardSwish(), nn.Dropout(dropout), nn.Linear(1024, num_classes))

    def forward(self, x):
        return self.head(self.features(x).mean(dim=(2, 3)))
