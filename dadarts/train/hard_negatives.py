"""Hard-negative mining: the windows of long negative audio on which the model being trained fires.

A wake-word trainer (microWakeWord, openWakeWord) runs its model over hours of audio that holds no
keyword, keeps the windows it wrongly fires on, and feeds them back as negatives. Here, every `every`
epochs (from the first), `HardNegatives.mine` builds `seconds` of negative audio from the TRAINING
split only - its `_unknown_` clips and the out-of-vocabulary words spoken by training voices, laid
out with gaps and levels as in a stream (StreamWindows.negative_windows) - cuts a window as long as the
run's clip every `hop_ms`, gives each window recording conditions as the loader draws them (room, microphone,
noise from the training part of `_background_noise_` at an SNR, level; AugmentedFeatures.record),
and scores it with the current model in eval mode, without masks. The `keep` windows with the largest
keyword probability above `min_prob` are kept, as recorded, with their target (`_unknown_` where
speech is inside, else `_silence_`). Until the next mining a share of every batch is drawn from them;
they replay with the time shift and masks only (their conditions are what made them hard).

Everything is drawn from (seed, epoch): the same model mines the same windows. The pool is saved in
the checkpoint, so `--resume` continues bit for bit.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch

from ..data.stream_windows import StreamWindows
from ..frontend.spec import SAMPLE_RATE
from .augment import AugmentedFeatures


@dataclass
class HardNegativeSettings:
    share: float = 0.0          # of every batch drawn from the mined windows; 0 turns mining off
    every: int = 2              # mine again every this many epochs
    seconds: float = 600.0      # negative audio scored per mining
    hop_ms: float = 100.0       # one window every hop
    keep: int = 512             # at most this many of the hardest windows
    min_prob: float = 0.2       # and only those whose largest keyword probability exceeds this


class HardNegatives:
    """The pool of mined windows (see the module doc). `windows` supplies the negative audio, built
    from the training split; `labels` are the task's."""

    def __init__(self, windows: StreamWindows, labels: list[str], settings: HardNegativeSettings, seed: int):
        self.windows, self.s, self.seed = windows, settings, seed
        self.keyword_ids = torch.tensor([i for i, name in enumerate(labels) if not name.startswith("_")])
        self.audio = torch.zeros(0, windows.clip, dtype=torch.int16)
        self.targets = torch.zeros(0, len(labels))

    def due(self, epoch: int) -> bool:
        return epoch % self.s.every == 0

    @torch.no_grad()
    def mine(self, model, frontend: AugmentedFeatures, epoch: int, device, batch_size: int = 256) -> dict:
        """Replace the pool with the hardest windows of a new stretch of negative audio; return what it
        found (windows scored, kept, how many reached 0.5 and 0.8, seconds it took)."""
        t0 = time.perf_counter()
        rng = np.random.default_rng([self.seed, epoch, 23])
        gen = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
        audio, targets = self.windows.negative_windows(self.s.seconds, int(self.s.hop_ms * SAMPLE_RATE / 1000), rng)
        audio = torch.from_numpy(audio)
        was_training = model.training
        model.eval()
        recorded, scores = [], []
        for i in range(0, len(audio), batch_size):
            x = frontend.record(audio[i:i + batch_size], gen)
            logits = model(frontend.features(x, None).contiguous(memory_format=torch.channels_last))
            scores.append(torch.softmax(logits.float(), 1)[:, self.keyword_ids.to(logits.device)].amax(1).cpu())
            recorded.append(torch.round(x * 32767).to(torch.int16))
        model.train(was_training)
        score, recorded = torch.cat(scores), torch.cat(recorded)
        order = torch.argsort(score, descending=True, stable=True)[:self.s.keep]
        order = order[score[order] > self.s.min_prob]
        self.audio, self.targets = recorded[order], torch.from_numpy(targets)[order]
        return {"epoch": epoch + 1, "windows": len(score), "kept": len(order),
                "over_0.5": int((score > 0.5).sum()), "over_0.8": int((score > 0.8).sum()),
                "seconds": time.perf_counter() - t0}

    def batch(self, n: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """n windows drawn from the pool (none while it is empty) and their targets."""
        if not len(self.audio) or n <= 0:
            return self.audio[:0], self.targets[:0]
        pick = torch.randint(len(self.audio), (n,), generator=gen)
        return self.audio[pick], self.targets[pick]

    def state_dict(self) -> dict:
        return {"audio": self.audio, "targets": self.targets}

    def load_state_dict(self, state: dict) -> None:
        self.audio, self.targets = state["audio"], state["targets"]
