"""Search-space primitives and genotype serialisation."""
import pytest
import torch
import torch.nn.functional as F

from dadarts.errors import UserError
from dadarts.search import genotypes as G
from dadarts.search.operations import OPS, FactorizedReduce, MaxPool3x3


@pytest.mark.parametrize("hw", [(49, 40), (79, 80), (25, 13), (8, 8), (1, 1)])
@pytest.mark.parametrize("stride", [1, 2])
def test_every_op_rounds_up_on_odd_sizes(hw, stride):
    torch.manual_seed(0)
    x = torch.randn(2, 4, *hw)
    want = (-(-hw[0] // stride), -(-hw[1] // stride))
    for name in G.PRIMITIVES:
        y = OPS[name](4, stride, False)(x)
        assert y.shape == (2, 4, *want), name


def test_max_pool_equals_minus_inf_padding_on_negative_inputs():
    x = -torch.rand(2, 3, 11, 7) - 1.0
    for stride in (1, 2):
        ref = F.max_pool2d(x, 3, stride=stride, padding=1)
        assert torch.equal(MaxPool3x3(stride)(x), ref)


def test_avg_pool_excludes_padding():
    x = torch.ones(1, 1, 5, 5)
    y = OPS["avg_pool_3x3"](1, 1, False)(x)
    assert torch.allclose(y, torch.ones_like(y))


def test_factorized_reduce_is_the_two_darts_branches():
    torch.manual_seed(0)
    fr = FactorizedReduce(3, 6, affine=False).eval()
    for h, w in [(8, 6), (9, 7), (10, 5)]:
        x = torch.randn(2, 3, h, w)
        r = torch.relu(x)
        a = fr.conv_1(r)
        shifted = F.pad(r, (0, w % 2, 0, h % 2))[:, :, 1:, 1:]
        b = fr.conv_2(shifted)
        ref = fr.bn(torch.cat([a, b], dim=1))
        assert torch.allclose(fr(x), ref, atol=1e-6)
    with pytest.raises(ValueError):
        FactorizedReduce(3, 5)


def test_genotype_round_trips_through_dict_and_str():
    g = G.PCDARTS
    d = G.to_dict(g)
    assert d["normal"][0] == ["sep_conv_3x3", 1] and d["normal_concat"] == [2, 3, 4, 5]
    assert G.from_dict(d) == G.from_dict(G.to_dict(G.from_dict(d)))
    assert G.to_dict(G.from_str(G.to_str(g))) == d
    assert "node 2 = sep_conv_3x3(c_{k-1}) + skip_connect(c_{k-2})" in G.describe(g)


def test_genotype_validation_names_the_problem():
    d = G.to_dict(G.PCDARTS)
    d["normal"][0] = ["conv_7x7", 1]
    with pytest.raises(UserError, match="conv_7x7"):
        G.from_dict(d)
    d = G.to_dict(G.PCDARTS)
    d["reduce"][2] = ["sep_conv_3x3", 3]
    with pytest.raises(UserError, match="node 1"):
        G.from_dict(d)
    with pytest.raises(UserError):
        G.from_dict({"normal": []})
