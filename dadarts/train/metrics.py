"""Classification metrics and model size figures reported by `dadarts train` and `dadarts compare`.

Parameters are counted as PC-DARTS counts them (every parameter whose name does not contain
"auxiliary"), and again with buffers (batch-norm running statistics), which is what a float
checkpoint stores. MACs count one multiply-accumulate per weight use in convolutions and fully
connected layers for one input clip; element-wise ops, pooling and batch norm (folded at export)
are not counted, as in the KWS literature.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn


def confusion_matrix(y_true, y_pred, num_classes: int) -> np.ndarray:
    """(K, K) int64 counts: row = true class, column = predicted class."""
    y_true = np.asarray(y_true, dtype=np.int64).ravel()
    y_pred = np.asarray(y_pred, dtype=np.int64).ravel()
    return np.bincount(y_true * num_classes + y_pred, minlength=num_classes * num_classes).reshape(
        num_classes, num_classes)


def classification_report(confusion: np.ndarray, labels: list[str]) -> dict:
    """Accuracy, balanced accuracy (mean recall over classes present) and per-class recall.

    A class with no examples has per-class accuracy None and is left out of the balanced mean.
    """
    confusion = np.asarray(confusion, dtype=np.int64)
    support = confusion.sum(axis=1)
    correct = np.diag(confusion)
    total = int(support.sum())
    per_class = {name: (float(correct[i] / support[i]) if support[i] else None) for i, name in enumerate(labels)}
    present = [v for v in per_class.values() if v is not None]
    return {
        "accuracy": float(correct.sum() / total) if total else 0.0,
        "balanced_accuracy": float(np.mean(present)) if present else 0.0,
        "per_class": per_class,
        "support": {name: int(support[i]) for i, name in enumerate(labels)},
        "confusion": confusion.tolist(),
        "n": total,
    }


def count_params(model: nn.Module) -> int:
    """Parameters as PC-DARTS' utils.count_parameters_in_MB counts them (auxiliary heads excluded)."""
    return int(sum(p.numel() for name, p in model.named_parameters() if "auxiliary" not in name))


def count_params_with_buffers(model: nn.Module) -> int:
    """Parameters plus buffers (batch-norm running mean / variance / counters), auxiliary heads excluded."""
    buffers = sum(b.numel() for name, b in model.named_buffers() if "auxiliary" not in name)
    return count_params(model) + int(buffers)


@torch.no_grad()
def count_macs(model: nn.Module, input_shape) -> int:
    """Multiply-accumulates of one forward pass on a (1, 1, T, F) input, via forward hooks."""
    total = [0]

    def conv_hook(m: nn.Conv2d, _inp, out):
        total[0] += out.numel() * (m.in_channels // m.groups) * math.prod(m.kernel_size)

    def linear_hook(m: nn.Linear, _inp, out):
        total[0] += out.numel() * m.in_features

    hooks = []
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            hooks.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, nn.Linear):
            hooks.append(m.register_forward_hook(linear_hook))
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    try:
        model(torch.zeros(1, 1, *input_shape, device=device))
    finally:
        for h in hooks:
            h.remove()
        model.train(was_training)
    return int(total[0])


def model_size(model: nn.Module, input_shape) -> dict:
    return {"params": count_params(model), "params_with_buffers": count_params_with_buffers(model),
            "macs": count_macs(model, input_shape)}
