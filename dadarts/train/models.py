"""One registry of every network `dadarts train` can build, timm style.

`build_model(name, input_shape, num_classes, **kwargs)` builds any of them from the same arguments,
so baselines and the searched network are interchangeable in training, export and comparison.
Inputs are (B, 1, T, F) normalised MFCC; `input_shape` is (T, F). `train/model.pt` stores exactly
these arguments under "build" so later stages rebuild the network without knowing which one it is.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import torch
from torch import nn

from ..errors import UserError
from .ds_cnn import ds_cnn
from .ghostnet import GhostNet
from .mobilenet import MobileNetV2, MobileNetV3Small


def _searched(input_shape, num_classes, genotype: dict, channels: int = 16, layers: int = 8,
              drop_path_prob: float = 0.0, space: str | None = None):
    """The searched cell network (dadarts.search.network), on the native shape of its configuration."""
    from ..search.network import SearchedNetwork
    return SearchedNetwork(genotype, tuple(input_shape), num_classes, channels, layers, drop_path_prob, space)


def _chain(input_shape, num_classes, arch: dict):
    """A chain-space network (dadarts.search.chain): the architecture a chain search derived."""
    from ..search.chain import ChainNetwork
    return ChainNetwork(arch, tuple(input_shape), num_classes)


MODELS: dict[str, Callable[..., nn.Module]] = {
    "ds-cnn-s": ds_cnn("s"),
    "ds-cnn-m": ds_cnn("m"),
    "ds-cnn-l": ds_cnn("l"),
    "mobilenet-v2": MobileNetV2,
    "mobilenet-v3-small": MobileNetV3Small,
    "ghostnet": GhostNet,
    "searched": _searched,
    "chain": _chain,
}

# The networks a search produces (they need its genotype); every other model is a baseline.
SEARCHED_MODELS = ("searched", "chain")
BASELINES = tuple(name for name in MODELS if name not in SEARCHED_MODELS)


def build_model(name: str, input_shape, num_classes: int, **kwargs) -> nn.Module:
    """Build network `name` for (T, F) inputs and `num_classes` outputs."""
    if name not in MODELS:
        raise UserError(f"Unknown model '{name}': choose one of {', '.join(MODELS)}.")
    if len(tuple(input_shape)) != 2:
        raise UserError(f"input_shape {input_shape} must be (time, frequency).")
    return MODELS[name](tuple(int(v) for v in input_shape), int(num_classes), **kwargs)


MODEL_KIND = "model"


def load_checkpoint(path: str | Path) -> dict:
    """Read train/model.pt and check it is a model artifact (docs/contracts.md)."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path} does not exist: train a model first (dadarts train RUN).")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a truncated or foreign file: the user can re-run train
        raise UserError(f"{path} is not a readable model checkpoint ({type(exc).__name__}): re-run dadarts train.") from None
    if not isinstance(ckpt, dict) or ckpt.get("kind") != MODEL_KIND:
        kind = ckpt.get("kind") if isinstance(ckpt, dict) else type(ckpt).__name__
        raise UserError(f"{path} is a '{kind}' file, not a trained model: point export at a run directory made by dadarts train.")
    for key in ("build", "state_dict", "labels"):
        if key not in ckpt:
            raise UserError(f"{path} has no '{key}' entry: it was not written by dadarts train; re-run training.")
    return ckpt


def rebuild_model(ckpt: dict) -> nn.Module:
    """The trained network with its weights, in eval mode."""
    build = ckpt["build"]
    model = build_model(build["name"], build["input_shape"], build["num_classes"], **build.get("kwargs", {}))
    try:
        model.load_state_dict(ckpt["state_dict"])
    except RuntimeError as exc:
        raise UserError(f"train/model.pt does not match the network it names ({build['name']}): {str(exc).splitlines()[0]}") from None
    return model.eval()
