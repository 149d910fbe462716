"""The cost model counts what the export produces: a searched network written down by
dadarts.costmodel.network has the exported int8 graph's layers, and its planned arena the arena
TFLite Micro measures (one real export per space; slow)."""
import collections

import pytest

from dadarts.costmodel import memory
from dadarts.costmodel.arena import measure_arena
from dadarts.costmodel.graph import parse_tflite
from dadarts.costmodel.network import searched_graph
from dadarts.frontend.spec import MfccConfig
from dadarts.search.genotypes import Genotype

pytestmark = pytest.mark.slow

MCU = Genotype(
    normal=[("ds_conv_3x3", 0), ("skip_connect", 1), ("max_pool_3x3", 0), ("conv_1x1", 2), ("avg_pool_3x3", 1),
            ("ds_conv_5x5", 3)], normal_concat=[2, 3, 4],
    reduce=[("ds_conv_3x3_x2", 0), ("max_pool_3x3", 1), ("avg_pool_3x3", 0), ("skip_connect", 1),
            ("ds_conv_5x5", 1), ("conv_1x1", 0)], reduce_concat=[2, 3, 4])


def _key(layer):
    return (layer.op, tuple(layer.input_shape), tuple(layer.output_shape), layer.macs, tuple(layer.kernel),
            tuple(layer.stride), layer.weight_bytes)


@pytest.mark.parametrize("config", ["400/200/40/20", "640/320/40/10"])
def test_mcu_network_is_the_exported_graph_and_its_arena(tmp_path, config):
    from test_export_convert import convert
    from dadarts.search import genotypes as G
    report, run = convert(MCU, config, tmp_path / "run", samples=12, space="mcu")
    blob = run.tflite_int8.read_bytes()
    real = parse_tflite(blob)
    ours = searched_graph("mcu", G.to_dict(MCU), MfccConfig.parse(config).shape, 4, 4, 3)
    # Every layer but the concat requantisations is the export's, shape for shape; of those, the cost
    # model counts one per node a later node reads (an upper bound: the node whose range is the
    # concat's needs none, so at most one per cell fewer are exported).
    quantize = lambda layers: [_key(x) for x in layers if x.op == "QUANTIZE"]   # noqa: E731
    others = lambda layers: collections.Counter(_key(x) for x in layers if x.op != "QUANTIZE")   # noqa: E731
    assert others(real.layers) == others(ours.layers)
    assert not collections.Counter(quantize(real.layers)) - collections.Counter(quantize(ours.layers))
    assert len(quantize(ours.layers)) - len(quantize(real.layers)) <= len(ours.cells)
    measured = measure_arena(blob)
    planned = memory.greedy_plan(memory.tensor_lifetimes(ours))
    tail = memory.arena_tail_bytes(memory.graph_counts(ours.layers, len(ours.inputs) + len(ours.ops)))
    # The planner runs on PyTorch's op order and counts a QUANTIZE the export may not need, so it may
    # over-estimate (the safe side); it must not under-estimate by more than a few per cent.
    assert 0.95 * measured.head_bytes <= planned <= 1.15 * measured.head_bytes
    assert 0.95 * measured.total_bytes <= planned + tail <= 1.15 * measured.total_bytes
    counts = memory.graph_counts(ours.layers, len(ours.inputs) + len(ours.ops))
    assert memory.model_bytes_estimate(counts) == pytest.approx(len(blob), rel=0.08)


CHAIN = {"stem": "conv_10x4_s2x1", "stem_channels": 24, "blocks": [
    {"op": "dw_3x3_d2", "channels": 32, "stride": 2}, {"op": "dw_5x5", "channels": 32, "stride": 1}, {"op": "skip"},
    {"op": "dw_3x3", "channels": 48, "stride": 2}, {"op": "dw_3x3_d2", "channels": 48, "stride": 1}, {"op": "skip"}]}


# The network the README's main job searched (640/160/40/10: its stride-2 block sees a map with odd sides).
CHAIN_DEMO = {"stem": "conv_5x5_s2x2", "stem_channels": 64, "blocks": [
    {"op": "dw_3x3_d2", "channels": 16, "stride": 1}, {"op": "skip"}, {"op": "skip"},
    {"op": "dw_3x3", "channels": 64, "stride": 2}, {"op": "dw_3x3", "channels": 32, "stride": 1}, {"op": "skip"}]}


@pytest.mark.parametrize("arch,config", [(CHAIN, "640/320/40/20"), (CHAIN_DEMO, "640/160/40/10")])
def test_chain_network_is_the_exported_graph_and_its_arena(tmp_path, arch, config):
    # A strided dilated depthwise (made dense), strided 3x3 and 5x5 on even sides (PAD + 'valid') and on
    # odd sides (SAME, no PAD), a dilated one at stride 1.
    import numpy as np
    import torch
    from test_export_convert import LABELS, randomize_bn
    from dadarts.costmodel.chain import chain_graph
    from dadarts.export.pipeline import ExportInputs, ExportOptions, export_model
    from dadarts.rundir import RunDir
    from dadarts.search.chain import ChainNetwork
    shape = MfccConfig.parse(config).shape
    torch.manual_seed(0)
    net = randomize_bn(ChainNetwork(arch, shape, len(LABELS)))
    rng = np.random.default_rng(0)
    inputs = ExportInputs(model=net, labels=LABELS, config=config, x_test=rng.standard_normal((12, *shape)).astype(np.float32),
                          y_test=rng.integers(0, 4, 12), x_calibration=rng.standard_normal((24, *shape)).astype(np.float32),
                          run_name="tiny", source="tests")
    run = RunDir.of(tmp_path / "run")
    export_model(inputs, run, ExportOptions(int8=True, calibration_samples=12, tflm_samples=8), log=lambda *_: None)
    blob = run.tflite_int8.read_bytes()
    real = parse_tflite(blob)
    ours = chain_graph(arch, shape, len(LABELS))
    assert [_key(x) for x in real.layers] == [_key(x) for x in ours.layers]
    measured = measure_arena(blob)
    planned = memory.greedy_plan(memory.tensor_lifetimes(ours))
    assert 0.95 * measured.head_bytes <= planned <= 1.15 * measured.head_bytes
    counts = memory.graph_counts(ours.layers, len(ours.inputs) + len(ours.ops))
    # The flatbuffer overhead is a fit over cell networks: on the demo's chain it is 9 % low (2.2 KB of
    # 150 KB flash).
    assert memory.model_bytes_estimate(counts) == pytest.approx(len(blob), rel=0.10)
