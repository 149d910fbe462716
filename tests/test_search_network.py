"""The discrete searched network: builds from a genotype dict and runs on every native shape."""
import pytest
import torch

from dadarts.frontend.spec import DEFAULT_SPACE
from dadarts.search import genotypes as G
from dadarts.search.network import SearchedNetwork


@pytest.mark.parametrize("config", DEFAULT_SPACE, ids=lambda c: c.name)
def test_searched_network_runs_on_every_native_shape(config):
    torch.manual_seed(0)
    net = SearchedNetwork(G.to_dict(G.PCDARTS), input_shape=config.shape, num_classes=12, channels=4, layers=3)
    x = torch.randn(2, 1, *config.shape)
    y = net(x)
    assert y.shape == (2, 12)
    y.sum().backward()
    assert all(p.grad is not None for p in net.parameters())


def test_every_primitive_in_both_cells_with_drop_path():
    ops = G.PRIMITIVES[1:]
    edges = [(ops[k % len(ops)], src) for k, src in enumerate([0, 1, 0, 2, 1, 3, 2, 4])]
    g = G.Genotype(edges, [2, 3, 4, 5], list(reversed(edges[:2])) + edges[2:], [2, 3, 4, 5])
    net = SearchedNetwork(g, input_shape=(97, 40), num_classes=3, channels=4, layers=5, drop_path_prob=0.2)
    net.train()
    assert net(torch.randn(3, 1, 97, 40)).shape == (3, 3)
    net.eval()
    x = torch.randn(1, 1, 97, 40)
    assert torch.equal(net(x), net(x))
