"""Estimates without an exported model: a searched network from its genotype, for the search to use.

`estimate_from_genotype(genotype, config, num_classes, channels, layers, target)` writes the network
down as the int8 graph its export will be (dadarts.costmodel.network, no PyTorch) and applies the
same cost model and memory terms as `dadarts mcu-eval`; the arena is planned as TFLM plans it and
the model size is estimated (dadarts.costmodel.estimate). The search's budget uses the same
functions, so a discretised genotype costs there exactly what this returns.
"""
from __future__ import annotations

from ..costmodel.estimate import estimate_netgraph
from ..costmodel.frontend_cost import frontend_instructions_per_frame
from ..costmodel.network import searched_graph
from ..costmodel.targets import Target, get_target
from ..frontend.spec import SAMPLE_RATE, MfccConfig


def estimate_from_genotype(genotype: dict, config: MfccConfig | str, num_classes: int, channels: int,
                           layers: int, target: Target | str, firmware_results=None, space: str | None = None,
                           decision_ms: float | None = None) -> dict:
    """Latency/RAM/flash of the searched network `genotype` on `target`, before training or export.

    genotype: the dict of search/result.json; config: the MFCC configuration (the network runs on its
    native (T, F) shape); channels/layers/space as for build_model("searched", ...). Returns at least
    latency_ms (one decision: the front-end frames of one decision period + one Invoke), ram_bytes,
    flash_bytes and fits.
    """
    from ..search.genotypes import from_dict, to_dict
    from ..search.space import space_of_genotype
    config = MfccConfig.parse(config) if isinstance(config, str) else config
    target = get_target(target) if isinstance(target, str) else target
    g = from_dict(genotype)
    space = space or space_of_genotype(g).name
    graph = searched_graph(space, to_dict(g), config.shape, num_classes, channels, layers)
    fe = frontend_instructions_per_frame(config, firmware_results)
    est = estimate_netgraph(graph, config, target, decision_ms, fe["instructions"])
    est["duty_cycle_every_hop"] = (est["invoke_ms"] + est["frontend_ms_per_frame"]) / (config.hop / SAMPLE_RATE * 1e3)
    est["frontend_source"] = fe["source"]
    return est
