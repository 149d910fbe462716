"""Clip accuracy as a causal network's stream decides it: every clip heard after the clips before it.

A chain network causal in time (dadarts.costmodel.chain) runs on the device as a stream of steps, and a
step has heard the audio before its window where the whole-window model reads zero padding
(dadarts.export.step_model); a network trained with `--stream-history` expects that audio. So its clip
accuracy on a window alone is not what the device scores. Here the clips are put in a fixed random order
(dadarts.train.loop.stream_order, the order `dadarts train --stream-history` scores its test split in),
and each is preceded by the last H frames of the clips before it (dadarts.train.loop.heard_before; H: a window and up to one step, so
that a step ends exactly with the clip's window, StepPlan.window_of; the first clip by frames of the
input's zero); the step model runs over them from a reset and that step decides:

- streamed_float: the float network's step form (`whole_stream_logits`) on the float MFCC;
- streamed_int8: the exported int8 step model (`dadarts export --int8 --streaming`) on int8 features:
  `dadarts evaluate` gives it the fixed-point front-end's (its streamed_fixed path, the device's);
  the step export's report the test split's quantised float MFCC (streamed_accuracy).

A valid network reads nothing before its window (its streamed figures equal the window's), and a 'same'
one does not stream, so only causal networks get these paths.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from ..train.loop import heard_before

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


def deciding_step(plan, H: int) -> int:
    """The step that decides a clip heard after H frames (history_frames): the one whose window is the clip."""
    s = (H + plan.window_frames - plan.tail_frames) // plan.frames_per_step - 1
    assert plan.window_of(s) == (H, H + plan.window_frames), "the deciding step's window is not the clip's"
    return s


def streamed_logits(step, x: np.ndarray, runner=None, x_int8: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """{"streamed_float": (M, K) logits of the float StepModel `step`, and with an int8 step model (a
    step_tflite.StepRunner stepping as `step`) and int8 features (M, T, F), "streamed_int8": (M, K) dequantised
    logits} of the clips x (normalised float MFCC), each decided after the clips before it in stream_order."""
    from .step_model import whole_stream_logits
    H = history_frames(step.plan)
    s = deciding_step(step.plan, H)
    streams = torch.cat([heard_before(torch.from_numpy(x), H), torch.from_numpy(x)], dim=1)    # (M, H + T, F)
    out = {"streamed_float": np.concatenate([whole_stream_logits(step, streams[i:i + BATCH])[:, s].numpy()
                                             for i in range(0, len(x), BATCH)])}
    if runner is not None and x_int8 is not None:
        assert runner.frames == step.plan.frames_per_step, "the int8 step model steps another number of frames"
        before = heard_before(torch.from_numpy(x_int8), H, int(runner.ins[0]["quantization"][1])).numpy()
        out["streamed_int8"] = np.stack([runner.dequantize_logits(runner.run(np.concatenate([b, c]))[0][s])
                                         for b, c in zip(before, x_int8)])
    return out


def streamed_accuracy(step, x: np.ndarray, y: np.ndarray, runner=None) -> dict:
    """export --int8 --streaming's report["streaming"]["clips"] for a causal network: the test split's clip
    accuracy as its stream decides it, float step and int8 step model (its quantised float features)."""
    got = streamed_logits(step, x, runner, runner.quantize_frames(x) if runner is not None else None)
    return {"clips": int(len(y)), "order": "stream_order", "history_frames": history_frames(step.plan),
            **{k.removeprefix("streamed_"): float((v.argmax(1) == y).mean()) for k, v in got.items()}}
