"""The inference model export converts: a trained network rebuilt from train/model.pt, frozen for export.

What changes compared with the trained module, and why (every rewrite is exact in float):
- eval mode and no drop path: nothing training-only reaches the graph;
- BatchNorm folded into the convolution before it: one CONV_2D per conv+BN in TFLite, and int8
  weights that carry the BN scale per channel instead of a separate float-ish MUL/ADD;
- the search space's fused FactorizedReduce (a 2x2 stride-2 conv built in forward) becomes a plain
  conv with its BN folded in;
- stride-2 average pools that leave the padding out of the mean run on odd sizes (see
  OddSizeAvgPool), which onnx2tf converts to one AVERAGE_POOL_2D instead of border-patch chains;
- padded max pools (the search space's replicate-padded one included) become reflect pad +
  unpadded pool: a 0-padding converter would be wrong for negative inputs, and onnx2tf turns a
  reflect pad into one MIRROR_PAD where a replicate pad takes four.
The input stays the native (1, 1, T, F) shape of the model's MFCC configuration.
"""
from __future__ import annotations

import copy

import torch
from torch import nn
from torch.nn import functional as F


def fold_bn(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> nn.Conv2d:
    """A conv with bias computing bn(conv(x)) in eval mode."""
    fused = nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding,
                      conv.dilation, conv.groups, bias=True, padding_mode=conv.padding_mode)
    w, b = _folded(conv.weight, conv.bias, bn)
    fused.weight.data.copy_(w)
    fused.bias.data.copy_(b)
    return fused


def _folded(weight, bias, bn: nn.BatchNorm2d):
    scale = bn.weight.detach() if bn.affine else torch.ones_like(bn.running_var)
    shift = bn.bias.detach() if bn.affine else torch.zeros_like(bn.running_var)
    inv = scale / torch.sqrt(bn.running_var + bn.eps)
    b = bias.detach() if bias is not None else torch.zeros_like(bn.running_mean)
    return weight.detach() * inv.reshape(-1, 1, 1, 1), (b - bn.running_mean) * inv + shift


class FusedReduce(nn.Module):
    """FactorizedReduce for export: ReLU, zero pad to even size, one 2x2 stride-2 conv (BN folded)."""

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor):
        super().__init__()
        self.conv = nn.Conv2d(weight.shape[1], weight.shape[0], 2, stride=2, bias=True)
        self.conv.weight.data.copy_(weight)
        self.conv.bias.data.copy_(bias)

    def forward(self, x):
        x = F.relu(x)
        h, w = int(x.shape[-2]), int(x.shape[-1])
        if h % 2 or w % 2:
            x = F.pad(x, (0, w % 2, 0, h % 2))
        return self.conv(x)


class OddSizeAvgPool(nn.Module):
    """Stride-2 avg_pool2d(count_include_pad=False) computed on odd sizes only: exact, one AVERAGE_POOL_2D.

    On an odd size, PyTorch's windows (start 2i - p) are TensorFlow's 'SAME' windows, and both leave
    the padding out of the mean, so onnx2tf emits one clean pool; on an even size the windows differ
    and onnx2tf patches the border with STRIDED_SLICE/MUL/CONCATENATION chains. An even size is
    made odd with one more row/column at the end: it only ever falls in the last window, whose output
    is cut off again, so every kept output is PyTorch's.
    """

    def __init__(self, kernel, stride, padding):
        super().__init__()
        self.kernel, self.stride, self.padding = _pair(kernel), _pair(stride), _pair(padding)

    def forward(self, x):
        h, w = int(x.shape[-2]), int(x.shape[-1])
        eh, ew = 1 - h % 2, 1 - w % 2
        if eh or ew:
            # Any value works (it only reaches the cut-off output); a zero pad would be fused into
            # the pool by onnxsim, which then counts the padding and is wrong.
            x = F.pad(x, (0, ew, 0, eh), mode="reflect")
        y = F.avg_pool2d(x, self.kernel, self.stride, self.padding, count_include_pad=False)
        return y[..., :y.shape[-2] - eh, :y.shape[-1] - ew]


