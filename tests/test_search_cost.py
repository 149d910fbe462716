"""The search's expected cost on a board: equal to the estimate at a discretised point, differentiable,
zero-gradient inside the budget, impossible budgets refused, configurations the firmware cannot run refused."""
import pytest
import torch

from dadarts.cli import main
from dadarts.costmodel.targets import get_target
from dadarts.errors import UserError
from dadarts.frontend.spec import MCU_SPACE, MfccConfig
from dadarts.mcu_eval.analytic import estimate_from_genotype
from dadarts.search.cost import (CHANNEL_GRID, LAYER_GRID, Budget, CostTables, default_budget, penalty, penalty_weight, refuse_impossible,
                                 size_for_budget)

GENOTYPE = {
    "normal": [["ds_conv_3x3", 0], ["skip_connect", 1], ["max_pool_3x3", 0], ["conv_1x1", 2],
               ["avg_pool_3x3", 1], ["ds_conv_5x5", 3]], "normal_concat": [2, 3, 4],
    "reduce": [["ds_conv_3x3_x2", 0], ["max_pool_3x3", 1], ["avg_pool_3x3", 0], ["skip_connect", 1],
               ["ds_conv_5x5", 1], ["conv_1x1", 0]], "reduce_concat": [2, 3, 4],
}
CONFIGS = [MfccConfig.parse(s) for s in ("640/320/40/10", "400/200/40/20", "400/200/40")]
TARGET = get_target("NUCLEO-F446RE")


@pytest.fixture(scope="module")
def tables():
    return CostTables("mcu", CONFIGS, 12, 16, 4, TARGET, decision_ms=100)


def one_hot(edges, primitives, steps=3):
    """α, β logits that make the derivation pick exactly `edges` (β: 0.5 on each kept input)."""
    n = sum(2 + i for i in range(steps))
    a, b = torch.full((n, len(primitives)), -40.0), torch.full((n,), -40.0)
    start = 0
    for node in range(steps):
        for op, j in edges[2 * node:2 * node + 2]:
            a[start + j, primitives.index(op)] = 40.0
            b[start + j] = 40.0
        start += 2 + node
    return a, b


def test_expected_cost_at_a_discretised_point_is_the_estimate_of_that_genotype(tables):
    prims = list(tables.space.primitives)
    an, bn = one_hot(GENOTYPE["normal"], prims)
    ar, br = one_hot(GENOTYPE["reduce"], prims)
    tables.refresh(GENOTYPE)
    for d, config in enumerate(CONFIGS):
        p = torch.nn.functional.one_hot(torch.tensor(d), len(CONFIGS)).double()
        got = tables.expected(an, ar, bn, br, p)
        est = estimate_from_genotype(GENOTYPE, config, 12, 16, 4, TARGET, space="mcu", decision_ms=100)
        assert float(got["latency_ms"]) == pytest.approx(est["latency_ms"], rel=1e-9)
        assert float(got["ram_kb"]) == pytest.approx(est["ram_bytes"] / 1024, rel=1e-9)
        assert float(got["flash_kb"]) == pytest.approx(est["flash_bytes"] / 1024, rel=1e-9)


def _arch(tables):
    n, k = tables.edge_ms["normal"].shape[1:]
    return [torch.zeros(n, k, requires_grad=True), torch.zeros(n, k, requires_grad=True),
            torch.zeros(n, requires_grad=True), torch.zeros(n, requires_grad=True),
            torch.zeros(len(CONFIGS), requires_grad=True)]


def test_over_budget_the_gradient_moves_alpha_and_gamma_to_cheaper_choices(tables):
    params = _arch(tables)
    *ab, gamma = params
    e0 = tables.expected(*ab, torch.softmax(gamma, 0))
    budget = Budget(latency_ms=float(e0["latency_ms"].detach()) / 2)
    pen = penalty(e0, budget)
    assert float(pen) > 0
    pen.backward()
    # γ: the most expensive configuration is pushed down hardest, the cheapest up.
    per_config = [float(tables.expected(*[p.detach() for p in ab], torch.nn.functional.one_hot(
        torch.tensor(d), len(CONFIGS)).double())["latency_ms"]) for d in range(len(CONFIGS))]
    assert gamma.grad.argmax() == torch.tensor(per_config).argmax()
    assert gamma.grad.argmin() == torch.tensor(per_config).argmin()
    # α: on every edge the op with the largest cost gets the largest gradient, 'none' none at all.
    none = tables.space.primitives.index("none")
    assert torch.all(ab[0].grad[:, none] == 0)
    costs = tables.edge_ms["normal"].mean(0)
    for e in range(costs.shape[0]):
        assert ab[0].grad[e].argmax() == costs[e].argmax()
    # One step down the gradient lowers the expected latency.
    with torch.no_grad():
        for p in params:
            p -= 0.5 * p.grad
    e1 = tables.expected(*params[:4], torch.softmax(params[4], 0))
    assert float(e1["latency_ms"]) < float(e0["latency_ms"])


