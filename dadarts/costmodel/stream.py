"""Streaming cost (issue #24): what one decision costs when the network runs as a stream of steps.

A step model (dadarts export --streaming) takes N new frames and the states of every layer that
convolves time; the firmware (firmware/app/model_runner.cc) copies each next state into a staging
buffer after Invoke and back into its input before the next one. A decision therefore costs

    Invoke of the step graph  (every layer on its new frames at its time stride, plus the time buffers:
                               CONCATENATION of state and new frames, STRIDED_SLICE of the next state,
                               priced like every other operator from the measured per-op counts)
  + state copies              (two memcpy per state: MEMCPY_CALL instructions per call and the
                               per-byte cost of a time concatenation, which is the same memcpy)

`step_cost(layers, state_bytes, target)` prices a step graph already written (a parsed .tflite or a
NetGraph); `step_graph(arch, ...)` writes down the step graph of a chain network valid or causal in time
(the same graph: a causal network's padding is its reset state; only its final map, and so the average,
is longer) as `dadarts export --streaming` lowers it (dadarts.export.step_model: every layer that convolves time keeps
its last k - s input frames; the global average keeps the frequency averages of the last T' - N/S
frames of the final map and averages them with the step's over time, HEADS), so
that search and mcu-eval price a network's streaming form before it exists.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from ..errors import UserError
from . import kernels
from .layer import Layer
from .network import NetGraph
from .targets import Target

# Instructions of one newlib memcpy call beyond its bytes (entry, alignment and tail handling, return)
# and the firmware's loop around it. Measured on the emulated STM32F405 (tests/step_model.py's step
# model: 4 copies of 80 and 304 bytes, 548 instructions = 4 x 37 + 768 x 0.522).
MEMCPY_CALL = 37.0


@dataclass
class StepCost:
    invoke_instructions: float        # the step model's Invoke (operators only)
    state_copy_instructions: float    # the firmware's two copies per state
    state_bytes: int                  # kept between Invokes (in the arena; as many again in the staging buffer)

    @property
    def instructions(self) -> float:
        """Per decision (one step): what the firmware's Invoke timing measures."""
        return self.invoke_instructions + self.state_copy_instructions

    def to_dict(self) -> dict:
        return {**asdict(self), "instructions": self.instructions}


def memcpy_per_byte(library: str, core: str | None) -> float:
    """Instructions per byte of a large memcpy: the time concatenation's per-output-byte coefficient."""
    _, table = kernels.instruction_table(core, library)
    return float(table["concatenation"]["out"])


def state_copy_instructions(state_bytes: list[int], library: str, core: str | None = None) -> float:
    per_byte = memcpy_per_byte(library, core)
    return 2.0 * sum(MEMCPY_CALL + per_byte * b for b in state_bytes)


def step_cost(layers: list[Layer], state_bytes: list[int], target: Target) -> StepCost:
    library = kernels.library_for(target)
    return StepCost(kernels.model_instructions(layers, library, target.core),
                    state_copy_instructions(state_bytes, library, target.core), int(sum(state_bytes)))


# How a step model averages the final map (dadarts.export.step_model's `head`; the first is the default):
#   frame_mean    each new frame's MEAN over frequency, kept as the state, then a MEAN over time (T', 1):
#                 as faithful to the whole-window int8 model as MEAN; at N = 1 its step costs 45 % of MEAN's
#   average_pool  one AVERAGE_POOL_2D over the (T', F') window (CMSIS-NN): the cheapest, but it rounds
#                 the average to the map's scale (the int8 check agrees less)
#   mean          the whole-window model's MEAN over (T', F') (TFLite Micro's reference reduce), re-run
#                 over the whole map every step
# Measured at one frame per step: benchmarks/results/streaming_chip.json "every_hop".
HEADS = ("frame_mean", "average_pool", "mean")


