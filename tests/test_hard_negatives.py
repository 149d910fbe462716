"""Hard-negative mining (`dadarts train --hard-negatives`) and fine-tuning from a run (`--init`): mined
windows come from the training split's non-keyword material only, are labelled as non-keywords, change
the batches, and resume bit for bit."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from dadarts.data.stream_windows import StreamWindows, StreamWindowSettings
from dadarts.errors import UserError
from dadarts.frontend.spec import MfccConfig
from dadarts.rundir import RunDir, read_json
from dadarts.train import hard_negatives
from dadarts.train.augment import AugmentedFeatures, AugmentSettings
from dadarts.train.hard_negatives import HardNegatives, HardNegativeSettings

from test_train import interrupt_after_first_epoch, rebuild, train_cli

LABELS = ["yes", "no", "_silence_", "_unknown_"]
KEYWORD_HZ, OTHER_HZ, EXTRA_HZ = (500, 900), 2000, 3000


def _tones(rng, n, freq):
    """n one-second int16 clips, each a 0.4 s tone burst (the 'word') at a random place."""
    out, t = np.zeros((n, 16000), np.int16), np.arange(6400) / 16000
    for i in range(n):
        a = int(rng.integers(0, 16000 - 6400))
        out[i, a:a + 6400] = (8000 * np.sin(2 * np.pi * freq * t)).astype(np.int16)
    return out


def _windows() -> StreamWindows:
    rng = np.random.default_rng(0)
    audio = np.concatenate([_tones(rng, 10, KEYWORD_HZ[0]), _tones(rng, 10, KEYWORD_HZ[1]), _tones(rng, 10, OTHER_HZ)])
    return StreamWindows(audio, np.array([0] * 10 + [1] * 10 + [3] * 10), LABELS, _tones(rng, 5, EXTRA_HZ),
                         StreamWindowSettings())


def test_negative_windows_hold_no_keyword_and_are_labelled_non_keyword():
    audio, targets = _windows().negative_windows(30.0, 1600, np.random.default_rng(1))
    assert audio.shape == (len(range(0, 30 * 16000 - 16000 + 1, 1600)), 16000) and audio.dtype == np.int16
    assert np.allclose(targets.sum(1), 1) and not targets[:, :2].any()       # never a keyword target
    assert targets[:, 3].sum() > 0.5 * len(targets)                           # mostly words: _unknown_
    spectra = np.abs(np.fft.rfft(audio.astype(np.float64), axis=1))
    words = spectra[:, [OTHER_HZ, EXTRA_HZ]].max(1)
    assert spectra[:, list(KEYWORD_HZ)].max(1).sum() < 0.01 * words.sum()    # no keyword's tone, only leakage
    assert (spectra[:, EXTRA_HZ] > 1e4).any()      # the out-of-vocabulary words are part of it
    again, _ = _windows().negative_windows(30.0, 1600, np.random.default_rng(1))
    assert np.array_equal(audio, again)
    # A run with a longer clip mines windows of its own length.
    longer = StreamWindows(np.pad(_tones(np.random.default_rng(0), 4, 500), ((0, 0), (0, 8000))), np.zeros(4, int),
                           LABELS, _tones(np.random.default_rng(1), 4, EXTRA_HZ), StreamWindowSettings())
    assert longer.negative_windows(5.0, 1600, np.random.default_rng(1))[0].shape[1] == 24000


class LoudSpotter(torch.nn.Module):
    """Fires 'yes' on the loudest windows (the mean of the energy coefficient), 'no' never."""

    def forward(self, x):
        energy = x[:, 0, :, 0].mean(1) / 10
        zero = torch.zeros_like(energy)
        return torch.stack([energy, zero - 9, zero, zero], 1)


def test_mining_keeps_the_windows_the_model_fires_on_as_non_keywords():
    config = MfccConfig.parse("640/320/40")
    quiet = AugmentSettings(time_shift_ms=0, reverb_prob=0, mic_prob=0, noise_prob=0, level_dbfs=(-10, -10))
    frontend = AugmentedFeatures(config, np.zeros(40), np.ones(40), [], quiet)
    settings = HardNegativeSettings(share=0.25, seconds=30, keep=40, min_prob=0.3)
    hard = HardNegatives(_windows(), LABELS, settings, seed=0)
    stats = hard.mine(LoudSpotter(), frontend, epoch=0, device="cpu")
    assert stats["windows"] == len(range(0, 30 * 16000 - 16000 + 1, 1600)) and 0 < stats["kept"] <= 40
    assert len(hard.audio) == stats["kept"] and not hard.targets[:, :2].any()
    with torch.no_grad():
        scores = torch.softmax(LoudSpotter()(frontend.features(hard.audio.float() / 32767, None)), 1)[:, :2].amax(1)
    assert (scores > 0.3).all()
    audio, targets = hard.batch(16, torch.Generator().manual_seed(0))
    assert audio.shape == (16, 16000) and targets.shape == (16, 4)
    # An empty pool leaves batches alone.
    empty = HardNegatives(_windows(), LABELS, HardNegativeSettings(share=0.25, seconds=5, min_prob=1.0), seed=0)
    empty.mine(LoudSpotter(), frontend, epoch=0, device="cpu")
    assert len(empty.batch(16, torch.Generator())[0]) == 0


@pytest.fixture
def any_window_is_hard(monkeypatch):
    """A barely trained model fires on little: keep every mined window, whatever its probability."""
    monkeypatch.setattr(hard_negatives, "HardNegativeSettings",
                        lambda **kw: HardNegativeSettings(**{"min_prob": -1.0, **kw}))


def test_hard_negatives_come_from_training_material_change_training_and_resume(
        tiny_corpus, tmp_path, monkeypatch, any_window_is_hard):
    from dadarts.data import negatives
    asked = []
    real = negatives.negative_clips
    monkeypatch.setattr(negatives, "negative_clips", lambda name, split, **kw: asked.append((name, split)) or
                        real(name, split, **kw))
    common = ["--model", "ds-cnn-s", "--mfcc", "640/320/40", "--data", str(tiny_corpus), "--epochs", "2",
              "--batch-size", "32", "--quiet", "--device", "cpu"]
    mining = ["--hard-negatives", "0.25", "--mine-every", "1", "--mine-seconds", "8", "--mine-keep", "64"]
    plain, straight, resumed = (RunDir.of(tmp_path / n) for n in ("plain", "straight", "resumed"))
    train_cli(*common, "--run", str(plain.root))
    train_cli(*common, *mining, "--run", str(straight.root))
    assert set(asked) == {("training", "train")}        # out-of-vocabulary words of training voices only
    rows = straight.train_history.read_text().strip().splitlines()
    header = rows[0].split(",")
    kept = [int(r.split(",")[header.index("mined_kept")]) for r in rows[1:]]
    assert kept == [64, 64]
    a, b = rebuild(plain)[0]["state_dict"], rebuild(straight)[0]["state_dict"]
    assert any(not torch.equal(a[k], b[k]) for k in a)           # the option changes what training sees
    settings = read_json(straight.train_metrics, "train_metrics")["settings"]["hard_negatives"]
    assert settings["share"] == 0.25 and settings["every"] == 1

    interrupt_after_first_epoch(monkeypatch, *common, *mining, "--run", str(resumed.root))
    train_cli(str(resumed.root), "--resume", "--quiet", "--device", "cpu")
    c = rebuild(resumed)[0]["state_dict"]
    assert all(torch.equal(b[k], c[k]) for k in b)


def test_init_starts_from_another_runs_weights(tiny_corpus, tmp_path):
    first, tuned = RunDir.of(tmp_path / "first"), RunDir.of(tmp_path / "tuned")
    train_cli("--model", "ds-cnn-s", "--mfcc", "640/320/40", "--data", str(tiny_corpus), "--epochs", "1",
              "--batch-size", "32", "--quiet", "--device", "cpu", "--no-augment", "--run", str(first.root))
    # A learning rate too small to move anything: the tuned weights are the first run's.
    train_cli("--init", str(first.root), "--epochs", "1", "--batch-size", "32", "--lr", "1e-12", "--quiet",
              "--device", "cpu", "--no-augment", "--run", str(tuned.root))
    a, b = rebuild(first)[0], rebuild(tuned)[0]
    assert b["build"] == a["build"] and b["config"] == "640/320/40"
    weights = [k for k in a["state_dict"] if k.endswith("weight")]
    assert weights and all(torch.allclose(a["state_dict"][k], b["state_dict"][k], atol=1e-6) for k in weights)
    assert read_json(tuned.train_metrics, "train_metrics")["settings"]["init"] == str(first.root)
    with pytest.raises(UserError, match="--init"):
        train_cli("--init", str(first.root), "--model", "ds-cnn-m", "--run", str(tmp_path / "other"), "--quiet")


def test_negative_weight_makes_a_false_accept_cost_more_than_a_miss():
    from dadarts.train.loop import weighted_loss
    negatives = torch.tensor([False, False, True, True])
    # Two examples, each scored as badly: a keyword the model calls _unknown_, a negative it calls "yes".
    logits = torch.tensor([[0.0, 0.0, 0.0, 3.0], [3.0, 0.0, 0.0, 0.0]], requires_grad=True)
    targets = torch.tensor([[1.0, 0, 0, 0], [0, 0, 0, 1.0]])
    plain = weighted_loss(logits, targets, 0.1, negatives, 1.0)
    assert torch.isclose(plain, torch.nn.functional.cross_entropy(logits, targets, label_smoothing=0.1))
    weighted = weighted_loss(logits, targets, 0.1, negatives, 3.0)
    assert torch.isclose(weighted, plain)                    # equal losses: the weighted mean is the same
    weighted.backward()
    grad = logits.grad.abs().sum(1)
    assert torch.isclose(grad[1], 3 * grad[0])              # but the false accept pulls three times as hard


def test_stream_windows_and_hard_negatives_both_reach_the_batch():
    """Each share replaces clips of the split: the hard negatives taken after the stream windows must
    not drop them, nor be dropped by them (they once were: the windows cut the batch's first clips,
    where the hard negatives had been put)."""
    from dadarts.train.loop import swap_in
    audio = torch.zeros(8, 4, dtype=torch.int16)
    yb, speech = torch.zeros(8, 3), torch.ones(8, dtype=torch.bool)
    windows, hard = torch.full((2, 4), 1, dtype=torch.int16), torch.full((3, 4), 2, dtype=torch.int16)
    audio, yb, speech = swap_in(audio, yb, speech, windows, torch.ones(2, 3), True)
    audio, yb, speech = swap_in(audio, yb, speech, hard, torch.ones(3, 3), False)
    assert audio.shape == (8, 4) and len(yb) == len(speech) == 8
    assert (audio[:, 0] == 1).sum() == 2 and (audio[:, 0] == 2).sum() == 3 and (audio[:, 0] == 0).sum() == 3
    assert speech.tolist() == [True] * 5 + [False] * 3
