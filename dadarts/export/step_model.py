"""The streaming form of a chain network that is 'valid' or 'causal' in time: one step takes N new feature
frames and returns the logits of the window ending with them, from the same weights.

kws_streaming's Stream wrapper, written out for the chain (Rybakov et al. 2020): every layer that
convolves time keeps, as an explicit state tensor, the last k - s of its input frames (k its taps over
time, dilation included, s its stride over time); a step concatenates the state with the layer's new
input frames, convolves 'valid' and keeps the new last k - s frames as the next state. The global
average keeps the last T' - N/S frames of the final map (T' the map's frames on a whole window) and
averages them with the step's new ones. Pointwise layers see one frame and keep nothing.

The step's average (`head`, dadarts.costmodel.stream.HEADS): "frame_mean" (the default) averages each
new frame over frequency (a MEAN of F' x C values), keeps those per-frame averages as the state (F'
times smaller) and averages them over time with a MEAN of T' x C; "average_pool" is one AVERAGE_POOL_2D
whose window is the whole (T', F') map, CMSIS-NN's arm_avgpool_s8 on the chip; "mean" is the
whole-window model's MEAN over (T', F'), TFLite Micro's reference reduce at about 130 instructions per
element (dadarts/costmodel/coefficients.json), re-averaging all T' x F' values every step: at one frame
per step it was nearly three quarters of the step (benchmarks/bench_streaming_chip.py --compare-heads measures all
three). In float they are the same average (equal groups); in int8 the pool keeps its input's scale where
a MEAN requantises, so it agrees less with the whole-window int8 model (the export check's figures).

Why a valid network's step equals the whole-window model exactly: with no time padding, an output frame depends only on
the frames of its receptive field. N is a multiple of S, the product of the time strides, so every
layer receives a multiple of its stride per step and its stride phase never moves; the last output
frame of every layer after a step ends at the step's last input frame. The whole-window model's last
output ends `tail_frames` (u) before its window's end (a strided 'valid' layer leaves up to s - 1
frames unread). So after the step whose last frame is E - 1 (E = steps · N) the logits are those of
the whole-window model on frames [E + u - T, E + u), once that window starts at or after frame 0:
after a reset (every state zero) steps 0 .. warmup_steps - 1 still read the reset state.

A causal network (dadarts.costmodel.chain) pads k - s zero frames before each layer's map: the frames its
state holds after a reset. Its step runs the layer without that padding (the state supplies the frames), so
the step graph is a valid network's; what a step equals is the network run once over everything since the
reset, the final map averaged over its last T' frames (`whole_stream_logits`), not the whole-window model on
a window: there the first frames of each map read zeros where the stream has heard the audio before.

`StepModel` is a PyTorch module (frames, *states) -> (logits, *next_states), states in NCHW (the
export transposes them to NHWC); `stream_logits` runs it over a stream.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
from torch import nn

from ..costmodel.stream import HEADS, period_step
from ..errors import UserError

STEP_MS = 100.0               # the default step: the largest multiple of the time stride within 100 ms of frames


@dataclass(frozen=True)
class StateSpec:
    name: str
    layer: str                # "features.3" or "pool"
    shape: tuple[int, int, int, int]   # (1, C, frames, F): PyTorch's NCHW


@dataclass(frozen=True)
class StepPlan:
    window_frames: int        # T: the whole-window model's input frames
    frames_per_step: int      # N
    time_stride: int          # S
    tail_frames: int          # u: frames at a window's end no output reads
    map_frames: int           # T': frames of the final map on a whole window
    warmup_steps: int         # steps after a reset whose logits still read the reset state
    states: tuple[StateSpec, ...]
    causal: bool = False      # the network pads causally: a step equals whole_stream_logits, not a window

    def to_dict(self) -> dict:
        return asdict(self)

    def window_of(self, step: int) -> tuple[int, int]:
        """[start, end) frames of the whole window whose logits step `step` (0-based) gives."""
        end = (step + 1) * self.frames_per_step + self.tail_frames
        return end - self.window_frames, end


def default_frames_per_step(time_stride: int, hop_ms: float) -> int:
    """The largest multiple of the time stride not above STEP_MS of frames (dadarts.costmodel.stream.period_step)."""
    return period_step(STEP_MS / hop_ms, time_stride)


def _time_conv(layer: nn.Module) -> nn.Conv2d:
    conv = next((m for m in layer.modules() if isinstance(m, nn.Conv2d)), None)
    if conv is None:
        raise UserError(f"The network's layer {type(layer).__name__} has no convolution: only a chain network "
                        "(dadarts train --model chain) runs as a stream of steps.")
    return conv


def _causal_pad(layer: nn.Module):
    """The layer's CausalPad (dadarts.search.chain), if it pads time causally."""
    from ..search.chain import CausalPad
    return next((m for m in layer.modules() if isinstance(m, CausalPad)), None)


