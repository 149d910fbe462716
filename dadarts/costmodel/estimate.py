"""Latency, RAM and flash of a network on a board, from its layers: the one estimate the search's
budget, `dadarts mcu-eval` and the train/export budget checks share.

latency per decision = one Invoke + the front-end for the frames that arrive between two decisions
(DEFAULT_DECISION_MS apart unless the search or the user says otherwise); RAM and flash are the firmware's, term by term
(dadarts.costmodel.memory). For a network that is not exported yet (a NetGraph from
costmodel.network) the arena is planned as TFLM plans it and the model size is estimated; for an
exported model mcu-eval passes the measured arena and the real file size.
"""
from __future__ import annotations

import math

from ..frontend.spec import SAMPLE_RATE, MfccConfig
from . import kernels, memory
from .frontend_cost import frontend_instructions_per_frame
from .layer import Layer
from .targets import Target


# The decision period when nothing else names one: the search's budget (`--decision-ms`), mcu-eval's
# latency per decision and the exported recogniser's model stride (export.recognizer_settings) all take
# it, so a baseline is priced, and run on the board, at the rate a searched network is budgeted for.
DEFAULT_DECISION_MS = 100.0


def frames_per_decision(config: MfccConfig, decision_ms: float | None) -> int:
    """New front-end frames between two decisions when deciding every `decision_ms` (at least one; one
    when no period is given: a decision per hop)."""
    if not decision_ms:
        return 1
    return max(1, math.floor(decision_ms / (config.hop / SAMPLE_RATE * 1e3) + 1e-9))


def frontend_ms_per_frame(config: MfccConfig, target: Target, fe_instructions: float) -> float:
    return fe_instructions * kernels.plain_c_cycles_per_instr(target.core) / (target.clock_mhz * 1e3)


def estimate_layers_on(layers: list[Layer], model_bytes: int, arena_bytes: int, config: MfccConfig | None,
                       target: Target, decision_ms: float | None = None, fe_instructions: float | None = None,
                       costed: list[kernels.LayerCost] | None = None) -> dict:
    """latency_ms (per decision), ram_bytes, flash_bytes, fits and their parts for one target. Without a
    configuration (a model whose front-end is unknown) there is no front-end: latency = one Invoke.
    `costed`: kernels.estimate_layers(layers, target), when the caller has it already."""
    library = kernels.library_for(target)
    if fe_instructions is None:
        fe_instructions = frontend_instructions_per_frame(config)["instructions"] if config else 0.0
    if costed is None:
        costed = kernels.estimate_layers(layers, target)
    inv = sum(c.cycles for c in costed) / (target.clock_mhz * 1e3)
    fe = frontend_ms_per_frame(config, target, fe_instructions)
    frames = frames_per_decision(config, decision_ms) if config else 0
    op_names = list(dict.fromkeys(layer.op for layer in layers))
    flash = memory.flash_terms(model_bytes, op_names, config, library, target.core)
    ram = memory.ram_terms(arena_bytes, layers, config, library)
    flash_bytes, ram_bytes = sum(flash.values()), sum(ram.values())
    return {"latency_ms": inv + frames * fe, "invoke_ms": inv, "frontend_ms_per_frame": fe,
            "frames_per_decision": frames, "ram_bytes": ram_bytes, "flash_bytes": flash_bytes,
            "arena_bytes": int(arena_bytes), "model_bytes": int(model_bytes),
            "fits": ram_bytes <= target.sram_bytes and flash_bytes <= target.flash_bytes,
            "flash_terms": flash, "ram_terms": ram, "target": target.name, "library": library}


def planned_arena(graph) -> int:
    """TFLM's arena for a costmodel.network.NetGraph: the greedy plan of its tensors plus the persistent tail."""
    counts = memory.graph_counts(graph.layers, len(graph.inputs) + len(graph.ops))
    return memory.greedy_plan(memory.tensor_lifetimes(graph)) + memory.arena_tail_bytes(counts)


def estimate_netgraph(graph, config: MfccConfig, target: Target, decision_ms: float | None = None,
                      fe_instructions: float | None = None) -> dict:
    """The estimate of a costmodel.network.NetGraph (arena planned, model bytes estimated)."""
    counts = memory.graph_counts(graph.layers, len(graph.inputs) + len(graph.ops))
    out = estimate_layers_on(graph.layers, memory.model_bytes_estimate(counts), planned_arena(graph), config, target,
                             decision_ms, fe_instructions)
    out["macs"] = graph.total_macs
    return out
