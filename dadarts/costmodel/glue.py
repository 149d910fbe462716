"""Structural glue: the operators of a network that compute none of its chosen kernels' MACs.

A keyword-spotting network on a microcontroller should spend its Invoke in its convolutions. What a
searched structure adds around them is glue: ADD (node sums, residuals), CONCATENATION and the
QUANTIZE that requantises a concat input, padding ops (PAD, MIRROR_PAD) and slices, standalone
RELU, and 1x1 convolutions that adapt widths (a cell's input stages). A 1x1 convolution right after a
depthwise convolution is that block's pointwise half and counts as a kernel; any other 1x1 is
counted as an adapter (so a cell's chosen conv_1x1 op counts too: an upper bound for cells, exact for
chain networks, whose every 1x1 follows its depthwise).
"""
from __future__ import annotations

from .layer import Layer

GLUE_OPS = ("ADD", "CONCATENATION", "QUANTIZE", "DEQUANTIZE", "PAD", "PADV2", "MIRROR_PAD", "STRIDED_SLICE",
            "RELU", "RELU6", "RESHAPE")


def is_glue(layers: list[Layer]) -> list[bool]:
    """Per layer (in execution order): whether it is structural glue (see module doc)."""
    out = []
    for i, layer in enumerate(layers):
        adapter = (layer.op == "CONV_2D" and list(layer.kernel) == [1, 1]
                   and (i == 0 or layers[i - 1].op != "DEPTHWISE_CONV_2D"))
        out.append(layer.op in GLUE_OPS or adapter)
    return out
