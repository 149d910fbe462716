"""Re-check the search's budget on the exported int8 graph: the real layers, the measured arena and
the real file size, priced by the same cost model the search used (dadarts.costmodel)."""
from __future__ import annotations

from ..costmodel.estimate import estimate_layers_on
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
    graph = parse_tflite(model)
    est = estimate_layers_on(graph.layers, len(model), arena_bytes, config, get_target(result["target"]),
                             result.get("decision_ms"))
    return budget_check(estimate_costs(est), result["target"], result.get("budget"))