def _stream_layer(layer: nn.Module, x: torch.Tensor, pad=None) -> torch.Tensor:
    """`layer` on x as a step runs it: its causal padding `pad` (_causal_pad) takes its frames from the state."""
    if pad is None:
        return layer(x)
    for m in layer:
        x = pad.stream(x) if m is pad else m(x)
    return x


def _layers(model: nn.Module) -> list[nn.Module]:
    if not (hasattr(model, "features") and hasattr(model, "classifier") and isinstance(model.features, nn.Sequential)):
        raise UserError("Only a chain network (features, global average, classifier) runs as a stream of steps: "
                        "train one with dadarts train --model chain or a chain search.")
    return list(model.features)


def time_stride(model: nn.Module) -> int:
    """S: the product of the network's strides over time."""
    return math.prod(_time_conv(layer).stride[0] for layer in _layers(model))


def make_plan(model: nn.Module, input_shape: tuple[int, int], frames_per_step: int,
              head: str = HEADS[0]) -> StepPlan:
    """The states and the alignment of `model`'s step form on (T, F) windows, N = frames_per_step."""
    T, F = (int(v) for v in input_shape)
    x = torch.zeros(1, 1, T, F)
    states, stride, tail, causal = [], 1, 0, False
    with torch.no_grad():
        for i, layer in enumerate(_layers(model)):
            conv, pad = _time_conv(layer), _causal_pad(layer)
            k, s = (conv.kernel_size[0] - 1) * conv.dilation[0] + 1, conv.stride[0]
            if conv.padding[0] != 0 or (pad is not None and pad.time != k - s):
                raise UserError("The network pads over time after the window, so its outputs at a window's edges "
                                "read frames that a stream does not have: train it with --time-padding valid or "
                                "causal (or search with --streaming) to export it for streaming.")
            causal = causal or pad is not None
            if k > s:
                states.append(StateSpec(f"state_{len(states)}", f"features.{i}", (1, x.shape[1], k - s, x.shape[3])))
            tail += ((x.shape[2] + (pad.time if pad else 0) - k) % s) * stride
            stride *= s
            x = layer(x)
    if frames_per_step < 1 or frames_per_step % stride:
        raise UserError(f"--frames-per-step {frames_per_step} is not a multiple of the network's time stride "
                        f"{stride}: a step must move every layer by whole strides.")
    map_frames, per_step = x.shape[2], frames_per_step // stride
    if map_frames > per_step:
        width = 1 if head == "frame_mean" else x.shape[3]          # frame_mean keeps per-frame averages
        states.append(StateSpec(f"state_{len(states)}", "pool", (1, x.shape[1], map_frames - per_step, width)))
    warmup = max(0, math.ceil((T - tail) / frames_per_step) - 1)
    return StepPlan(T, frames_per_step, stride, tail, map_frames, warmup, tuple(states), causal)


