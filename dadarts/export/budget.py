"""Re-check the search's budget on the exported int8 graph: the real layers, the measured arena and
the real file size, priced by the same cost model the search used (dadarts.costmodel); for a streaming
search, the streaming cost of the network it derived."""
from __future__ import annotations

from ..costmodel.chain import streams
from ..costmodel.estimate import estimate_layers_on
from ..costmodel.stream import streaming_estimate
from ..costmodel.graph import parse_tflite
from ..costmodel.targets import get_target
from ..frontend.spec import MfccConfig
from ..rundir import RunDir, read_json


def export_budget_check(run: RunDir, model: bytes, arena_bytes: int, config: MfccConfig) -> dict | None:
    """The budget_check of export/report.json, or None when the run's search had no target."""
    from ..search.cost import budget_check, estimate_costs
    if not run.search_result.is_file():
        return None
    result = read_json(run.search_result, "search_result")
    if not result.get("target"):
        return None
    graph, target = parse_tflite(model), get_target(result["target"])
    est = estimate_layers_on(graph.layers, len(model), arena_bytes, config, target, result.get("decision_ms"))
    return budget_check(estimate_costs(deployed(est, result, config)), result["target"], result.get("budget"))


def deployed(est: dict, result: dict, config: MfccConfig) -> dict:
    """The whole-window estimate `est` as the search's budget means it: for a streaming search
    (`--streaming`, a chain network valid or causal in time) the streaming deployment's (the step model's Invokes
    per decision period, its arena and the states' staging copy), as the search priced it."""
    arch = result.get("genotype") if result.get("space") == "chain" else None
    if not arch or not streams(arch):
        return est
    return streaming_estimate(est, arch, config, len(result["labels"]), get_target(result["target"]),
                              result.get("decision_ms"))
