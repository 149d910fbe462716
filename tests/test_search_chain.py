"""The chain search space: its priced expectation equals the cost model's estimate of the derived
network, every choice gets a gradient, the budget multiplier works, and search -> train keeps the budget."""
import argparse
import json
import random

import pytest
import torch

from dadarts.cli import main
from dadarts.costmodel import chain as space
from dadarts.costmodel.chain import chain_graph
from dadarts.costmodel.estimate import estimate_netgraph
from dadarts.costmodel.targets import get_target
from dadarts.errors import UserError
from dadarts.frontend.spec import MfccConfig
from dadarts.rundir import RunDir, write_json_atomic
from dadarts.search.chain import ChainNetwork, ChainSupernet, derive, tap_masks
from dadarts.search.chain_cost import ChainCost, Lagrangian
from dadarts.search.cost import Budget
from dadarts.train.models import build_model

TARGET = get_target("NUCLEO-F446RE")
CONFIGS = [MfccConfig.parse(n) for n in ("400/200/40/10", "640/320/40")]


@pytest.fixture(scope="module")
def cost():
    return ChainCost(CONFIGS, 12, TARGET, 100.0)


random_arch = space.sample


def one_hot_alphas(arch: dict, stems: tuple[str, ...] = space.SEARCH_STEMS,
                   widths: tuple[int, ...] = space.WIDTHS) -> list[torch.Tensor]:
    def hot(n, i):
        a = torch.full((n,), -40.0, dtype=torch.float64)
        a[i] = 40.0
        return a
    blocks = arch["blocks"]
    return [hot(len(stems), stems.index(arch["stem"])),
            hot(len(widths), widths.index(arch["stem_channels"])),
            torch.stack([hot(len(space.KERNELS), list(space.KERNELS).index(b["op"])) for b in blocks]),
            torch.stack([hot(len(widths), widths.index(b.get("channels", widths[0]))) for b in blocks]),
            torch.stack([hot(len(space.STRIDES), space.STRIDES.index(b.get("stride", 1))) for b in blocks])]


def test_expected_cost_at_a_discrete_point_is_the_estimate_of_that_network(cost):
    rng = random.Random(0)
    for arch in [space.DS_CNN_S_LIKE] + [random_arch(rng) for _ in range(12)]:
        assert derive(*one_hot_alphas(arch)) == {**arch, "blocks": [b if b["op"] != "skip" else {"op": "skip"}
                                                                    for b in arch["blocks"]]}
        cost.refresh(arch)
        got = cost.expected(*one_hot_alphas(arch), None, per_config=True)
        for d, config in enumerate(CONFIGS):
            est = estimate_netgraph(chain_graph(arch, config.shape, 12), config, TARGET, 100.0)
            assert float(got["latency_ms"][d]) == pytest.approx(est["latency_ms"], rel=1e-9)
            assert float(got["flash_kb"][d]) == pytest.approx(est["flash_bytes"] / 1024, rel=1e-9)
            assert float(got["ram_kb"][d]) == pytest.approx(est["ram_bytes"] / 1024, rel=1e-9)


def test_every_hop_search_prices_the_stems_striding_1_over_time():
    """search --streaming --every-hop: the tables cover every stem, and at a time-stride-1 network the
    expectation is its streaming cost (the step of the frames nearest 100 ms) like any other."""
    from dadarts.search.chain_cost import chain_estimate
    stems = tuple(space.STEMS)
    cost = ChainCost(CONFIGS[:1], 12, TARGET, 100.0, streaming=True, stems=stems)
    arch = {**space.DS_CNN_S_LIKE, "stem": "conv_10x4_s1x2", "time_padding": "valid"}
    assert space.time_stride(arch) == 1
    cost.refresh(arch)
    got = cost.expected(*one_hot_alphas(arch, stems), None, per_config=True)
    est = chain_estimate(arch, CONFIGS[0], 12, TARGET, 100.0)
    assert est["streaming"]["frames_per_step"] == 8                         # 100 ms of 12.5 ms hops
    assert float(got["latency_ms"][0]) == pytest.approx(est["latency_ms"], rel=1e-9)
    assert float(got["ram_kb"][0]) == pytest.approx(est["ram_bytes"] / 1024, rel=1e-9)
    assert derive(*one_hot_alphas(arch, stems), stems=stems)["stem"] == "conv_10x4_s1x2"