def step_graph(arch: dict, input_shape: tuple[int, int], num_classes: int,
               frames_per_step: int, head: str = HEADS[0]) -> tuple[NetGraph, list[int]]:
    """(the int8 step graph of chain network `arch` on (T, F) windows taking `frames_per_step` new frames,
    the bytes of each state in input order). Inputs: the new frames, then the states; outputs: the
    logits, then the next states; `head`: how the step averages the final map (HEADS)."""
    from .chain import STEMS, depthwise_kernel, stem_layer, streams, time_map, time_stride, validate
    validate(arch, input_shape)
    if not streams(arch):
        raise UserError("Only a chain network valid or causal in time runs as a stream of steps: search with "
                        "--streaming or train with --time-padding valid (or causal).")
    T, F = (int(v) for v in input_shape)
    stride = time_stride(arch)
    if frames_per_step < 1 or frames_per_step % stride:
        raise UserError(f"{frames_per_step} frames per step is not a multiple of the network's time stride {stride}.")
    g = NetGraph()
    x = g.tensor((frames_per_step, F, 1))
    g.inputs.append(x)
    states: list[int] = []
    next_states: list[int] = []

    def buffered(x: int, keep: int) -> int:
        """The state of `keep` frames joined with x along time; its last `keep` frames are the next state."""
        if keep <= 0:
            return x
        h, w, c = g.shapes[x]
        state = g.tensor((keep, w, c))
        g.inputs.append(state)
        states.append(keep * w * c)
        joined = g.add("CONCATENATION", [state, x], (keep + h, w, c), axis=1, n_inputs=2)
        next_states.append(g.elementwise("STRIDED_SLICE", [joined], (keep, w, c)))
        return joined

    kt, _, st, _ = STEMS[arch["stem"]]
    x = stem_layer(g, buffered(x, kt - st), arch["stem"], int(arch["stem_channels"]))
    for block in arch["blocks"]:
        if block["op"] == "skip":
            continue
        s = int(block["stride"])
        k, d = depthwise_kernel(block["op"], s)
        x = buffered(x, (k - 1) * d + 1 - s)
        x = g.conv(g.depthwise(x, k, s, d, relu=True, time_padding="valid"), int(block["channels"]), 1, relu=True)
    if head not in HEADS:
        raise UserError(f"Unknown step head '{head}' (known: {', '.join(HEADS)}).")
    map_frames, per_step = time_map(arch, T), frames_per_step // stride
    if head == "frame_mean":
        h, w, c = g.shapes[x]
        x = g.add("MEAN", [x], (h, 1, c), weight_bytes=8)
    if map_frames > per_step:
        x = buffered(x, map_frames - per_step)
    elif map_frames < per_step:
        h, w, c = g.shapes[x]
        x = g.elementwise("STRIDED_SLICE", [x], (map_frames, w, c))
    g.outputs += [g.head(x, num_classes, "AVERAGE_POOL_2D" if head == "average_pool" else "MEAN"), *next_states]
    return g, states


def chain_step_cost(arch: dict, input_shape: tuple[int, int], num_classes: int, frames_per_step: int,
                    target: Target, head: str = HEADS[0]) -> StepCost:
    """Instructions per decision of chain network `arch` streamed at `frames_per_step` on `target`."""
    g, states = step_graph(arch, input_shape, num_classes, frames_per_step, head)
    return step_cost(g.layers, states, target)


def period_step(frames: float, time_stride: int) -> int:
    """N for a decision period of `frames` frames: the largest multiple of the time stride not above it (at
    least one stride), so that a step decides at least once a period and a decision's Invoke never costs
    more than the period's share of the budget, wherever the stride allows. The one rule of the search's
    budget and `dadarts export --streaming`."""
    return max(1, math.floor(frames / time_stride + 1e-9)) * time_stride


def step_frames(arch: dict, config, decision_ms: float | None) -> int:
    """N for a budget: period_step of the frames of one decision period, as `dadarts export --streaming`
    picks it for a 100 ms period."""
    from .chain import time_stride
    from .estimate import frames_per_decision
    return period_step(frames_per_decision(config, decision_ms), time_stride(arch))


def streaming_ram_terms(whole_terms: dict, step_arena_bytes: int, state_bytes: int, frames_per_step: int,
                        config) -> dict:
    """RAM terms of the streaming firmware from the whole-window model's: the step model's arena reserve
    (its states are inputs there), the staging copy of the states, and a feature ring of N frames."""
    from .memory import arena_reserve_bytes
    terms = {**whole_terms, "tflm_arena": arena_reserve_bytes(step_arena_bytes), "state_staging": int(state_bytes)}
    if "feature_ring" in terms and config is not None:
        terms["feature_ring"] = frames_per_step * config.n_mfcc
    return terms


def streaming_estimate(est: dict, arch: dict, config, num_classes: int, target: Target,
                       decision_ms: float | None) -> dict:
    """`est` (costmodel.estimate of the whole-window network `arch`) with the latency and RAM of streaming
    it: per decision period the Invokes of the step model it takes (period frames / N, state copies
    included) instead of one whole-window Invoke, plus the same front-end frames; RAM with the step
    model's arena (its states are inputs there), the firmware's staging copy of the states and a feature
    ring of N frames instead of the window's. Flash stays the whole-window model's (the step model adds
    only the time buffers' two ops and a few tensors: an estimate within the model-bytes rule's error)."""
    from .estimate import planned_arena
    n = step_frames(arch, config, decision_ms)
    g, states = step_graph(arch, config.shape, num_classes, n)
    cost = step_cost(g.layers, states, target)
    cpi, _ = kernels.cycles_per_instr(target.core, kernels.library_for(target))
    step_ms = cost.instructions * cpi / (target.clock_mhz * 1e3)
    invoke_ms = step_ms * est["frames_per_decision"] / n
    arena = planned_arena(g)
    ram_terms = streaming_ram_terms(est["ram_terms"], arena, cost.state_bytes, n, config)
    return {**est, "invoke_ms": invoke_ms, "latency_ms": est["latency_ms"] - est["invoke_ms"] + invoke_ms,
            "ram_terms": ram_terms, "ram_bytes": sum(ram_terms.values()), "arena_bytes": arena,
            "fits": sum(ram_terms.values()) <= target.sram_bytes and est["flash_bytes"] <= target.flash_bytes,
            "streaming": {"frames_per_step": n, "step_ms": step_ms, "state_bytes": cost.state_bytes,
                          "whole_invoke_ms": est["invoke_ms"], "whole_ram_bytes": est["ram_bytes"]}}
