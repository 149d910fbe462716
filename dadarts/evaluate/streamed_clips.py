"""Clip accuracy as a causal network's stream decides it: every clip heard after the clips before it.

A chain network causal in time (dadarts.costmodel.chain) runs on the device as a stream of steps, and a
step has heard the audio before its window where the whole-window model reads zero padding
(dadarts.export.step_model); a network trained with `--stream-history` expects that audio. So its clip
accuracy on a window alone is not what the device scores. Here the clips are put in a fixed random order
(dadarts.train.loop.stream_order, the order `dadarts train --stream-history` scores its test split in), and each is preceded by the last H frames of the clips before it (H: a window and up to one
step, so that a step ends exactly with the clip's window, StepPlan.window_of); the step model runs over
them from a reset and that step decides:

- streamed_float: the float network's step form (`whole_stream_logits`) on the float MFCC;
- streamed_fixed: the exported int8 step model (`dadarts export --int8 --streaming`) on the fixed-point
  front-end's features: the device's path.

A valid network reads nothing before its window (its streamed figures equal the window's), and a 'same'
one does not stream, so only causal networks get these paths.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from ..frontend.spec import SAMPLE_RATE
from ..train.loop import stream_order

BATCH = 128         # clips streamed at once in float


def is_causal(model) -> bool:
    """Whether `model` is a chain network causal in time (its stream step hears frames before its window)."""
    from ..costmodel.chain import time_padding
    arch = getattr(model, "arch", None)
    return isinstance(arch, dict) and time_padding(arch) == "causal"


def history_frames(plan) -> int:
    """H: at least one window of frames before a clip, such that a step ends exactly with its window."""
    T, n, u = plan.window_frames, plan.frames_per_step, plan.tail_frames
    return math.ceil((2 * T - u) / n) * n + u - T


def _histories(x: np.ndarray, order: np.ndarray, H: int) -> np.ndarray:
    """(M, H, F): for the clip at each position of `order`, the last H frames of the clips before it (zeros
    before the first)."""
    stream = np.concatenate([np.zeros((H, x.shape[2]), x.dtype), x[order].reshape(-1, x.shape[2])])
    T = x.shape[1]
    out = np.empty((len(x), H, x.shape[2]), x.dtype)
    for pos, i in enumerate(order):
        out[i] = stream[pos * T:pos * T + H]
    return out


def streamed_logits(models, x: np.ndarray, x_fixed: np.ndarray | None) -> dict[str, np.ndarray]:
    """{"streamed_float": (M, K) logits, and with an int8 step model and fixed-point features (M, T, F) int8,
    "streamed_fixed": (M, K) dequantised logits} of the clips x (normalised float MFCC), in their order."""
    from ..export.step_model import StepModel, default_frames_per_step, time_stride, whole_stream_logits
    model = models.float_model
    T = x.shape[1]
    n = (int(models.step_meta["frames_per_step"]) if models.step is not None else
         default_frames_per_step(time_stride(model), models.config.hop * 1000.0 / SAMPLE_RATE))
    step = StepModel(model, (T, x.shape[2]), n).eval()
    H = history_frames(step.plan)
    s = (H + T - step.plan.tail_frames) // n - 1
    assert step.plan.window_of(s) == (H, H + T), "the deciding step's window is not the clip's"
    order = stream_order(len(x))
    streams = torch.from_numpy(np.concatenate([_histories(x, order, H), x], axis=1))    # (M, H + T, F)
    out = {"streamed_float": np.concatenate([whole_stream_logits(step, streams[i:i + BATCH])[:, s].numpy()
                                             for i in range(0, len(x), BATCH)])}
    if models.step is not None and x_fixed is not None:
        runner, fixed_before = models.step, _histories(x_fixed, order, H)
        out["streamed_fixed"] = np.stack([runner.dequantize_logits(runner.run(np.concatenate([b, c]))[0][s])
                                          for b, c in zip(fixed_before, x_fixed)])
    return out