@pytest.mark.parametrize("padding", ["valid", "causal"])
def test_streaming_budget_at_a_discrete_point_is_the_streaming_cost_of_that_network(padding):
    """search --streaming [--time-padding causal]: the expected latency is the derived network's streaming cost
    per decision (its step model's Invokes, dadarts.costmodel.stream), a fraction of its whole-window Invoke;
    the expected RAM is the step model's (its arena, the states' staging copy, a ring of N frames); flash stays."""
    from dadarts.costmodel.stream import streaming_estimate
    from dadarts.search.chain_cost import chain_estimate
    streaming = ChainCost(CONFIGS, 12, TARGET, 100.0, streaming=True)
    rng, checked = random.Random(5), 0
    for arch in [space.DS_CNN_S_LIKE] + [random_arch(rng) for _ in range(12)]:
        valid = {**arch, "time_padding": padding}
        if any(space.time_map(valid, c.shape[0]) < 1 for c in CONFIGS):
            continue
        streaming.refresh(valid)
        got = streaming.expected(*one_hot_alphas(arch), None, per_config=True)
        for d, config in enumerate(CONFIGS):
            whole = estimate_netgraph(chain_graph(valid, config.shape, 12), config, TARGET, 100.0)
            est = streaming_estimate(whole, valid, config, 12, TARGET, 100.0)
            assert est == chain_estimate(valid, config, 12, TARGET, 100.0)
            assert float(got["latency_ms"][d]) == pytest.approx(est["latency_ms"], rel=1e-9)
            assert est["invoke_ms"] < 0.6 * whole["invoke_ms"]
            assert float(got["ram_kb"][d]) == pytest.approx(est["ram_bytes"] / 1024, rel=1e-9)
            assert est["ram_terms"]["state_staging"] == est["streaming"]["state_bytes"] > 0
            if 2 * est["streaming"]["frames_per_step"] <= config.shape[0]:      # a step of under half the window
                assert est["ram_terms"]["tflm_arena"] < whole["ram_terms"]["tflm_arena"]
        checked += 1
    assert checked >= 3


def test_every_choice_gets_a_gradient_from_latency_ram_and_flash(cost):
    torch.manual_seed(0)
    alphas = [torch.randn(a.shape, dtype=torch.float64, requires_grad=True)
              for a in one_hot_alphas(space.DS_CNN_S_LIKE)]
    gamma = torch.softmax(torch.randn(len(CONFIGS), dtype=torch.float64, requires_grad=True), 0)
    expected = cost.expected(*alphas, gamma)
    for quantity in ("latency_ms", "ram_kb", "flash_kb"):
        grads = torch.autograd.grad(expected[quantity], alphas, retain_graph=True)
        for name, g in zip(("stem", "stem width", "kernel", "width", "stride"), grads):
            if quantity == "flash_kb" and name == "stride":
                continue    # a stride changes no weight; only its PAD's few bytes
            assert g.abs().sum() > 0, f"{quantity} has no gradient for the {name} choice"


def test_derived_pricing_is_the_argmax_network_in_value_and_prices_each_switch_in_gradient(cost):
    """search --price derived: away from any discrete point (random logits), the priced value is the estimate
    of the argmax network, not the mixture's; the gradient of a logit is the softmax's Jacobian times the cost
    of switching that one choice, other choices held at their argmax."""
    from dadarts.costmodel.chain import validate
    torch.manual_seed(3)
    alphas = [torch.randn(a.shape, dtype=torch.float64, requires_grad=True)
              for a in one_hot_alphas(space.DS_CNN_S_LIKE)]
    gamma = torch.tensor([0.3, 0.7], dtype=torch.float64)
    arch = derive(*alphas)
    cost.refresh(arch)
    config = CONFIGS[1]                                      # gamma's argmax
    est = estimate_netgraph(chain_graph(validate(arch, config.shape), config.shape, 12), config, TARGET, 100.0)
    hard = cost.expected(*alphas, gamma, hard=True)
    soft = cost.expected(*alphas, gamma)
    assert float(hard["latency_ms"].detach()) == pytest.approx(est["latency_ms"], rel=1e-9)
    assert float(hard["ram_kb"].detach()) == pytest.approx(est["ram_bytes"] / 1024, rel=1e-9)
    assert abs(float(soft["latency_ms"].detach()) - est["latency_ms"]) > 1.0    # the mixture is another number
    # d/dalpha_j = p_j (c_j - sum_k p_k c_k), c_j the derived network with the stem width switched to j
    (g,) = torch.autograd.grad(hard["latency_ms"], [alphas[1]])
    p = torch.softmax(alphas[1].detach(), -1)
    c = torch.tensor([estimate_netgraph(chain_graph({**arch, "stem_channels": w}, config.shape, 12), config, TARGET,
                                        100.0)["latency_ms"] for w in space.WIDTHS], dtype=torch.float64)
    assert torch.allclose(g, p * (c - (p * c).sum()), rtol=1e-6, atol=1e-9)


