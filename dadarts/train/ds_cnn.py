"""DS-CNN S / M / L from Hello Edge (Zhang et al. 2017, arXiv 1711.07128).

Layer sizes are the `--model_size_info` of ARM-software/ML-KWS-for-MCU (train_commands.txt): a regular
convolution, then depthwise-separable layers (depthwise 3x3 + BN + ReLU, pointwise 1x1 + BN + ReLU),
global average pooling and one fully connected layer. Padding is TensorFlow 'SAME' as in the
reference, for whatever input shape is given.

The figures usually quoted for these models (38.6 K / 189.7 K / 497.6 K) are Hello Edge's *memory*
column — int8 weights plus the two largest consecutive activation buffers — not parameter counts;
`hello_edge_memory` reproduces them and docs/train.md shows the arithmetic.
"""
from __future__ import annotations

from torch import nn

from .layers import ClassifierHead, ConvBnAct

# (features, kernel_t, kernel_f, stride_t, stride_f) per layer; the first layer is a regular conv.
DS_CNN_SIZES = {
    "s": [(64, 10, 4, 2, 2)] + [(64, 3, 3, 1, 1)] * 4,
    "m": [(172, 10, 4, 2, 1), (172, 3, 3, 2, 2)] + [(172, 3, 3, 1, 1)] * 3,
    "l": [(276, 10, 4, 2, 1), (276, 3, 3, 2, 2)] + [(276, 3, 3, 1, 1)] * 4,
}


class DsCnn(nn.Module):
    def __init__(self, input_shape, num_classes: int, layers, dropout: float = 0.0):
        super().__init__()
        size = tuple(input_shape)
        blocks: list[nn.Module] = []
        c_in = 1
        for i, (c, kt, kf, st, sf) in enumerate(layers):
            if i == 0:
                conv = ConvBnAct(size, c_in, c, (kt, kf), (st, sf))
                blocks.append(conv)
            else:
                dw = ConvBnAct(size, c_in, c_in, (kt, kf), (st, sf), groups=c_in)
                pw = ConvBnAct(dw.out_size, c_in, c, 1, 1)
                blocks.append(nn.Sequential(dw, pw))
                conv = dw
            size = conv.out_size
            c_in = c
        self.features = nn.Sequential(*blocks)
        self.head = ClassifierHead(c_in, num_classes, dropout)

    def forward(self, x):
        return self.head(self.features(x))


def ds_cnn(size: str):
    def build(input_shape, num_classes, dropout: float = 0.0):
        return DsCnn(input_shape, num_classes, DS_CNN_SIZES[size], dropout)
    build.__doc__ = f"DS-CNN-{size.upper()} (Hello Edge)."
    return build


def hello_edge_memory(model: DsCnn, input_shape) -> int:
    """Hello Edge's 'memory' figure in bytes: int8 weights with batch norm folded into the
    convolutions (one bias per output channel), plus the largest pair of consecutive activation
    tensors (input and output of one layer, int8)."""
    import torch

    weights = 0
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            weights += m.weight.numel() + m.out_channels
        elif isinstance(m, nn.Linear):
            weights += m.weight.numel() + m.out_features
    sizes = [int(torch.Size(input_shape).numel())]

    def record(_m, _inp, out):
        sizes.append(out[0].numel())
    hooks = [m.register_forward_hook(record) for m in model.modules() if isinstance(m, nn.Conv2d)]
    model.eval()
    with torch.no_grad():
        model(torch.zeros(1, 1, *input_shape))
    for h in hooks:
        h.remove()
    return weights + max(a + b for a, b in zip(sizes, sizes[1:]))
