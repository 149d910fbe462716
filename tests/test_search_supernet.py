"""Supernet, data mixer and genotype derivation on random tensors of every configuration's shape."""
import pytest
import torch
import torch.nn.functional as F

from dadarts.frontend.spec import DEFAULT_SPACE
from dadarts.search import genotypes as G
from dadarts.search.mixer import DataMixer, gamma_should_stop
from dadarts.search.model import DataAwareSupernet
from dadarts.search.network import SearchedNetwork
from dadarts.search.settings import SearchSettings
from dadarts.search.supernet import MixedOp, derive_genotype, num_edges

SHAPES = [c.shape for c in DEFAULT_SPACE]
TINY = dict(channels=4, layers=3, stem_stride=2)


@pytest.mark.parametrize("align", ["preprocess", "zeropad"])
def test_data_aware_supernet_runs_on_the_whole_space(align):
    torch.manual_seed(0)
    model = DataAwareSupernet(SHAPES, 12, SearchSettings(align=align, **TINY))
    xs = [torch.randn(3, *s) for s in SHAPES]
    assert model.mixer.out_shape == ((49, 40) if align == "preprocess" else (157, 80))
    logits = model(xs)
    assert logits.shape == (3, 12)
    F.cross_entropy(logits, torch.tensor([0, 1, 2])).backward()
    assert model.mixer.gamma.grad is not None and model.mixer.gamma.grad.abs().sum() > 0
    assert model.net.alphas_normal.grad.abs().sum() > 0 and model.net.betas_reduce.grad.abs().sum() > 0
    # After a γ early stop only the winner's features are read.
    model.active.fill_(5)
    assert model.needs() == [5]
    xs_only = [x if d == 5 else None for d, x in enumerate(xs)]
    assert model(xs_only).shape == (3, 12)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_fixed_configuration_supernet_on_native_shape(shape):
    model = DataAwareSupernet([shape], 4, SearchSettings(align="fixed", channels=4, layers=3))
    assert model.gamma_parameters() == [] and len(model.arch_parameters()) == 4
    assert model([torch.randn(2, *shape)]).shape == (2, 4)


def test_arch_and_weight_parameters_are_disjoint_and_complete():
    model = DataAwareSupernet(SHAPES[:2], 12, SearchSettings(**TINY))
    arch = {id(p) for p in model.arch_parameters()}
    weights = {id(p) for p in model.weight_parameters()}
    assert not arch & weights
    assert arch | weights == {id(p) for p in model.parameters()}
    assert model.net.alphas_normal.shape == (num_edges(4), len(G.PRIMITIVES)) == (14, 8)


def test_preprocess_alignment_reaches_the_smallest_shape_and_sees_every_input_value():
    torch.manual_seed(0)
    shapes = [(157, 80), (49, 10), (79, 20)]
    mixer = DataMixer(shapes, "preprocess", 4)
    xs = [torch.randn(2, *s, requires_grad=True) for s in shapes]
    out = mixer(xs)
    assert out.shape == (2, 4, 49, 10)
    out.sum().backward()
    # No frame or coefficient is averaged away before the learnable weights see it (γ must be able to
    # tell 157 frames or 80 coefficients from the rest).
    for x in xs:
        assert (x.grad.abs().sum(0) > 0).all()


def test_zeropad_places_each_map_top_left_weighted_by_softmax_gamma():
    mixer = DataMixer([(3, 2), (5, 4)], "zeropad")
    with torch.no_grad():
        mixer.gamma.copy_(torch.tensor([0.0, 1.0]))
    p = torch.softmax(torch.tensor([0.0, 1.0]), 0)
    a, b = torch.ones(1, 3, 2), 2 * torch.ones(1, 5, 4)
    out = mixer([a, b])
    assert out.shape == (1, 1, 5, 4)
    assert torch.allclose(out[0, 0, 0, 0], p[0] + 2 * p[1])
    assert torch.allclose(out[0, 0, 4, 3], 2 * p[1])


def test_partial_channels_reduction_edge_rounds_up_on_odd_sizes():
    op = MixedOp(8, 2, 4)
    w = torch.softmax(torch.zeros(len(G.PRIMITIVES)), 0)
    assert op(torch.randn(2, 8, 25, 13), w).shape == (2, 8, 13, 7)


def test_gamma_early_stop_rule():
    assert gamma_should_stop(torch.tensor([0.5, 0.25, 0.25]))
    assert not gamma_should_stop(torch.tensor([0.45, 0.3, 0.25]))
    assert not gamma_should_stop(torch.tensor([1.0]))
    assert gamma_should_stop(torch.tensor([0.1, 0.6, 0.3]), ratio=1.9)


def test_derived_genotype_follows_alpha_and_beta():
    steps = 4
    n = num_edges(steps)
    none, sep3, skip = (G.PRIMITIVES.index(k) for k in ("none", "sep_conv_3x3", "skip_connect"))
    a_n = torch.zeros(n, len(G.PRIMITIVES))
    a_n[:, none] = 10.0          # 'none' dominates everywhere but must never be chosen
    a_n[:, sep3] = 2.0
    a_n[0, skip] = 5.0           # edge (node 2 <- input 0) prefers skip_connect
    b_n = torch.zeros(n)
    b_n[2 + 3 + 4 + 4] = 4.0     # node 5 (edges 9..13): its edge from state 4 is strongest
    b_n[2 + 3 + 4 + 1] = 3.0     # then from input 1
    a_r = torch.zeros(n, len(G.PRIMITIVES))
    a_r[:, G.PRIMITIVES.index("max_pool_3x3")] = 1.0
    g = derive_genotype(a_n, a_r, b_n, torch.zeros(n), G.PRIMITIVES, steps)
    assert g.normal[0] == ("skip_connect", 0)
    assert all(op != "none" for op, _ in g.normal + g.reduce)
    assert [src for _, src in g.normal[6:]] == [1, 4]
    assert all(op == "max_pool_3x3" for op, _ in g.reduce)
    assert g.normal_concat == [2, 3, 4, 5]
    # The derived genotype builds a network.
    net = SearchedNetwork(G.to_dict(g), input_shape=(49, 40), num_classes=3, channels=4, layers=3)
    assert net(torch.randn(1, 1, 49, 40)).shape == (1, 3)