def test_wider_width_choices_price_and_derive_networks_past_ds_cnn_s():
    """search --widths 16,64,172: the tables, the supernet and derive() take the given widths, so a DS-CNN-M-wide
    network (172 channels) is priced exactly like any other and derived from one-hot logits."""
    widths = (16, 64, 172)
    wide = ChainCost(CONFIGS[:1], 12, TARGET, 100.0, widths=widths)
    arch = {"stem": "conv_10x4_s2x1", "stem_channels": 172,
            "blocks": [{"op": "dw_3x3", "channels": 172, "stride": 2}] + [{"op": "dw_3x3", "channels": 64, "stride": 1}] * 3
            + [{"op": "skip"}] * 2}
    wide.refresh(arch)
    got = wide.expected(*one_hot_alphas(arch, widths=widths), None, per_config=True)
    est = estimate_netgraph(chain_graph(arch, CONFIGS[0].shape, 12), CONFIGS[0], TARGET, 100.0)
    assert float(got["latency_ms"][0]) == pytest.approx(est["latency_ms"], rel=1e-9)
    assert float(got["ram_kb"][0]) == pytest.approx(est["ram_bytes"] / 1024, rel=1e-9)
    assert derive(*one_hot_alphas(arch, widths=widths), widths=widths) == arch
    net = ChainSupernet(12, 1, CONFIGS[0].shape, widths=widths)
    assert net.classifier.in_features == 172 and net.alpha_width.shape[1] == 3
    assert net(torch.zeros(2, 1, *CONFIGS[0].shape)).shape == (2, 12)


def test_derived_network_is_the_graph_the_cost_model_prices():
    arch = random_arch(random.Random(3))
    shape = CONFIGS[0].shape
    net = build_model("chain", shape, 12, arch=arch).eval()
    macs = []
    hooks = [m.register_forward_hook(lambda m, i, o: macs.append(o[0].numel() * m.weight[0].numel()))
             for m in net.modules() if isinstance(m, torch.nn.Conv2d)]
    with torch.no_grad():
        assert net(torch.randn(1, 1, *shape)).shape == (1, 12)
    for h in hooks:
        h.remove()
    graph = chain_graph(arch, shape, 12)
    convs = [layer for layer in graph.layers if layer.op in ("CONV_2D", "DEPTHWISE_CONV_2D")]
    dense = [layer.macs for layer in convs]
    # A strided dilated depthwise is exported dense: its MACs count the zero taps too.
    assert sum(macs) <= sum(dense) and len(macs) == len(convs)
    assert "ADD" not in graph.op_names and "CONCATENATION" not in graph.op_names


def test_supernet_masks_match_the_candidates_taps():
    masks = tap_masks()
    assert [int(m.sum()) for m in masks] == [9, 25, 9]
    net = ChainSupernet(12, 4, (49, 10))
    y = net(torch.randn(3, 4, 49, 10))
    assert y.shape == (3, 12)
    assert set(derive(*net.arch_parameters())) == {"stem", "stem_channels", "blocks"}