def test_inside_the_budget_the_penalty_and_its_gradient_are_zero(tables):
    params = _arch(tables)
    e = tables.expected(*params[:4], torch.softmax(params[4], 0))
    budget = Budget(latency_ms=float(e["latency_ms"]) * 2, ram_kb=float(e["ram_kb"]) * 2,
                    flash_kb=float(e["flash_kb"]) * 2)
    pen = penalty(e, budget)
    pen.backward()
    assert float(pen) == 0.0
    assert all(p.grad is None or torch.all(p.grad == 0) for p in params)


def test_penalty_weight_ramps_in_after_warmup():
    assert penalty_weight(5.0, 0, 3, 11) == 0.0 and penalty_weight(5.0, 2, 3, 11) == 0.0
    assert 0 < penalty_weight(5.0, 3, 3, 11) < penalty_weight(5.0, 5, 3, 11) <= 5.0
    assert penalty_weight(5.0, 10, 3, 11) == 5.0


def test_an_impossible_budget_is_refused_with_the_cheapest_systems_cost(tables):
    refuse_impossible(tables, default_budget(TARGET))            # the board's own budget is possible
    with pytest.raises(UserError, match=r"cheapest .* needs \d+\.\d ms per decision; raise --max-latency-ms"):
        refuse_impossible(tables, Budget(latency_ms=0.5))
    with pytest.raises(UserError, match="KB; raise --max-ram-kb"):
        refuse_impossible(tables, Budget(ram_kb=4))


def test_budget_derived_size_is_the_largest_that_fits():
    budget = Budget(latency_ms=60.0, ram_kb=128.0, flash_kb=512.0)
    c, n, est = size_for_budget("mcu", GENOTYPE, CONFIGS[0], 12, TARGET, budget, 100)
    assert est["latency_ms"] <= 60.0
    # The next width up at that depth would not fit; no fitting size has more MACs.
    wider = [w for w in CHANNEL_GRID if w > c]
    if wider:
        assert estimate_from_genotype(GENOTYPE, CONFIGS[0], 12, wider[0], n, TARGET, space="mcu",
                                      decision_ms=100)["latency_ms"] > 60.0
    for layers in LAYER_GRID:
        for w in CHANNEL_GRID:
            other = estimate_from_genotype(GENOTYPE, CONFIGS[0], 12, w, layers, TARGET, space="mcu", decision_ms=100)
            if other["latency_ms"] <= 60.0:
                assert other["macs"] <= est["macs"]


def test_search_refuses_a_configuration_the_firmware_cannot_stream(tmp_path, capsys):
    # hop 150 does not divide the 400-sample window: refused before any data is loaded.
    assert main(["search", "--data-space", "400/150/40,640/320/40", "--run", str(tmp_path / "r")]) == 2
    assert "does not divide the window" in capsys.readouterr().err
    assert main(["search", "--max-latency-ms", "50", "--run", str(tmp_path / "r")]) == 2
    assert "--target BOARD" in capsys.readouterr().err


@pytest.mark.slow
def test_budgeted_search_records_the_budget_and_resume_keeps_it(tiny_corpus, tmp_path, capsys):
    import json
    run = tmp_path / "run"
    args = ["--data", str(tiny_corpus), "--space", "mcu", "--epochs", "2", "--warmup-epochs", "1", "--batch-size", "16",
            "--channels", "4", "--layers", "3", "--data-space", "640/320/40/10,400/200/40/20", "--device", "cpu",
            "--quiet", "--target", "NUCLEO-F446RE", "--max-latency-ms", "150"]
    assert main(["search", "--run", str(run), *args]) == 0
    out = capsys.readouterr().out
    assert "budget on NUCLEO-F446RE" in out and "network to train: mcu space" in out
    result = json.loads((run / "search" / "result.json").read_text())
    assert result["target"] == "NUCLEO-F446RE" and result["budget"]["latency_ms"] == 150
    assert result["predicted"]["fits"] and result["predicted"]["latency_ms"] <= 150
    assert result["network"]["space"] == "mcu"
    est = estimate_from_genotype(result["genotype"], result["config"], len(result["labels"]),
                                 result["network"]["channels"], result["network"]["layers"], TARGET,
                                 space="mcu", decision_ms=100)
    assert est["latency_ms"] == pytest.approx(result["predicted"]["latency_ms"], abs=1e-3)
    with open(run / "search" / "history.csv") as f:
        assert "exp_latency_ms" in f.readline()
    assert main(["search", "--run", str(run), "--resume", "--quiet"]) == 0
    again = json.loads((run / "search" / "result.json").read_text())
    assert again["budget"] == result["budget"] and again["target"] == result["target"]
