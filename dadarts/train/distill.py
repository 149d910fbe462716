"""Knowledge distillation: a larger trained network of the same task teaches the one being trained.

A microcontroller budget keeps the deployed network small; nothing keeps its *teacher* small. With
`dadarts train --teacher RUN` every training example is also heard by RUN's trained network (any model,
any MFCC configuration of the same clip length: the teacher computes its own features from the same
recording, conditions and all, without SpecAugment's masks), and the loss becomes

    (1 - w) x cross-entropy(student, targets) + w x T^2 x KL(softmax(teacher / T) || softmax(student / T))

(Hinton et al. 2015, "Distilling the knowledge in a neural network"; w = `--distill`, T =
`--distill-temperature`). The teacher must have been trained on the same dataset, task and labels:
a teacher trained on other clips could carry the test split's voices, or real recordings kept for
measuring, into this training.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import UserError
from ..frontend.artifact import read_frontend
from ..frontend.mfcc import Mfcc
from ..rundir import RunDir, read_json
from .models import load_checkpoint, rebuild_model


@dataclass
class DistillSettings:
    teacher: str | None = None     # a trained run (train/model.pt, frontend.json, metrics.json); None: off
    weight: float = 0.5            # w: the teacher's share of the loss
    temperature: float = 2.0       # T: both distributions softened by T, the term scaled by T^2

    def check(self) -> None:
        if not 0 < self.weight <= 1:
            raise UserError(f"--distill is the teacher's share of the loss, in (0, 1], got {self.weight}.")
        if self.temperature <= 0:
            raise UserError(f"--distill-temperature must be positive, got {self.temperature}.")


def distill_loss(student: torch.Tensor, teacher: torch.Tensor, temperature: float) -> torch.Tensor:
    """T^2 x KL(softmax(teacher / T) || softmax(student / T)), the mean over the batch."""
    t = temperature
    return F.kl_div(F.log_softmax(student / t, 1), F.log_softmax(teacher / t, 1), reduction="batchmean",
                    log_target=True) * t * t


class Teacher(torch.nn.Module):
    """The trained network of a run, frozen, hearing recorded float audio through its own front-end."""

    def __init__(self, root: str, labels: list[str], fingerprint: str, clip_samples: int):
        super().__init__()
        run = RunDir.of(root)
        run.require(run.model, run.frontend, run.train_metrics,
                    hint=f"train the teacher first (dadarts train --run {root} ...), or train without --teacher.")
        saved = load_checkpoint(run.model)
        metrics = read_json(run.train_metrics, "train_metrics")
        if metrics.get("dataset_fingerprint") != fingerprint or list(saved["labels"]) != list(labels):
            raise UserError(f"The teacher {root} was trained on another dataset, task or labels than this training: "
                            f"train the teacher on the same --data and --task (a teacher may not bring in clips "
                            f"this training must not see).")
        if metrics.get("settings", {}).get("stream_history"):
            raise UserError(f"The teacher {root} was trained to hear each clip after the one before it "
                            f"(--stream-history); a teacher hears windows alone: choose a window network.")
        front = read_frontend(run.frontend)
        if front.config.clip_samples != clip_samples:
            raise UserError(f"The teacher {root} hears {front.config.clip_ms} ms windows, this training another "
                            f"length: choose a teacher trained on the same window.")
        self.model = rebuild_model(saved).to(memory_format=torch.channels_last).requires_grad_(False)
        self.mfcc = Mfcc(front.config)
        self.register_buffer("mean", torch.as_tensor(np.asarray(front.mean)), persistent=False)
        self.register_buffer("std", torch.as_tensor(np.asarray(front.std)), persistent=False)
        self.summary = {"run": str(run.root), "model": saved["build"]["name"], "config": front.config.name,
                        "accuracy": metrics.get("accuracy"), "params": metrics.get("params")}

    def train(self, mode: bool = True) -> "Teacher":
        return super().train(False)     # always in eval mode: batch norm's running statistics stay the teacher's

    @torch.no_grad()
    def forward(self, recorded: torch.Tensor) -> torch.Tensor:
        """(B, samples) recorded float audio -> the teacher's logits (B, labels)."""
        feats = (self.mfcc(recorded.to(self.mean.device)) - self.mean) / self.std
        return self.model(feats[:, None].contiguous(memory_format=torch.channels_last))