def test_lagrangian_multiplier_rises_while_violated_and_falls_back_inside():
    rule = Lagrangian(Budget(latency_ms=100.0), rho=2.0, step=1.0)
    over = {"latency_ms": torch.tensor(150.0)}
    for _ in range(3):
        rule.update(over)
    assert rule.lam["latency_ms"] == pytest.approx(1.5) and rule.violated_steps == 3
    assert float(rule.loss(over, 0)) > 0
    inside = {"latency_ms": torch.tensor(90.0)}
    rule.update(inside, derived={"latency_ms": 120.0})       # the argmax is still over: λ keeps rising
    assert rule.lam["latency_ms"] == pytest.approx(1.7)
    for _ in range(40):
        rule.update(inside, derived={"latency_ms": 95.0})
    assert rule.lam["latency_ms"] == 0.0 and float(rule.loss(inside, 0)) == 0.0
    floor = Lagrangian(Budget(latency_ms=100.0), rho=2.0, latency_floor=0.85)
    assert float(floor.loss({"latency_ms": torch.tensor(90.0)}, 0)) == 0.0     # inside [85, 100]: free
    assert float(floor.loss({"latency_ms": torch.tensor(50.0)}, 0)) > 0.0      # half the budget unused: a cost


TINY = ["--epochs", "3", "--warmup-epochs", "1", "--batch-size", "16", "--data-space", "640/320/40/10,400/200/40/20",
        "--device", "cpu", "--quiet", "--target", "NUCLEO-F446RE"]


@pytest.mark.slow
def test_chain_search_keeps_its_budget_and_train_checks_it(tiny_corpus, tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["search", "--data", str(tiny_corpus), "--run", str(run), "--space", "chain", *TINY,
                 "--max-latency-ms", "40"]) == 0
    out = capsys.readouterr().out
    assert "network to train: chain space" in out
    result = json.loads((run / "search" / "result.json").read_text())
    assert result["space"] == "chain" and result["predicted"]["fits"]
    config = MfccConfig.parse(result["config"])
    est = estimate_netgraph(chain_graph(result["genotype"], config.shape, 12), config, TARGET, 100.0)
    assert result["predicted"]["latency_ms"] == pytest.approx(est["latency_ms"], abs=1e-3)
    assert result["predicted"]["latency_ms"] <= 40
    with open(run / "search" / "history.csv") as f:
        rows = f.read().splitlines()
    header = rows[0].split(",")
    assert {"lambda_latency_ms", "violated_steps", "derived_latency_ms"} <= set(header)
    violated = [int(r.split(",")[header.index("violated_steps")]) for r in rows[1:]]
    assert sum(violated) > 0, "the budget never bound: the penalty was never active"

    # The same network over a tighter budget: train refuses it unless told otherwise.
    result["budget"]["latency_ms"] = result["predicted"]["latency_ms"] / 2
    write_json_atomic(RunDir.of(run).search_result, result, kind="search_result")
    from dadarts.train import command
    parser = argparse.ArgumentParser()
    command.add_arguments(parser)
    args = parser.parse_args([str(run), "--data", str(tiny_corpus), "--epochs", "1", "--quiet", "--no-augment"])
    args._argv = ["train"]
    with pytest.raises(UserError, match="over the search's budget"):
        command.run(args)


def test_chain_search_with_its_own_widths_derives_one_of_them(tiny_corpus, tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["search", "--data", str(tiny_corpus), "--run", str(run), "--space", "chain", *TINY,
                 "--widths", "8,12,20", "--max-latency-ms", "1000"]) == 0     # three epochs: fitting is not the point
    result = json.loads((run / "search" / "result.json").read_text())
    assert result["settings"]["widths"] == [8, 12, 20]
    arch = result["genotype"]
    assert {arch["stem_channels"]} | {b["channels"] for b in arch["blocks"] if b["op"] != "skip"} <= {8, 12, 20}
    capsys.readouterr()
    for bad in ("64,32", "16", "16,x"):
        assert main(["search", "--data", str(tiny_corpus), "--run", str(run), "--space", "chain", *TINY,
                     "--widths", bad]) == 2
        assert f"--widths {bad}:" in capsys.readouterr().err


def test_causal_streaming_search_derives_a_causal_network(tiny_corpus, tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["search", "--data", str(tiny_corpus), "--run", str(run), "--space", "chain", *TINY,
                 "--streaming", "--time-padding", "causal", "--widths", "8,12,20", "--max-latency-ms", "1000"]) == 0
    result = json.loads((run / "search" / "result.json").read_text())
    assert result["genotype"]["time_padding"] == "causal" and "streaming" in result["predicted"]
    capsys.readouterr()
    assert main(["search", "--data", str(tiny_corpus), "--run", str(run), "--space", "chain", *TINY,
                 "--time-padding", "causal"]) == 2
    assert "--time-padding says how a streaming search treats time: add --streaming" in capsys.readouterr().err


