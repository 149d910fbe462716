"""Metrics on a hand-made confusion case, and parameter / MAC counting on networks small enough to count by hand."""
import pytest
import torch
from torch import nn

from dadarts.train.metrics import (classification_report, confusion_matrix, count_macs, count_params,
                                   count_params_with_buffers)

LABELS = ["yes", "no", "_silence_", "_unknown_"]


def test_hand_made_confusion_case():
    # yes: 4 clips, 3 right, 1 called "no"; no: 2 clips, both called "yes"; silence: 1 right;
    # unknown: no clips at all.
    y_true = [0, 0, 0, 0, 1, 1, 2]
    y_pred = [0, 0, 0, 1, 0, 0, 2]
    cm = confusion_matrix(y_true, y_pred, 4)
    assert cm.tolist() == [[3, 1, 0, 0], [2, 0, 0, 0], [0, 0, 1, 0], [0, 0, 0, 0]]
    r = classification_report(cm, LABELS)
    assert r["accuracy"] == pytest.approx(4 / 7)
    assert r["per_class"] == {"yes": 0.75, "no": 0.0, "_silence_": 1.0, "_unknown_": None}
    # balanced: mean over the three classes that have examples, (0.75 + 0 + 1) / 3
    assert r["balanced_accuracy"] == pytest.approx(1.75 / 3)
    assert r["support"] == {"yes": 4, "no": 2, "_silence_": 1, "_unknown_": 0}
    assert r["n"] == 7


class WithAux(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, (3, 5), stride=(2, 1), padding=(1, 2), bias=False)   # 60 weights
        self.bn = nn.BatchNorm2d(4)                                                      # 8 params, 9 buffers
        self.dw = nn.Conv2d(4, 4, 3, padding=1, groups=4)                                # 36 + 4
        self.fc = nn.Linear(4, 3)                                                        # 12 + 3
        self.auxiliary_head = nn.Linear(4, 3)                                            # excluded

    def forward(self, x):
        return self.fc(self.dw(self.bn(self.conv(x))).mean(dim=(2, 3)))


def test_params_exclude_auxiliary_and_count_buffers():
    m = WithAux()
    assert count_params(m) == 60 + 8 + 40 + 15
    assert count_params_with_buffers(m) == 60 + 8 + 40 + 15 + 4 + 4 + 1


def test_macs_by_hand():
    # Input 10x6 -> conv stride (2,1) -> 5x6x4 outputs, 15 MACs each; depthwise 5x6x4 x 9; fc 4x3.
    assert count_macs(WithAux(), (10, 6)) == 5 * 6 * 4 * 15 + 5 * 6 * 4 * 9 + 12


def test_macs_leave_training_mode_alone():
    m = WithAux().train()
    count_macs(m, (10, 6))
    assert m.training
    m.eval()
    count_macs(m, (10, 6))
    assert not m.training