class StepModel(nn.Module):
    """(frames (1, 1, N, F), *states) -> (logits, *next_states) of a chain network (see module doc)."""

    def __init__(self, model: nn.Module, input_shape: tuple[int, int], frames_per_step: int, head: str = HEADS[0]):
        super().__init__()
        if head not in HEADS:
            raise UserError(f"Unknown step head '{head}' (known: {', '.join(HEADS)}).")
        self.head = head
        self.plan = make_plan(model, input_shape, frames_per_step, head)
        self.layers = nn.ModuleList(_layers(model))
        self.classifier = model.classifier
        by_layer = {s.layer: j for j, s in enumerate(self.plan.states)}
        self.state_of = [by_layer.get(f"features.{i}") for i in range(len(self.layers))]
        self.pads = [_causal_pad(layer) for layer in self.layers]
        self.pool_state = by_layer.get("pool")

    def zero_states(self) -> list[torch.Tensor]:
        return [torch.zeros(s.shape) for s in self.plan.states]

    def pooled(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C) average of the (B, C, T', F' or 1) window of the final map, as the exported head computes it."""
        if self.head != "average_pool":
            return x.mean(dim=(2, 3))
        # exported as one AVERAGE_POOL_2D over the (T', F') window
        return torch.nn.functional.avg_pool2d(x, kernel_size=tuple(x.shape[2:])).flatten(1)

    def forward(self, frames: torch.Tensor, *states: torch.Tensor):
        out: list[torch.Tensor | None] = [None] * len(self.plan.states)
        x = frames
        for layer, j, pad in zip(self.layers, self.state_of, self.pads):
            if j is not None:
                x = torch.cat([states[j], x], dim=2)
                out[j] = x[:, :, x.shape[2] - self.plan.states[j].shape[2]:]
            x = _stream_layer(layer, x, pad)
        if self.head == "frame_mean":
            x = x.mean(dim=3, keepdim=True)
        if self.pool_state is not None:
            x = torch.cat([states[self.pool_state], x], dim=2)
            out[self.pool_state] = x[:, :, x.shape[2] - self.plan.states[self.pool_state].shape[2]:]
        else:
            x = x[:, :, x.shape[2] - self.plan.map_frames:]
        logits = self.classifier(self.pooled(x))
        return (logits, *out)


def stream_logits(step: StepModel, frames: torch.Tensor) -> torch.Tensor:
    """(steps, classes) logits of `step` over a (L, F) stream of feature frames, from the zero state;
    the frames after the last whole step are left out."""
    n = step.plan.frames_per_step
    states, out = step.zero_states(), []
    with torch.no_grad():
        for s in range(len(frames) // n):
            logits, *states = step(frames[s * n:(s + 1) * n][None, None], *states)
            out.append(logits[0])
    return torch.stack(out)


def whole_stream_logits(step: StepModel, frames: torch.Tensor) -> torch.Tensor:
    """What `stream_logits` computes, without steps: every layer run once over the whole (L, F) stream after
    its k - s zero frames (the reset state; a causal layer's own padding), the final map's frames averaged
    over the last T' at the end of every step (zeros before the stream, the pool's reset state): (steps, K)
    logits. For a causal network this is the network itself over everything heard since the reset: the
    non-streaming model its steps equal. A batch of streams of one length, (B, L, F), gives (B, steps, K)."""
    n, plan = step.plan.frames_per_step, step.plan
    steps = frames.shape[-2] // n
    x = frames[..., :steps * n, :].reshape(-1, 1, steps * n, frames.shape[-1])
    with torch.no_grad():
        for layer, j, pad in zip(step.layers, step.state_of, step.pads):
            keep = plan.states[j].shape[2] if j is not None else 0
            x = _stream_layer(layer, torch.nn.functional.pad(x, (0, 0, keep, 0)), pad)
        x = torch.nn.functional.pad(x, (0, 0, plan.map_frames, 0))
        per_step = n // plan.time_stride
        out = torch.stack([step.classifier(step.pooled(x[:, :, end - plan.map_frames:end]))
                           for end in range(plan.map_frames + per_step, plan.map_frames + steps * per_step + 1,
                                            per_step)], dim=1)
    return out if frames.dim() == 3 else out[0]
