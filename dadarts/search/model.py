"""The whole searched system: data mixer (γ, alignment) in front of the supernet of the search space
(PC-DARTS cells, α and β, or the chain space's choices, dadarts.search.chain).

Architecture parameters live in the modules; `arch_parameters()` and `weight_parameters()` are the
two disjoint sets the bilevel optimisation alternates between.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from .chain import ChainSupernet, searched_stems, searched_widths
from .genotypes import Genotype
from .mixer import DataMixer
from .settings import SearchSettings
from .space import get_space
from .supernet import Supernet


class DataAwareSupernet(nn.Module):
    def __init__(self, shapes: list[tuple[int, int]], num_classes: int, settings: SearchSettings):
        super().__init__()
        self.mixer = DataMixer(shapes, align=settings.align, align_channels=settings.align_channels)
        if settings.space == "chain":
            self.net = ChainSupernet(num_classes, self.mixer.out_channels, self.mixer.out_shape,
                                     time_padding=settings.time_padding, min_frames=min(s[0] for s in shapes),
                                     stems=searched_stems(settings), widths=searched_widths(settings))
        else:
            self.net = Supernet(settings.channels, num_classes, settings.layers, in_channels=self.mixer.out_channels,
                                space=get_space(settings.space), k=settings.partial_k,
                                stem_stride=settings.stem_stride or None)
        # Which configuration runs alone after the γ early stop (-1: all of them, mixed).
        self.register_buffer("active", torch.tensor(-1, dtype=torch.long))

    def forward(self, xs: list[torch.Tensor | None]) -> torch.Tensor:
        only = int(self.active)
        return self.net(self.mixer(xs, only=None if only < 0 else only))

    def needs(self) -> list[int]:
        """Indices of the configurations whose features the forward pass reads."""
        only = int(self.active)
        return list(range(len(self.mixer.shapes))) if only < 0 else [only]

    def gamma_parameters(self) -> list[nn.Parameter]:
        return [self.mixer.gamma] if len(self.mixer.shapes) > 1 else []

    def alpha_beta_parameters(self) -> list[nn.Parameter]:
        return self.net.arch_parameters()

    def arch_parameters(self) -> list[nn.Parameter]:
        return self.alpha_beta_parameters() + self.gamma_parameters()

    def weight_parameters(self) -> list[nn.Parameter]:
        arch = {id(p) for p in self.arch_parameters()} | {id(self.mixer.gamma)}
        return [p for p in self.parameters() if id(p) not in arch]

    def genotype(self) -> Genotype | dict:
        """The derived architecture: a cell Genotype, or a chain architecture dict."""
        return self.net.genotype()

    def gamma_softmax(self) -> torch.Tensor:
        return self.mixer.weights().detach()

    def config_weights(self) -> torch.Tensor:
        """What each configuration weighs in the system now: softmax(γ), or one-hot on the configuration
        running alone after the γ early stop (differentiable in γ while it is searched)."""
        only = int(self.active)
        if only < 0:
            return self.mixer.weights()
        return torch.nn.functional.one_hot(self.active, len(self.mixer.shapes)).to(self.mixer.gamma.dtype)
