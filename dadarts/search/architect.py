"""First-order architect: Adam on the architecture parameters (α, β and γ) on the second data half.

First order as in PC-DARTS: the gradient of the validation-half loss with respect to α, β, γ at the
current weights, no unrolled step. Only the architecture gradients are computed
(`torch.autograd.grad`), which skips the weight gradients of that backward pass. After the γ early
stop, γ is frozen and only α, β move.
"""
from __future__ import annotations

from typing import Callable

import torch

from .model import DataAwareSupernet
from .settings import SearchSettings


class Architect:
    def __init__(self, model: DataAwareSupernet, settings: SearchSettings,
                 reduce_grads: Callable[[list[torch.Tensor]], None] | None = None):
        self.model = model
        groups = [{"params": model.alpha_beta_parameters(), "lr": settings.arch_lr,
                   "weight_decay": settings.arch_weight_decay}]
        if model.gamma_parameters():
            # γ has no weight decay: shrinking it would pull the data search back towards uniform.
            groups.append({"params": model.gamma_parameters(), "lr": settings.gamma_lr, "weight_decay": 0.0})
        self.optimizer = torch.optim.Adam(groups, betas=(0.5, 0.999))
        self.reduce_grads = reduce_grads
        self.gamma_frozen = False

    def trainable(self) -> list[torch.nn.Parameter]:
        params = self.model.alpha_beta_parameters()
        if not self.gamma_frozen:
            params = params + self.model.gamma_parameters()
        return params

    def freeze_gamma(self) -> None:
        self.gamma_frozen = True
        for p in self.model.gamma_parameters():
            p.grad = None

    def step(self, loss: torch.Tensor) -> None:
        params = self.trainable()
        grads = torch.autograd.grad(loss, params)
        grads = [g.float() for g in grads]
        if self.reduce_grads is not None:
            self.reduce_grads(grads)
        for p, g in zip(params, grads):
            p.grad = g
        self.optimizer.step()
        for p in params:
            p.grad = None

    def state_dict(self) -> dict:
        return {"optimizer": self.optimizer.state_dict(), "gamma_frozen": self.gamma_frozen}

    def load_state_dict(self, state: dict) -> None:
        self.optimizer.load_state_dict(state["optimizer"])
        if state["gamma_frozen"]:
            self.freeze_gamma()