def test_within_budget_narrows_the_least_probable_choices_first():
    """The most probable network within the budget: the argmax when it fits; otherwise the near-tie narrowed
    first, the sure choices untouched."""
    from dadarts.search.chain import within_budget
    widths = (16, 64, 128, 172)
    arch = {"stem": "conv_10x4_s2x2", "stem_channels": 64,
            "blocks": [{"op": "dw_3x3", "channels": 172, "stride": 1}, {"op": "dw_5x5", "channels": 172, "stride": 1}]
            + [{"op": "skip"}] * 4}
    kernels = list(space.KERNELS)
    alpha_kernel = torch.zeros(6, len(kernels))
    alpha_kernel[0, kernels.index("dw_3x3")] = alpha_kernel[1, kernels.index("dw_5x5")] = 8.0   # blocks: sure
    alpha_width = torch.zeros(6, len(widths))
    alpha_width[0, 3] = 8.0                              # block 0: sure of 172
    alpha_width[1, 3], alpha_width[1, 2], alpha_width[1, 1] = 2.0, 1.9, 0.5   # block 1: 172 or 128, nearly a tie
    alphas = (torch.zeros(3), torch.tensor([0.0, 6.0, 0.0, 0.0]), alpha_kernel, alpha_width, torch.zeros(6, 2))

    def excess(a):                                       # a stand-in cost: channels, budget 330
        return max(0.0, (a["stem_channels"] + sum(b.get("channels", 0) for b in a["blocks"])) / 330 - 1)

    assert within_budget(arch, alphas, widths, lambda a: 0.0) == (arch, [])
    fitted, moves = within_budget(arch, alphas, widths, excess)
    assert moves == ["block 1: dw_5x5 x172 -> x64"] and excess(fitted) == 0.0     # (x128 is not enough)
    assert fitted["blocks"][0] == arch["blocks"][0]      # the sure choice untouched while the tie paid
    assert all(b["channels"] in widths for b in fitted["blocks"] if b["op"] != "skip")
    assert within_budget(arch, alphas, widths, lambda a: 1.0) == (arch, [])     # nothing lowers it: as it was


def test_within_budget_is_the_most_probable_fitting_network_of_all_it_can_reach():
    """The search against brute force: every network reachable by narrowing (stem and block widths at or
    below the argmax's, blocks kept or skipped), priced by a stand-in cost and scored by its choices'
    log-probabilities (a skipped block's width at its most probable, as within_budget counts it);
    within_budget's answer fits and no fitting one scores higher, for random α and budgets; with no pricing
    left to search (max_priced 1) the greedy fallback still fits."""
    import itertools
    from dadarts.search.chain import within_budget
    widths, kernels = (16, 32, 64, 128), list(space.KERNELS)
    rng = torch.Generator().manual_seed(0)
    for trial in range(12):
        alpha_kernel, alpha_width = torch.randn(3, len(kernels), generator=rng), torch.randn(3, len(widths), generator=rng)
        alpha_stem_width = torch.randn(len(widths), generator=rng)
        alpha_kernel[:, kernels.index("skip")] -= 1.0            # the argmax keeps most blocks
        alphas = (torch.zeros(3), alpha_stem_width, alpha_kernel, alpha_width, torch.zeros(3, 2))
        ops = [kernels[int(alpha_kernel[i].argmax())] for i in range(3)]
        arch = {"stem": "conv_10x4_s2x2", "stem_channels": widths[int(alpha_stem_width.argmax())],
                "blocks": [{"op": "skip"} if op == "skip" else
                           {"op": op, "channels": widths[int(alpha_width[i].argmax())], "stride": 1}
                           for i, op in enumerate(ops)]}
        weight = [1.0, 2.0, 0.5, 1.5][: 1 + len(arch["blocks"])]
        size = lambda a: weight[0] * a["stem_channels"] + sum(      # noqa: E731
            w * b.get("channels", 0) for w, b in zip(weight[1:], a["blocks"]))
        budget = size(arch) * [0.3, 0.6, 0.85, 0.97][trial % 4]
        excess = lambda a: max(0.0, size(a) / budget - 1)           # noqa: E731

        def log_p(a):
            lw = torch.log_softmax(alpha_width.double(), -1)
            total = float(torch.log_softmax(alpha_stem_width.double(), -1)[widths.index(a["stem_channels"])])
            for i, b in enumerate(a["blocks"]):
                total += float(torch.log_softmax(alpha_kernel[i].double(), -1)[kernels.index(b["op"])])
                # (a skipped block makes no width choice: it loses nothing on its width)
                total += float(lw[i, widths.index(b["channels"])] if b["op"] != "skip" else lw[i].max())
            return total
        choices = [[w for w in widths if w <= arch["stem_channels"]]] + [
            [{"op": "skip"}] + ([] if b["op"] == "skip" else [{**b, "channels": w} for w in widths if w <= b["channels"]])
            for b in arch["blocks"]]
        fitting = [a for stem, *blocks in itertools.product(*choices)
                   if excess(a := {**arch, "stem_channels": stem, "blocks": list(blocks)}) == 0]
        got, moves = within_budget(arch, alphas, widths, excess)
        if not fitting:
            assert (got, moves) == (arch, [])
            continue
        assert excess(got) == 0 and moves
        assert log_p(got) == pytest.approx(max(map(log_p, fitting)), abs=1e-9)
        greedy, _ = within_budget(arch, alphas, widths, excess, max_priced=1)
        assert excess(greedy) == 0 and log_p(greedy) <= log_p(got) + 1e-9


