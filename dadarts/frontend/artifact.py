"""`train/frontend.json`: the MFCC configuration and normalisation a trained model expects.

Written by `dadarts train`, read by export and the firmware generator, so that the statistics the
model was trained with travel with it (docs/contracts.md, kind `frontend`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import UserError
from ..rundir import read_json, write_json_atomic
from .spec import FRONTEND_VERSION, MfccConfig

KIND = "frontend"


@dataclass(frozen=True)
class FrontendArtifact:
    config: MfccConfig
    mean: np.ndarray     # (F,) float32
    std: np.ndarray      # (F,) float32
    frontend_version: int = FRONTEND_VERSION


def write_frontend(path, config: MfccConfig, mean, std) -> None:
    """Write the configuration and per-coefficient statistics atomically."""
    mean = np.asarray(mean, dtype=np.float32).ravel()
    std = np.asarray(std, dtype=np.float32).ravel()
    if mean.shape != (config.n_mfcc,) or std.shape != (config.n_mfcc,):
        raise ValueError(f"normaliser has {mean.size}/{std.size} values, configuration {config} has {config.n_mfcc} coefficients")
    write_json_atomic(path, {"config": config.name, "frontend_version": FRONTEND_VERSION,
                             "mean": [float(v) for v in mean], "std": [float(v) for v in std]}, kind=KIND)


def read_frontend(path) -> FrontendArtifact:
    """Read `train/frontend.json`, refusing one made by another front-end version."""
    obj = read_json(path, KIND)
    try:
        config = MfccConfig.parse(obj["config"])
        mean = np.asarray(obj["mean"], dtype=np.float32)
        std = np.asarray(obj["std"], dtype=np.float32)
        version = int(obj["frontend_version"])
    except (KeyError, ValueError, TypeError) as exc:
        raise UserError(f"{path} is not a valid front-end artifact ({exc}): re-run dadarts train.") from None
    if version != FRONTEND_VERSION:
        raise UserError(f"{path} was made by front-end version {version}, this dadarts has {FRONTEND_VERSION}: "
                        f"re-run dadarts train.")
    if mean.shape != (config.n_mfcc,) or std.shape != (config.n_mfcc,):
        raise UserError(f"{path} holds {mean.size} normalisation values for {config.n_mfcc} coefficients: "
                        f"re-run dadarts train.")
    return FrontendArtifact(config, mean, std, version)
