"""Search settings in one dataclass, and the named presets `--preset cpu|paper` start from."""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace

from ..costmodel.estimate import DEFAULT_DECISION_MS


@dataclass(frozen=True)
class SearchSettings:
    # supernet
    space: str = "darts"          # darts (the paper's cells) | mcu (dadarts.search.space) | chain (search.chain)
    channels: int = 16            # C of the first cell
    layers: int = 8               # cells; reductions at 1/3 and 2/3
    partial_k: int = 4            # PC-DARTS: ops see 1/K of the channels
    stem_stride: int = 0          # 0: the space's own; 2 on darts: search at half resolution (CPU preset)
    time_padding: str = "same"    # chain: "valid" / "causal" make the supernet and the derived network streamable (--streaming)
    every_hop: bool = False       # chain: the stems striding 1 over time are candidates too (--every-hop)
    # data mixing
    align: str = "preprocess"     # preprocess | zeropad | fixed
    align_channels: int = 4       # output channels of each preprocess stage
    gamma_stop_ratio: float = 2.0  # stop the data search when p_max >= ratio * p_second
    after_gamma_stop: str = "winner"  # winner: run the winning configuration alone; mixed: keep mixing
    # optimisation
    epochs: int = 50
    warmup_epochs: int = 15       # weights only
    batch_size: int = 256
    lr: float = 0.1               # SGD on w, cosine to lr_min
    lr_min: float = 0.0
    momentum: float = 0.9
    weight_decay: float = 3e-4
    grad_clip: float = 5.0
    arch_lr: float = 6e-4         # Adam on α, β
    arch_weight_decay: float = 1e-3
    gamma_lr: float = 6e-4        # Adam on γ
    max_train: int = 0            # use at most this many training clips (0: all), split in two halves
    seed: int = 0
    # deployment budget (dadarts.search.cost); no target: accuracy alone
    target: str | None = None     # board preset (dadarts/costmodel/targets.json)
    max_latency_ms: float | None = None   # per decision; default: decision_ms (real time)
    max_ram_kb: float | None = None       # firmware RAM; default: the board's SRAM
    max_flash_kb: float | None = None     # firmware flash; default: the board's flash
    decision_ms: float = DEFAULT_DECISION_MS   # one decision every decision_ms (the front-end runs every hop)
    cost_weight: float = 5.0      # weight of the budget penalty once fully ramped in (chain: ρ)
    latency_floor: float = 0.0    # chain: a latency below this share of its budget is penalised too (0: off)
    widths: tuple = ()            # chain: the width choices (--widths; empty: costmodel.chain.WIDTHS)
    price: str = "expected"       # chain: what the penalty prices: "expected" (the softmax mixture) or "derived"
                                  #   (the argmax network, straight-through gradients; --price)
    final_channels: int = 0       # the trained network's C and cells (0: derived from the budget,
    final_layers: int = 0         #   or the supernet's own without a target)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "SearchSettings":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})

    def replace(self, **changes) -> "SearchSettings":
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


PRESETS = {
    # The paper's scale: one GPU, full Speech Commands.
    "paper": SearchSettings(),
    # Sized so that `dadarts search` on the built-in corpus ends in a few minutes on 2 CPU cores: the chain
    # space (dadarts.search.chain), every training clip.
    # Adam on the chain's α at 1e-2: ~450 architecture steps move a logit by up to ~4, enough for the
    # argmax of every choice to be decided rather than left at its initial noise.
    # latency_floor 0.85 (the value the floor was written with, not tuned): without it the chain search settled
    # at half its latency budget and handed train a 6 K-parameter network (62.7 % int8 on the built-in test
    # split); with it, 2.3 M MACs at 99.7 ms and 73.3 % (docs/search.md).
    "cpu": SearchSettings(space="chain", channels=8, layers=4, epochs=20, warmup_epochs=5, batch_size=64, lr=0.1,
                          arch_lr=1e-2, gamma_lr=2e-2, max_train=0, latency_floor=0.85),
    # The microcontroller cells (the default before the chain space) at the same scale; C and cells size the
    # supernet (the chain space ignores them: its supernet runs at the deployed widths).
    "cpu-mcu": SearchSettings(space="mcu", channels=8, layers=4, epochs=20, warmup_epochs=5, batch_size=64, lr=0.1,
                              arch_lr=3e-3, gamma_lr=2e-2, max_train=0),
    # The darts space on the same budget of CPU time (the paper's cells, a half-resolution supernet).
    "cpu-darts": SearchSettings(channels=8, layers=5, stem_stride=2, epochs=10, warmup_epochs=3, batch_size=64,
                                lr=0.1, arch_lr=3e-3, gamma_lr=2e-2, max_train=2400),
}