def test_chain_search_over_its_budget_hands_on_the_most_probable_network_within_it(tiny_corpus, tmp_path, capsys,
                                                                                   monkeypatch):
    # A search whose argmax ends over its budget (the penalty switched off, and the argmax pinned to DS-CNN-S
    # written in the chain space, ~20 ms on 640/320/40/10, so that the outcome does not hang on the random
    # init): the most probable network within the budget is what train gets; argmax and moves kept beside it.
    from dadarts.costmodel import chain as space
    from dadarts.search import chain, chain_cost
    monkeypatch.setattr(chain_cost.Lagrangian, "update", lambda self, expected, derived=None: None)
    monkeypatch.setattr(chain_cost.Lagrangian, "loss", lambda self, expected, epoch: 0.0 * expected["latency_ms"])
    monkeypatch.setattr(chain.ChainSupernet, "genotype", lambda self: dict(space.DS_CNN_S_LIKE))
    run = tmp_path / "run"
    args = ["search", "--data", str(tiny_corpus), "--run", str(run), "--space", "chain", "--epochs", "1",
            "--warmup-epochs", "0", "--batch-size", "16", "--data-space", "640/320/40/10", "--device", "cpu",
            "--quiet", "--target", "NUCLEO-F446RE", "--max-latency-ms", "12"]
    assert main(args) == 0
    result = json.loads((run / "search" / "result.json").read_text())
    assert result["argmax"]["genotype"] == space.DS_CNN_S_LIKE and result["argmax"]["predicted"]["latency_ms"] > 12
    assert result["predicted"]["fits"] and result["predicted"]["latency_ms"] <= 12 and result["narrowed"]
    assert result["genotype_str"] == space.to_str(result["genotype"])
    assert "the most probable network within it narrows" in capsys.readouterr().out
    # No move brings it inside (here: none is offered): failed, said so.
    narrow = chain.within_budget
    monkeypatch.setattr(chain, "within_budget", lambda arch, alphas, widths, price: (arch, []))
    assert main(args) == 1
    assert "FAILED" in capsys.readouterr().out
    # --resume on the finished search derives again (a search that failed before narrowing existed)
    monkeypatch.setattr(chain, "within_budget", narrow)
    assert main(["search", "--run", str(run), "--resume", "--quiet"]) == 0
    again = json.loads((run / "search" / "result.json").read_text())
    assert again["genotype"] == result["genotype"] and again["predicted"]["fits"]


def test_export_exits_non_zero_over_budget_unless_allowed(monkeypatch, tmp_path):
    from dadarts.export import command, pipeline
    report = {"budget_check": {"target": "NUCLEO-F446RE", "latency_ms": 120.0, "ram_kb": 50.0, "flash_kb": 200.0,
                               "budget": {"latency_ms": 100.0, "ram_kb": None, "flash_kb": None},
                               "fits": False, "over": ["latency_ms"]}}
    monkeypatch.setattr(pipeline, "export_run", lambda *a, **k: report)
    assert main(["export", str(tmp_path), "--int8"]) == 2
    assert main(["export", str(tmp_path), "--int8", "--allow-over-budget"]) == 0
    report["budget_check"]["fits"] = True
    assert main(["export", str(tmp_path), "--int8"]) == 0