class PaddedMaxPool(nn.Module):
    """max_pool2d with padding as an explicit reflect pad + unpadded pool.

    A reflected value x[j] (j <= p) lies inside every window that reaches the pad when p <= (k - 1) / 2,
    so the maximum is PyTorch's -inf padded one for inputs of any sign; onnx2tf turns a reflect pad
    into one MIRROR_PAD (a replicate pad became four). Wider pads fall back to replicate, also exact.
    """

    def __init__(self, kernel, stride, padding, dilation=1, ceil_mode=False):
        super().__init__()
        self.kernel, self.stride, self.padding = _pair(kernel), _pair(stride), _pair(padding)
        self.dilation, self.ceil_mode = _pair(dilation), ceil_mode
        reflect_ok = self.dilation == (1, 1) and all(2 * p <= k - 1 for p, k in zip(self.padding, self.kernel))
        self.mode = "reflect" if reflect_ok else "replicate"

    def forward(self, x):
        ph, pw = self.padding
        if self.mode == "reflect" and (x.shape[-2] <= ph or x.shape[-1] <= pw):
            mode = "replicate"  # reflect needs more rows than the pad
        else:
            mode = self.mode
        return F.max_pool2d(F.pad(x, (pw, pw, ph, ph), mode=mode), self.kernel, self.stride, 0,
                            self.dilation, self.ceil_mode)


def _pair(v) -> tuple[int, int]:
    return (int(v), int(v)) if isinstance(v, int) else tuple(int(a) for a in v)


def _rewrite(module: nn.Module) -> nn.Module:
    """Export-friendly replacement of one module (children are handled by the caller)."""
    from ..search.operations import FactorizedReduce, MaxPool3x3, SameMaxPool
    if isinstance(module, SameMaxPool):
        return module   # non-negative inputs (mcu space): TFLite's SAME max pool is exact as it is
    if isinstance(module, FactorizedReduce):
        w, b = _folded(module.fused_weight(), None, module.bn)
        return FusedReduce(w, b)
    if isinstance(module, MaxPool3x3):
        return PaddedMaxPool(3, module.stride, 1)
    if isinstance(module, nn.AvgPool2d) and not module.count_include_pad and not module.ceil_mode \
            and module.divisor_override is None and _pair(module.stride) == (2, 2) \
            and all(2 * p == k - 1 for p, k in zip(_pair(module.padding), _pair(module.kernel_size))):
        return OddSizeAvgPool(module.kernel_size, module.stride, module.padding)
    if isinstance(module, nn.MaxPool2d) and _pair(module.padding) != (0, 0) and not module.return_indices:
        return PaddedMaxPool(module.kernel_size, module.stride, module.padding, module.dilation, module.ceil_mode)
    if isinstance(module, nn.Dropout | nn.Dropout2d):
        return nn.Identity()
    if isinstance(module, nn.Sequential):
        items = list(module._modules.items())
        for (name, m), (next_name, nxt) in zip(items, items[1:]):
            if isinstance(m, nn.Conv2d) and isinstance(nxt, nn.BatchNorm2d) and m.padding_mode == "zeros":
                module._modules[name] = fold_bn(m, nxt)
                module._modules[next_name] = nn.Identity()
    return module


def _rewrite_tree(module: nn.Module) -> nn.Module:
    module = _rewrite(module)
    for name, child in list(module._modules.items()):
        if child is not None:
            module._modules[name] = _rewrite_tree(child)
    return module


def build_inference_model(model: nn.Module) -> nn.Module:
    """A frozen copy of `model` in the form export converts; numerically equal to model.eval()."""
    model = copy.deepcopy(model).eval()
    if hasattr(model, "drop_path_prob"):
        model.drop_path_prob = 0.0
    model = _rewrite_tree(model)
    for p in model.parameters():
        p.requires_grad_(False)
    return model.eval()


def max_abs_difference(a: nn.Module, b: nn.Module, x: torch.Tensor) -> float:
    """Largest output difference of two models on the same batch."""
    with torch.no_grad():
        return float((a.eval()(x) - b.eval()(x)).abs().max())


def leftover_batchnorms(model: nn.Module) -> list[str]:
    """Names of BatchNorm layers that could not be folded (they export as MUL + ADD)."""
    return [name for name, m in model.named_modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
