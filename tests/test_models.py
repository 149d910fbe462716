"""The model registry: published DS-CNN sizes, every builder on every native shape of the data space."""
import pytest
import torch

from dadarts.errors import UserError
from dadarts.frontend.spec import DEFAULT_SPACE
from dadarts.train.ds_cnn import hello_edge_memory
from dadarts.train.models import BASELINES, build_model

HELLO_EDGE_INPUT = (49, 10)   # 40 ms window, 20 ms hop, 10 MFCC: ARM ML-KWS-for-MCU's setting


@pytest.mark.parametrize("name, params, memory", [
    # params: trainable variables of ML-KWS-for-MCU's create_ds_cnn_model for these size infos
    # (conv bias + BN beta there == BN gamma + beta here); memory: Hello Edge Table 7 (bytes, int8).
    ("ds-cnn-s", 23_180, 38_600),
    ("ds-cnn-m", 136_580, 189_700),
    ("ds-cnn-l", 413_736, 497_600),
])
def test_ds_cnn_matches_hello_edge(name, params, memory):
    model = build_model(name, HELLO_EDGE_INPUT, 12)
    n = sum(p.numel() for p in model.parameters())
    assert abs(n - params) / params <= 0.02
    assert abs(hello_edge_memory(model, HELLO_EDGE_INPUT) - memory) / memory <= 0.02


def test_mobilenet_v2_matches_paper_baseline_size():
    # The data-aware DARTS paper lists MobileNetV2 at 2.27 M parameters on 35 classes.
    n = sum(p.numel() for p in build_model("mobilenet-v2", (49, 40), 35).parameters())
    assert abs(n - 2_270_000) / 2_270_000 <= 0.02


@pytest.mark.parametrize("name", BASELINES)
def test_builder_runs_on_every_native_shape(name):
    kw = {} if name.startswith("ds-cnn") else {"width": 0.25}
    for config in DEFAULT_SPACE:
        model = build_model(name, config.shape, 12, **kw).eval()
        with torch.no_grad():
            out = model(torch.randn(2, 1, *config.shape))
        assert out.shape == (2, 12), (name, config)


def test_ds_cnn_uses_tensorflow_same_padding():
    # 49 frames, stride 2 -> ceil(49/2) = 25 rows, as in the reference (asymmetric pad, kernel 10).
    model = build_model("ds-cnn-s", HELLO_EDGE_INPUT, 12)
    feats = model.features[0](torch.zeros(1, 1, *HELLO_EDGE_INPUT))
    assert feats.shape[-2:] == (25, 5)


def test_unknown_model_is_a_user_error():
    with pytest.raises(UserError, match="Unknown model"):
        build_model("resnet-9000", (49, 40), 12)


def test_searched_builds_on_every_native_shape():
    network = pytest.importorskip("dadarts.search.network")
    genotype = {"normal": [["sep_conv_3x3", 0], ["skip_connect", 1], ["sep_conv_3x3", 1], ["dil_conv_3x3", 2],
                           ["sep_conv_5x5", 0], ["skip_connect", 2], ["max_pool_3x3", 0], ["sep_conv_3x3", 3]],
                "normal_concat": [2, 3, 4, 5],
                "reduce": [["max_pool_3x3", 0], ["sep_conv_3x3", 1], ["skip_connect", 2], ["max_pool_3x3", 1],
                           ["sep_conv_3x3", 0], ["dil_conv_5x5", 2], ["avg_pool_3x3", 1], ["sep_conv_3x3", 3]],
                "reduce_concat": [2, 3, 4, 5]}
    assert network.SearchedNetwork is not None
    for config in DEFAULT_SPACE:
        model = build_model("searched", config.shape, 12, genotype=genotype, channels=4, layers=3).eval()
        with torch.no_grad():
            assert model(torch.randn(2, 1, *config.shape)).shape == (2, 12)