def test_structural_glue_of_a_chain_is_only_its_strided_pads_and_cells_carry_more():
    from dadarts.costmodel import kernels
    from dadarts.costmodel.glue import is_glue
    from dadarts.costmodel.network import searched_graph
    from dadarts.search.genotypes import to_dict, Genotype

    def share(layers):
        costs = kernels.estimate_layers(layers, TARGET)
        return sum(c.cycles for c, g in zip(costs, is_glue(layers)) if g) / sum(c.cycles for c in costs)

    shape = CONFIGS[0].shape
    chain = chain_graph({**space.DS_CNN_S_LIKE, "blocks": [{"op": "dw_3x3", "channels": 64, "stride": 2}]
                         + space.DS_CNN_S_LIKE["blocks"][1:]}, shape, 12)
    assert [layer.op for layer, g in zip(chain.layers, is_glue(chain.layers)) if g] == ["PAD"]
    assert share(chain.layers) < 0.10
    edges = [("ds_conv_3x3", 0), ("ds_conv_3x3", 1)] * 3
    cells = searched_graph("mcu", to_dict(Genotype(edges, [2, 3, 4], edges, [2, 3, 4])), shape, 12, 12, 5)
    glue_ops = {layer.op for layer, g in zip(cells.layers, is_glue(cells.layers)) if g}
    assert {"ADD", "CONCATENATION", "CONV_2D"} <= glue_ops and share(cells.layers) > share(chain.layers)


def test_export_rechecks_a_streaming_search_against_its_streaming_budget():
    """export's budget check of a --streaming search's network is the streaming cost the search priced (the
    whole-window model of such a network is several times over the latency budget by design)."""
    from dadarts.export.budget import deployed
    from dadarts.search.chain_cost import chain_estimate
    arch = {**space.DS_CNN_S_LIKE, "time_padding": "valid"}
    config = CONFIGS[0]
    whole = estimate_netgraph(chain_graph(arch, config.shape, 12), config, TARGET, 100.0)
    result = {"space": "chain", "genotype": arch, "labels": [str(i) for i in range(12)], "target": TARGET.name,
              "decision_ms": 100.0}
    assert deployed(whole, result, config) == chain_estimate(arch, config, 12, TARGET, 100.0)
    assert deployed(whole, result, config)["latency_ms"] < whole["latency_ms"]
    same = {**result, "genotype": space.DS_CNN_S_LIKE}
    assert deployed(whole, same, config) is whole


def test_train_arch_takes_json_text_of_any_length_a_file_or_the_searchs_line(tmp_path):
    """train --model chain --arch: a DS-CNN-M-wide architecture as JSON text is longer than a file name may be;
    the one line a search prints (costmodel.chain.to_str) reads back as the same architecture."""
    from dadarts.train.command import _arch_of
    arch = {"stem": "conv_10x4_s2x1", "stem_channels": 172, "time_padding": "valid",
            "blocks": [{"op": "dw_3x3", "channels": 172, "stride": 2}] + [{"op": "dw_3x3", "channels": 172, "stride": 1}] * 3
            + [{"op": "skip"}] * 2}
    text = json.dumps(arch)
    assert len(text) > 255 and _arch_of(text) == arch
    (tmp_path / "arch.json").write_text(text)
    assert _arch_of(str(tmp_path / "arch.json")) == arch
    with pytest.raises(UserError, match="neither a readable file, JSON text nor a line"):
        _arch_of(str(tmp_path / "missing.json"))
    rng = random.Random(1)
    for a in [arch, space.DS_CNN_S_LIKE] + [random_arch(rng) for _ in range(20)]:
        a = {**a, "blocks": [b if b["op"] != "skip" else {"op": "skip"} for b in a["blocks"]]}
        assert _arch_of(space.to_str(a)) == a
    with pytest.raises(UserError, match="is not a chain architecture as dadarts writes it"):
        _arch_of("conv_5x5_s2x2 x172 | dw_3x3 x16 /3")
    with pytest.raises(UserError, match="unknown op 'dw_7x7'"):
        _arch_of("conv_5x5_s2x2 x172 | dw_7x7 x16")
