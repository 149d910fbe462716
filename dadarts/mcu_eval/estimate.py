"""Combine graph, arena, front-end and cost model into per-target estimates (the mcu/estimates.json body).

Per target: latency of one Invoke, the front-end's cost per frame, the latency of one streaming
decision (one Invoke + the frames that arrive between two decisions, as the search's budget counts
them, costmodel.estimate.frames_per_decision; the command passes the run's period, 100 ms by default), the
duty cycle at that rate and when deciding at every hop, the smallest number of hops between decisions
that keeps the core below 100 %, flash and RAM term by term, the share of the Invoke spent in
structural glue (dadarts.costmodel.glue), and a verdict with its margin. Agreed keys for other stages: targets[name]["latency_ms"], ["fits"],
["ram_bytes"], ["flash_bytes"]. For a model whose MFCC front-end is unknown (a .tflite from another
tool, config None) only the model is counted: latency = one Invoke, no front-end terms.

`streaming_target` adds, for a run exported with --streaming, the step model's cost per decision
(dadarts.costmodel.stream: step Invoke + state copies, one decision per N new frames) next to the
whole-window model deciding at the same rate.
"""
from __future__ import annotations

import math

from ..frontend.spec import SAMPLE_RATE, MfccConfig
from ..costmodel import kernels as cost_model
from ..costmodel.estimate import estimate_layers_on
from ..costmodel.frontend_cost import frontend_instructions_per_frame
from ..costmodel.glue import is_glue
from ..costmodel.graph import Graph
from ..costmodel.targets import Target


def estimate_target(graph: Graph, arena_bytes: int, config: MfccConfig | None, target: Target,
                    frontend_instr: dict, decision_ms: float | None = None) -> dict:
    layers = cost_model.estimate_layers(graph.layers, target)
    glue = is_glue(graph.layers)
    # Latency per decision, flash and RAM as the search's budget and the train/export checks price them.
    base = estimate_layers_on(graph.layers, graph.model_bytes, arena_bytes, config, target, decision_ms,
                              frontend_instr["instructions"], costed=layers)
    library = base["library"]
    cpi, provenance = cost_model.cycles_per_instr(target.core, library)
    invoke_ms, fe_ms, latency_ms = base["invoke_ms"], base["frontend_ms_per_frame"], base["latency_ms"]
    hop_ms = config.hop / SAMPLE_RATE * 1e3 if config else None
    fe_share = fe_ms / hop_ms if hop_ms else None
    # Decide every k hops: the front-end must still run every hop, the model once per k hops.
    min_hops = math.ceil(invoke_ms / (hop_ms * (1.0 - fe_share))) if hop_ms and fe_share < 1.0 else None
    flash, ram = base["flash_terms"], base["ram_terms"]
    flash_bytes, ram_bytes = base["flash_bytes"], base["ram_bytes"]
    return {
        "target": target.to_dict(),
        "library": library,
        "library_label": cost_model.LIBRARY_LABELS[library],
        "cycles_per_instruction": round(cpi, 4),
        "cost_model": provenance,
        "invoke_instructions": round(sum(layer.instructions for layer in layers)),
        "invoke_cycles": round(sum(layer.cycles for layer in layers)),
        "invoke_ms": invoke_ms,
        "frontend_ms_per_frame": fe_ms,
        "frontend_ms_per_clip": fe_ms * config.n_frames if config else 0.0,
        "latency_ms": latency_ms,
        "decision_ms": decision_ms if config else None,
        "frames_per_decision": base["frames_per_decision"],
        "duty_cycle": latency_ms / decision_ms if config and decision_ms else None,
        "first_decision_ms": invoke_ms + fe_ms * config.n_frames if config else invoke_ms,
        "hop_ms": hop_ms,
        "duty_cycle_every_hop": (invoke_ms + fe_ms) / hop_ms if hop_ms else None,
        "realtime_every_hop": invoke_ms + fe_ms <= hop_ms if hop_ms else None,
        "min_hops_between_decisions": max(min_hops, 1) if min_hops is not None else None,
        "flash_terms": flash,
        "flash_bytes": flash_bytes,
        "flash_capacity_bytes": target.flash_bytes,
        "flash_margin_bytes": target.flash_bytes - flash_bytes,
        "ram_terms": ram,
        "ram_bytes": ram_bytes,
        "ram_capacity_bytes": target.sram_bytes,
        "ram_margin_bytes": target.sram_bytes - ram_bytes,
        "fits": base["fits"],
        "unmodelled_ops": sorted({layer.op for layer in layers if not layer.modelled}),
        "glue_share": sum(c.cycles for c, g in zip(layers, glue) if g) / max(sum(c.cycles for c in layers), 1e-9),
        "layers": [{**layer.to_dict(), "glue": g} for layer, g in zip(layers, glue)],
    }


def streaming_target(step_graph: Graph, state_bytes: list[int], frames_per_step: int, step_arena_bytes: int,
                     whole: dict, target: Target, config: MfccConfig | None = None) -> dict:
    """targets[name]["streaming"]: the step model on `target` against `whole` (estimate_target's entry of the
    whole-window model) at one decision per step."""
    from ..costmodel.stream import step_cost, streaming_ram_terms
    cost = step_cost(step_graph.layers, state_bytes, target)
    ms = lambda instructions: instructions * whole["cycles_per_instruction"] / (target.clock_mhz * 1e3)  # noqa: E731
    decision_ms = frames_per_step * whole["hop_ms"]
    frontend_ms = frames_per_step * whole["frontend_ms_per_frame"]
    step_ms = ms(cost.instructions)
    whole_ms = whole["invoke_ms"] + frontend_ms
    return {"frames_per_step": frames_per_step, "decision_ms": decision_ms, **cost.to_dict(),
            "step_ms": step_ms, "latency_ms": step_ms + frontend_ms, "duty_cycle": (step_ms + frontend_ms) / decision_ms,
            "whole_latency_ms": whole_ms, "whole_duty_cycle": whole_ms / decision_ms,
            "step_over_whole": step_ms / whole["invoke_ms"], "arena_bytes": int(step_arena_bytes),
            "ram_bytes": sum(streaming_ram_terms(whole["ram_terms"], step_arena_bytes, cost.state_bytes,
                                                 frames_per_step, config).values())
            if "tflm_arena" in whole["ram_terms"] else None}


NO_FRONTEND = {"instructions": 0.0, "source": "not counted: the model's MFCC front-end is unknown (give --mfcc)"}


def estimate(graph: Graph, arena_bytes: int, config: MfccConfig | None, targets: list[Target],
             firmware_results=None, run_json=None, decision_ms: float | None = None) -> dict:
    """The estimates for every target (the body of mcu/estimates.json without provenance)."""
    fe = frontend_instructions_per_frame(config, firmware_results, run_json) if config else NO_FRONTEND
    return {
        "config": config.name if config else None,
        "model": {"model_bytes": graph.model_bytes, "input_shape": graph.input_shape,
                  "input_dtype": graph.input_dtype, "ops": graph.op_names, "total_macs": graph.total_macs,
                  "arena_bytes": int(arena_bytes)},
        "frontend": {"instructions_per_frame": fe["instructions"], "source": fe["source"],
                     "frames_per_clip": config.n_frames if config else None, "hop_samples": config.hop if config else None},
        "decision_ms": decision_ms if config else None,
        "targets": {t.name: estimate_target(graph, arena_bytes, config, t, fe, decision_ms) for t in targets},
    }
