"""The search space: the eight PC-DARTS primitives in one table, OPS, and the blocks they are built from.

Every constructor takes (C, stride, affine) and maps (B, C, H, W) to (B, C, ceil(H/s), ceil(W/s)).
All MFCC shapes of the data space have odd sizes somewhere, so every stride-2 path here must round
up the same way. The blocks are also written to convert exactly to int8 TFLite (see issue 5):
max pool pads by replicating the border (exact for any input sign, unlike a 0 pad), average pool
excludes the padding from the mean, and FactorizedReduce is one stride-2 convolution.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

OPS = {
    "none": lambda C, stride, affine: Zero(stride),
    "max_pool_3x3": lambda C, stride, affine: MaxPool3x3(stride),
    "avg_pool_3x3": lambda C, stride, affine: nn.AvgPool2d(3, stride=stride, padding=1, count_include_pad=False),
    "skip_connect": lambda C, stride, affine: Identity() if stride == 1 else FactorizedReduce(C, C, affine=affine),
    "sep_conv_3x3": lambda C, stride, affine: SepConv(C, C, 3, stride, 1, affine=affine),
    "sep_conv_5x5": lambda C, stride, affine: SepConv(C, C, 5, stride, 2, affine=affine),
    "dil_conv_3x3": lambda C, stride, affine: DilConv(C, C, 3, stride, 2, 2, affine=affine),
    "dil_conv_5x5": lambda C, stride, affine: DilConv(C, C, 5, stride, 4, 2, affine=affine),
}


class ReLUConvBN(nn.Module):
    def __init__(self, C_in, C_out, kernel_size, stride, padding, affine=True):
        super().__init__()
        self.op = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.Conv2d(C_in, C_out, kernel_size, stride=stride, padding=padding, bias=False),
            nn.BatchNorm2d(C_out, affine=affine),
        )

    def forward(self, x):
        return self.op(x)


class DilConv(nn.Module):
    """ReLU, dilated depthwise conv, pointwise conv, BN."""

    def __init__(self, C_in, C_out, kernel_size, stride, padding, dilation, affine=True):
        super().__init__()
        self.op = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.Conv2d(C_in, C_in, kernel_size, stride=stride, padding=padding, dilation=dilation,
                      groups=C_in, bias=False),
            nn.Conv2d(C_in, C_out, kernel_size=1, bias=False),
            nn.BatchNorm2d(C_out, affine=affine),
        )

    def forward(self, x):
        return self.op(x)


class SepConv(nn.Module):
    """Two stacked DilConv-like blocks without dilation, the first carrying the stride (as in DARTS)."""

    def __init__(self, C_in, C_out, kernel_size, stride, padding, affine=True):
        super().__init__()
        self.op = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.Conv2d(C_in, C_in, kernel_size, stride=stride, padding=padding, groups=C_in, bias=False),
            nn.Conv2d(C_in, C_in, kernel_size=1, bias=False),
            nn.BatchNorm2d(C_in, affine=affine),
            nn.ReLU(inplace=False),
            nn.Conv2d(C_in, C_in, kernel_size, stride=1, padding=padding, groups=C_in, bias=False),
            nn.Conv2d(C_in, C_out, kernel_size=1, bias=False),
            nn.BatchNorm2d(C_out, affine=affine),
        )

    def forward(self, x):
        return self.op(x)


class Identity(nn.Module):
    def forward(self, x):
        return x


class Zero(nn.Module):
    """The 'none' operation: zeros of the output shape (only ever used inside the supernet)."""

    def __init__(self, stride):
        super().__init__()
        self.stride = stride

    def forward(self, x):
        if self.stride == 1:
            return x.mul(0.0)
        return x[:, :, ::self.stride, ::self.stride].mul(0.0)


class MaxPool3x3(nn.Module):
    """3x3 max pool, padding 1, as replicate-pad + unpadded pool.

    Replicating the border value can never change a window's maximum, so this equals PyTorch's
    -inf padded pool exactly, and converters that pad pools with 0 cannot get it wrong.
    """

    def __init__(self, stride):
        super().__init__()
        self.stride = stride

    def forward(self, x):
        return F.max_pool2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), 3, stride=self.stride)


class FactorizedReduce(nn.Module):
    """Halve the resolution, doubling nothing: two 1x1 stride-2 convs on x and on x shifted by (1, 1).

    DARTS concatenates conv_1(x) and conv_2(x[:, :, 1:, 1:]); on an odd size the shifted branch comes
    out one row short. Here both branches are fused into one 2x2 stride-2 convolution (conv_1's
    weights on tap (0, 0), conv_2's on tap (1, 1)) over x padded by one zero row/column at the end
    where the size is odd: output ceil(H/2) x ceil(W/2), like every other stride-2 op, and one conv
    node in the exported graph instead of slice + 2 convs + concat.
    """

    def __init__(self, C_in, C_out, affine=True):
        super().__init__()
        if C_out % 2:
            raise ValueError(f"FactorizedReduce needs an even number of output channels, got {C_out}.")
        self.relu = nn.ReLU(inplace=False)
        self.conv_1 = nn.Conv2d(C_in, C_out // 2, 1, stride=2, bias=False)
        self.conv_2 = nn.Conv2d(C_in, C_out // 2, 1, stride=2, bias=False)
        self.bn = nn.BatchNorm2d(C_out, affine=affine)

    def fused_weight(self) -> torch.Tensor:
        """The (C_out, C_in, 2, 2) kernel equivalent to the two 1x1 branches."""
        w1, w2 = self.conv_1.weight, self.conv_2.weight
        zero = torch.zeros_like(w1)
        top = torch.cat([torch.cat([w1, zero], dim=3), torch.cat([zero, zero], dim=3)], dim=2)
        bottom = torch.cat([torch.cat([zero, zero], dim=3), torch.cat([zero, w2], dim=3)], dim=2)
        return torch.cat([top, bottom], dim=0)

    def forward(self, x):
        x = self.relu(x)
        h, w = x.shape[-2], x.shape[-1]
        if h % 2 or w % 2:
            x = F.pad(x, (0, int(w % 2), 0, int(h % 2)))
        return self.bn(F.conv2d(x, self.fused_weight(), stride=2))


# The microcontroller space (space "mcu", dadarts/search/space.py): post-activation blocks whose every
# ReLU follows a convolution, so the int8 graph fuses it (no separate RELU op, which costs ~50
# instructions per element in TFLM), depthwise-separable convolutions as DS-CNN uses them (CMSIS-NN's
# fast depthwise and 1x1 paths), no dilation (it would be made dense at export). Every op runs at
# stride 1 with 'same' padding of an odd kernel, which TFLite's SAME padding reproduces exactly; the
# reduction happens in the cell's input stages (ReduceConv, 'valid'), so no stride-2 'same' op ever
# needs the asymmetric padding that exports as an extra PAD. Every state of an mcu cell is a ReLU
# output, so a max pool's padding value cannot matter and it converts as one MAX_POOL_2D.
MCU_OPS = {
    "none": lambda C, stride, affine: Zero(stride),
    "max_pool_3x3": lambda C, stride, affine: SameMaxPool(3),
    "avg_pool_3x3": lambda C, stride, affine: nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False),
    "skip_connect": lambda C, stride, affine: Identity(),
    "conv_1x1": lambda C, stride, affine: ConvBNReLU(C, C, 1, affine=affine),
    "ds_conv_3x3": lambda C, stride, affine: DSConv(C, C, 3, affine),
    "ds_conv_5x5": lambda C, stride, affine: DSConv(C, C, 5, affine),
    "ds_conv_3x3_x2": lambda C, stride, affine: DSConv(C, C, 3, affine, repeats=2),
}


class SameMaxPool(nn.MaxPool2d):
    """3x3 stride-1 max pool with 'same' padding, on non-negative inputs only (see MCU_OPS)."""

    def __init__(self, kernel_size=3):
        super().__init__(kernel_size, stride=1, padding=kernel_size // 2)


class ConvBNReLU(nn.Sequential):
    """Conv (k x k, stride 1, 'same' for odd k), BN, ReLU: one CONV_2D with a fused ReLU after export."""

    def __init__(self, C_in, C_out, kernel_size=1, affine=True):
        super().__init__(nn.Conv2d(C_in, C_out, kernel_size, padding=kernel_size // 2, bias=False),
                         nn.BatchNorm2d(C_out, affine=affine), nn.ReLU(inplace=False))


class ReduceConv(nn.Sequential):
    """Shrink a cell input by `factor` (rounding down): average pool with kernel = stride = factor and no
    padding, then 1x1 conv, BN, ReLU. Exact in TFLite ('valid' AVERAGE_POOL_2D + CONV_2D) whatever the
    parity; a 2x2 or 4x4 convolution would cost 4 or 16 times the 1x1's weights."""

    def __init__(self, C_in, C_out, factor=2, affine=True):
        super().__init__(nn.AvgPool2d(factor, stride=factor), *ConvBNReLU(C_in, C_out, 1, affine))


class StemConv(nn.Sequential):
    """The mcu space's stem: 3x3 stride-2 'valid' conv, BN, ReLU (halves the map; one CONV_2D)."""

    def __init__(self, C_in, C_out):
        super().__init__(nn.Conv2d(C_in, C_out, 3, stride=2, padding=0, bias=False), nn.BatchNorm2d(C_out),
                         nn.ReLU(inplace=False))


class DSConv(nn.Sequential):
    """DS-CNN's block: depthwise k x k, BN, ReLU, pointwise 1x1, BN, ReLU; `repeats` blocks in a row.
    Exports as DEPTHWISE_CONV_2D + CONV_2D per block, ReLUs fused."""

    def __init__(self, C_in, C_out, kernel_size, affine=True, repeats=1):
        layers = []
        for i in range(repeats):
            c_in = C_in if i == 0 else C_out
            layers += [nn.Conv2d(c_in, c_in, kernel_size, padding=kernel_size // 2, groups=c_in, bias=False),
                       nn.BatchNorm2d(c_in, affine=affine), nn.ReLU(inplace=False),
                       nn.Conv2d(c_in, C_out, 1, bias=False), nn.BatchNorm2d(C_out, affine=affine), nn.ReLU(inplace=False)]
        super().__init__(*layers)
