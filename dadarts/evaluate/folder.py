"""Clip accuracy of a trained run on a folder, along the three paths a model goes from training to device:

- float: the PyTorch model on the float MFCC (as `dadarts train` measures it);
- int8: the exported int8 TFLite model on the same float MFCC, quantised to its input (as export does);
- fixed: the int8 model on the fixed-point front-end's int8 features (what the firmware computes);
- for a chain network causal in time, streamed_float and streamed_fixed: each clip decided by the stream
  step after the clips before it (the int8 step model when the run has one;
  dadarts/export/streamed_clips.py), since that step hears audio where the window alone reads zeros.

Each path gets accuracy, balanced accuracy, per-class accuracy and the confusion matrix; the names task
also gets per-name false-reject / false-accept rates (train.detection). RUN/evaluate/<name>/metrics.json
(kind "evaluation") holds them.
"""
from __future__ import annotations

import numpy as np
import torch

from ..data.datasets import KwsDataset
from ..data.features import load_audio_split, load_features
from ..export.step_model import StepModel, default_frames_per_step, time_stride
from ..export.streamed_clips import is_causal, streamed_logits
from ..frontend import fixed
from ..frontend.spec import SAMPLE_RATE
from ..train.detection import detection_report
from ..train.metrics import classification_report, confusion_matrix
from .runmodels import RunModels

KIND = "evaluation"
PATHS = {"float": "float (PyTorch)", "int8": "int8 (LiteRT, float MFCC)", "fixed": "int8 + fixed-point front-end",
         "streamed_float": "float, streamed after speech", "streamed_fixed": "int8 step + fixed, streamed"}


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@torch.no_grad()
def _float_logits(models: RunModels, x: np.ndarray, batch: int = 256) -> np.ndarray:
    out = [models.float_model(torch.from_numpy(x[i:i + batch, None])).float().numpy() for i in range(0, len(x), batch)]
    return np.concatenate(out) if out else np.zeros((0, len(models.labels)), np.float32)


def fixed_features(pcm: np.ndarray, tables: fixed.FixedTables, clips_per_call: int = 64) -> np.ndarray:
    """(N, T, F) int8 features of (N, clip samples) int16 clips through the fixed-point front-end."""
    t, f = tables.config.shape
    out = np.empty((len(pcm), t, f), np.int8)
    for i in range(0, len(pcm), clips_per_call):
        frames = np.concatenate([fixed.frame_signal(x, tables.config) for x in pcm[i:i + clips_per_call]])
        out[i:i + clips_per_call] = fixed.features_from_frames(frames, tables).reshape(-1, t, f)
    return out


def _path_report(probs: np.ndarray, y: np.ndarray, labels: list[str], task: str) -> dict:
    report = classification_report(confusion_matrix(y, probs.argmax(1), len(labels)), labels)
    if task == "names":
        report["detection"] = {k: {m: v[m] for m in ("positives", "negatives", "false_reject_rate",
                                                     "false_accept_rate", "eer")}
                               for k, v in detection_report(probs, y, labels, [n for n in labels if n[0] != "_"]).items()}
    return report


def frames_per_step(models: RunModels) -> int:
    """The run's exported step model's frames per step, or the default step of its network."""
    if models.step is not None:
        return int(models.step_meta["frames_per_step"])
    return default_frames_per_step(time_stride(models.float_model), models.config.hop * 1000.0 / SAMPLE_RATE)


def evaluate(models: RunModels, ds: KwsDataset) -> dict:
    """Reports of every path on the testing split of `ds` (labelled with the run's labels)."""
    feats = load_features(ds, "testing", models.config)
    y = feats.y.numpy()
    x = ((feats.x.float().numpy() - models.mean) / models.std).astype(np.float32)
    probs = {"float": _softmax(_float_logits(models, x))}
    x_fixed = None
    if models.int8 is not None:
        probs["int8"] = _softmax(models.int8.dequantize(models.int8(models.int8.quantize(x))))
        pcm = load_audio_split(ds, "testing", samples=models.config.clip_samples).audio.numpy()
        x_fixed = fixed_features(pcm, models.tables)
        probs["fixed"] = _softmax(models.int8.dequantize(models.int8(x_fixed)))
    if is_causal(models.float_model):       # what its stream step decides, after the clips before each
        step = StepModel(models.float_model, x.shape[1:], frames_per_step(models)).eval()
        streamed = streamed_logits(step, x, models.step, x_fixed)
        probs.update({{"streamed_int8": "streamed_fixed"}.get(k, k): _softmax(v) for k, v in streamed.items()})
    paths = {name: _path_report(p, y, models.labels, models.task) for name, p in probs.items()}
    agreement = {}
    if "int8" in probs:
        agreement = {"int8_vs_float": float(np.mean(probs["int8"].argmax(1) == probs["float"].argmax(1))),
                     "fixed_vs_int8": float(np.mean(probs["fixed"].argmax(1) == probs["int8"].argmax(1)))}
    return {"run": str(models.run.root), "data": str(ds.root), "task": models.task, "labels": models.labels,
            "config": models.config.name, "clips": int(len(y)), "fingerprint": ds.fingerprint,
            "skipped": ds.skipped, "converted": ds.converted, "paths": paths, "top1_agreement": agreement,
            "missing_paths": [] if models.int8 is not None else ["int8", "fixed"]}


def format_report(result: dict) -> str:
    """The printed summary: accuracy per path, per-class accuracy and the confusion of the device path."""
    lines = [f"{'path':<30}{'accuracy':>10}{'balanced':>10}"]
    for key, name in PATHS.items():
        if key in result["paths"]:
            r = result["paths"][key]
            lines.append(f"{name:<30}{r['accuracy'] * 100:>9.2f}%{r['balanced_accuracy'] * 100:>9.2f}%")
    if result["missing_paths"]:
        lines.append("int8 and fixed-point paths: the run has no int8 export (dadarts export RUN --int8)")
    which = next(k for k in ("streamed_fixed", "fixed", "float") if k in result["paths"])   # the device's path
    device = result["paths"][which]
    labels = result["labels"]
    pct = lambda v: "-" if v is None else f"{v * 100:.2f} %"  # noqa: E731
    width = max(len(n) for n in labels)
    lines.append(f"\nper class ({PATHS[which]}):")
    for name in labels:
        acc = device["per_class"][name]
        lines.append(f"  {name:<{width}}  {pct(acc):>8}  ({device['support'][name]} clips)")
    if len(labels) <= 12:
        lines.append(f"\nconfusion ({PATHS[which]}; rows: true label, columns: predicted, in label order):")
        for name, row in zip(labels, device["confusion"]):
            lines.append(f"  {name:<{width}}  " + " ".join(f"{v:>4}" for v in row))
    for name, d in (device.get("detection") or {}).items():
        lines.append(f"{name}: false reject {pct(d['false_reject_rate'])}, false accept "
                     f"{pct(d['false_accept_rate'])}, EER {pct(d['eer'])}")
    return "\n".join(lines)
