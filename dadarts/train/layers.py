"""Building blocks shared by the baseline networks, restricted to ops TFLite Micro runs in int8.

Every block lowers to CONV_2D / DEPTHWISE_CONV_2D (batch norm folds into them at export), PAD, ADD,
MUL, CONCATENATION, RELU / RELU6, MEAN / AVERAGE_POOL_2D and FULLY_CONNECTED. Hard-swish and
hard-sigmoid are written with relu6 on purpose: the ONNX HardSwish / HardSigmoid nodes are not
lowered to int8 TFLite by every converter version, relu6 arithmetic always is.
"""
from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F


def make_divisible(value: float, divisor: int = 8, min_value: int | None = None) -> int:
    """Round a channel count to a multiple of `divisor`, never more than 10 % below `value`."""
    min_value = min_value or divisor
    new = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if new < 0.9 * value:
        new += divisor
    return new


def same_padding(size: tuple[int, int], kernel: tuple[int, int], stride: tuple[int, int]) -> tuple[int, int, int, int]:
    """TensorFlow 'SAME' padding (left, right, top, bottom) for an input of (height, width)."""
    pads = []
    for n, k, s in zip(size, kernel, stride):
        out = math.ceil(n / s)
        total = max((out - 1) * s + k - n, 0)
        pads.append((total // 2, total - total // 2))
    (top, bottom), (left, right) = pads
    return (left, right, top, bottom)


def conv_out(size: tuple[int, int], stride: tuple[int, int]) -> tuple[int, int]:
    """Output (height, width) of a 'SAME' convolution."""
    return tuple(math.ceil(n / s) for n, s in zip(size, stride))


def pair(v) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else tuple(v)


class HardSigmoid(nn.Module):
    def forward(self, x):
        return F.relu6(x + 3.0) * (1.0 / 6.0)


class HardSwish(nn.Module):
    def forward(self, x):
        return x * (F.relu6(x + 3.0) * (1.0 / 6.0))


ACTIVATIONS = {"relu": nn.ReLU, "relu6": nn.ReLU6, "hswish": HardSwish, None: nn.Identity}


class ConvBnAct(nn.Sequential):
    """Convolution (TensorFlow 'SAME' padding for the known input size) + batch norm + activation.

    Symmetric padding goes into the convolution; an asymmetric remainder becomes one explicit
    ZeroPad2d (TFLite PAD), so shapes match the reference TensorFlow models exactly.
    """

    def __init__(self, size, c_in, c_out, kernel=3, stride=1, groups=1, act="relu"):
        kernel, stride = pair(kernel), pair(stride)
        left, right, top, bottom = same_padding(pair(size), kernel, stride)
        layers: list[nn.Module] = []
        if left == right and top == bottom:
            padding = (top, left)
        else:
            layers.append(nn.ZeroPad2d((left, right, top, bottom)))
            padding = (0, 0)
        layers += [nn.Conv2d(c_in, c_out, kernel, stride, padding, groups=groups, bias=False),
                   nn.BatchNorm2d(c_out), ACTIVATIONS[act]()]
        super().__init__(*layers)
        self.out_size = conv_out(pair(size), stride)


class SqueezeExcite(nn.Module):
    """Channel attention: global mean -> reduce (relu) -> expand (hard-sigmoid) -> scale."""

    def __init__(self, channels: int, reduced: int):
        super().__init__()
        self.reduce = nn.Conv2d(channels, reduced, 1)
        self.expand = nn.Conv2d(reduced, channels, 1)
        self.gate = HardSigmoid()

    def forward(self, x):
        s = x.mean(dim=(2, 3), keepdim=True)
        return x * self.gate(self.expand(F.relu(self.reduce(s))))


class ClassifierHead(nn.Module):
    """Global average pool over (time, frequency), optional dropout, fully connected logits."""

    def __init__(self, channels: int, num_classes: int, dropout: float = 0.0):
        super().__init__()
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.fc = nn.Linear(channels, num_classes)

    def forward(self, x):
        return self.fc(self.dropout(torch.flatten(x.mean(dim=(2, 3)), 1)))
