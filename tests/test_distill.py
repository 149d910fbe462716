"""Distillation (`dadarts train --teacher RUN`): the loss pulls the student to the teacher's softened
outputs, the teacher hears the student's recordings through its own front-end, and a teacher that
could bring in other clips is refused."""
from __future__ import annotations

import pytest
import torch

from dadarts.errors import UserError
from dadarts.rundir import RunDir, read_json, write_json_atomic
from dadarts.train import distill
from dadarts.train.distill import distill_loss

from test_train import interrupt_after_first_epoch, rebuild, train_cli


def test_the_distillation_loss_is_minimised_by_the_teachers_distribution():
    teacher = torch.tensor([[3.0, 1.0, -2.0, 0.5], [-1.0, 2.0, 0.0, 0.0]])
    assert distill_loss(teacher, teacher, 2.0).item() == pytest.approx(0.0, abs=1e-6)
    # T^2 x KL(p || q) of the softened distributions, by hand
    student = torch.tensor([[0.0, 0.0, 0.0, 0.0], [1.0, 0.0, 0.0, -1.0]])
    p, q = torch.softmax(teacher / 2, 1), torch.softmax(student / 2, 1)
    assert distill_loss(student, teacher, 2.0).item() == pytest.approx(4 * (p * (p / q).log()).sum(1).mean().item(), rel=1e-5)
    # gradient descent on the student's logits alone ends at the teacher's distribution
    logits = torch.zeros(2, 4, requires_grad=True)
    opt = torch.optim.SGD([logits], lr=0.5)
    for _ in range(2000):
        opt.zero_grad()
        distill_loss(logits, teacher, 2.0).backward()
        opt.step()
    assert torch.allclose(torch.softmax(logits, 1), torch.softmax(teacher, 1), atol=1e-3)


def _teacher(tiny_corpus, tmp_path) -> RunDir:
    run = RunDir.of(tmp_path / "teacher")
    train_cli("--model", "ds-cnn-s", "--mfcc", "640/320/40", "--data", str(tiny_corpus), "--run", str(run.root),
              "--epochs", "1", "--batch-size", "32", "--quiet", "--device", "cpu")
    return run


def test_a_student_hears_its_recordings_through_the_teachers_front_end(tiny_corpus, tmp_path, monkeypatch):
    teacher = _teacher(tiny_corpus, tmp_path)
    heard = []
    forward = distill.Teacher.forward

    def spy(self, recorded):
        logits = forward(self, recorded)
        heard.append((recorded.shape, self.mfcc(recorded).shape, logits.shape))
        return logits
    monkeypatch.setattr(distill.Teacher, "forward", spy)
    student = RunDir.of(tmp_path / "student")
    # another configuration than the teacher's: the teacher computes its own 640/320/40 features
    train_cli("--model", "ds-cnn-s", "--mfcc", "400/200/20", "--data", str(tiny_corpus), "--run", str(student.root),
              "--epochs", "1", "--batch-size", "32", "--quiet", "--device", "cpu", "--teacher", str(teacher.root),
              "--distill", "0.7", "--distill-temperature", "3")
    assert heard and all(a == (32, 16000) and f[1:] == (49, 40) and y == (32, 12) for a, f, y in heard)
    m = read_json(student.train_metrics, "train_metrics")
    assert m["settings"]["distill"] == {"teacher": str(teacher.root), "weight": 0.7, "temperature": 3.0}
    assert m["teacher"]["model"] == "ds-cnn-s" and m["teacher"]["config"] == "640/320/40"
    assert rebuild(student)[0]["config"] == "400/200/20"      # the student is what it was asked to be


def test_a_distilled_training_resumes_bit_for_bit(tiny_corpus, tmp_path, monkeypatch):
    teacher = _teacher(tiny_corpus, tmp_path)
    args = ("--model", "ds-cnn-s", "--mfcc", "640/320/40", "--data", str(tiny_corpus), "--epochs", "2",
            "--batch-size", "32", "--quiet", "--device", "cpu", "--teacher", str(teacher.root))
    whole, resumed = RunDir.of(tmp_path / "whole"), RunDir.of(tmp_path / "resumed")
    train_cli(*args, "--run", str(whole.root))
    interrupt_after_first_epoch(monkeypatch, *args, "--run", str(resumed.root))
    monkeypatch.undo()
    train_cli("--run", str(resumed.root), "--resume", "--quiet", "--device", "cpu")
    a, b = rebuild(whole)[0]["state_dict"], rebuild(resumed)[0]["state_dict"]
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_a_teacher_that_could_bring_in_other_clips_is_refused(tiny_corpus, tmp_path):
    teacher = _teacher(tiny_corpus, tmp_path)
    student = str(tmp_path / "student")
    common = ("--model", "ds-cnn-s", "--mfcc", "640/320/40", "--data", str(tiny_corpus), "--epochs", "1", "--quiet",
              "--device", "cpu")
    metrics = read_json(teacher.train_metrics, "train_metrics")
    write_json_atomic(teacher.train_metrics, {**metrics, "dataset_fingerprint": "another"}, kind="train_metrics")
    with pytest.raises(UserError, match="another dataset"):
        train_cli(*common, "--run", student, "--teacher", str(teacher.root))
    write_json_atomic(teacher.train_metrics, metrics, kind="train_metrics")
    with pytest.raises(UserError, match="--augment"):
        train_cli(*common, "--run", student, "--teacher", str(teacher.root), "--no-augment")
    with pytest.raises(UserError, match="the run being trained"):
        train_cli(*common, "--run", str(teacher.root), "--teacher", str(teacher.root))
    with pytest.raises(UserError, match="--distill"):
        train_cli(*common, "--run", student, "--teacher", str(teacher.root), "--distill", "0")
    with pytest.raises(UserError, match="train the teacher first"):
        train_cli(*common, "--run", student, "--teacher", str(tmp_path / "nothing"))
    with pytest.raises(UserError, match="same window"):
        train_cli(*common, "--clip-ms", "1500", "--run", student, "--teacher", str(teacher.root))
