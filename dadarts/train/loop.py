"""The evaluation-phase training loop: one network, one MFCC configuration, trained from scratch.

Read top to bottom: settings dataclass, data, model, optimiser, the epoch loop, the final test.
The same recipe trains the searched network and every baseline, so a comparison is like for like.

Recipe: AdamW (or SGD with Nesterov momentum) with a linear warm-up then cosine decay per step,
label smoothing, gradient clipping, optional drop-path rising linearly over the epochs (PC-DARTS),
and optional augmentation on raw audio (see augment.py). With augmentation a share of every batch
(`stream_windows.share`, a quarter by default) is one-second windows cut from short streams of training
clips and out-of-vocabulary words, with soft targets by the share of a keyword inside
(dadarts/data/stream_windows.py): what the model's input shows on a device. Targets are
probabilities throughout. With a teacher (distill.py) a share of the loss follows a larger trained network's
softened outputs on the same recordings. Without augmentation the cached MFCC features are used directly. Every epoch ends with an atomic checkpoint; `resume=True` continues
from it bit for bit (model, optimiser, RNG states), with the settings saved in it.
"""
from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from ..data.datasets import KwsDataset, training_noise
from ..data.features import fit_normalizer, load_audio_split, load_features
from ..data.engine_split import corpus_engines
from ..data.stream_windows import StreamWindowSettings, training_windows
from ..device import pick_device
from ..errors import UserError
from ..frontend.artifact import write_frontend
from ..frontend.spec import MfccConfig
from ..rundir import RunDir, atomic_path, write_csv_atomic, write_json_atomic
from .augment import AugmentedFeatures, AugmentSettings
from .detection import name_detection
from .distill import DistillSettings, Teacher, distill_loss
from .hard_negatives import HardNegatives, HardNegativeSettings
from .metrics import classification_report, confusion_matrix, model_size
from .models import MODEL_KIND, build_model

METRICS_KIND = "train_metrics"
STREAM_ORDER_SEED = 0     # stream_order: the order a split's clips are heard in by a streamed causal network


@dataclass
class TrainConfig:
    model: str = "ds-cnn-s"
    model_kwargs: dict = field(default_factory=dict)   # e.g. genotype / channels / layers for "searched"
    mfcc: str = "400/200/40"
    epochs: int = 15
    batch_size: int = 64
    optimizer: str = "adamw"          # adamw | sgd
    lr: float = 3e-3
    weight_decay: float = 1e-2
    momentum: float = 0.9             # sgd only
    warmup_epochs: float = 1.0
    label_smoothing: float = 0.1
    drop_path: float = 0.0            # final drop-path probability (searched cells only)
    grad_clip: float = 5.0
    augment: bool = True
    augmentation: AugmentSettings = field(default_factory=AugmentSettings)
    # A share of every batch cut from short streams of training clips (dadarts/data/stream_windows.py).
    stream_windows: StreamWindowSettings = field(default_factory=StreamWindowSettings)
    # A share of every batch drawn from windows of training negatives the model fires on (hard_negatives.py).
    hard_negatives: HardNegativeSettings = field(default_factory=HardNegativeSettings)
    negative_weight: float = 1.0      # weight of a non-keyword target's loss against a keyword's (class weighting)
    # A trained network that teaches this one (distill.py): its softened outputs are a share of the loss.
    distill: DistillSettings = field(default_factory=DistillSettings)
    # Causal chain networks: every example heard after the batch's previous one (its last H feature frames),
    # as a stream's step hears it, instead of after the window's zero padding (ChainNetwork.forward).
    stream_history: bool = False
    init: str | None = None           # a run whose trained weights (train/model.pt) training starts from
    seed: int = 0
    device: str = "auto"
    eval_batch_size: int = 256

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        d = dict(d)
        d["augmentation"] = AugmentSettings.from_dict(d.get("augmentation", {}))
        # Checkpoints from before stream windows existed resume as they were trained: without them.
        d["stream_windows"] = StreamWindowSettings(**d.get("stream_windows", {"share": 0.0}))
        d["hard_negatives"] = HardNegativeSettings(**d.get("hard_negatives", {}))
        d["distill"] = DistillSettings(**d.get("distill", {}))
        return cls(**d)


def lr_at(it: int, total: int, warmup: int, base: float) -> float:
    """Linear warm-up for `warmup` steps, then cosine decay to zero at `total`."""
    if it < warmup:
        return base * (it + 1) / warmup
    progress = (it - warmup) / max(1, total - warmup)
    return base * 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))


def stream_order(n: int) -> np.ndarray:
    """The fixed order in which the n clips of a split are heard one after another when a causal network is
    scored as its stream decides (train --stream-history; dadarts/export/streamed_clips.py)."""
    return np.random.default_rng(STREAM_ORDER_SEED).permutation(n)


def heard_before(x: torch.Tensor, frames: int, zero: float = 0) -> torch.Tensor:
    """(N, frames, F): what each clip of x (N, T, F) is heard after when the clips are heard end to end in
    stream_order: the last `frames` frames of the clips before it (frames of `zero` before the first)."""
    order = torch.from_numpy(stream_order(len(x)))
    T, F = x.shape[1:]
    stream = torch.cat([torch.full((frames, F), zero, dtype=x.dtype), x[order].reshape(-1, F)])
    before = torch.empty(len(x), frames, F, dtype=x.dtype)
    before[order] = stream[torch.arange(len(x))[:, None] * T + torch.arange(frames)]
    return before


@torch.no_grad()
def evaluate(model, x: torch.Tensor, y: torch.Tensor, batch_size: int, device,
             history_frames: int = 0) -> tuple[float, np.ndarray]:
    """Mean cross-entropy and predicted labels of normalised (N, T, F) features. With `history_frames` (a
    causal network trained with --stream-history) each clip is decided after the end of the clip heard
    before it (heard_before), as the network's stream decides it on the device."""
    model.eval()
    loss, preds = 0.0, []
    before = heard_before(x, history_frames) if history_frames else None
    for i in range(0, x.shape[0], batch_size):
        xb, yb = x[i:i + batch_size, None].to(device), y[i:i + batch_size].to(device)
        heard = {} if before is None else {"history": before[i:i + batch_size, None].to(device)}
        logits = model(xb.contiguous(memory_format=torch.channels_last), **heard)
        loss += F.cross_entropy(logits, yb, reduction="sum").item()
        preds.append(logits.argmax(1).cpu())
    return loss / max(1, x.shape[0]), torch.cat(preds).numpy()


def weighted_loss(logits, targets, label_smoothing: float, negatives: torch.Tensor, weight: float) -> torch.Tensor:
    """Cross-entropy of probability targets; with `weight` != 1 each example counts 1 + (weight - 1) x its
    target's mass on the non-keyword classes (`negatives`, a (labels,) mask): a spotter's false accepts
    cost more than its misses (weighted mean)."""
    if weight == 1.0:
        return F.cross_entropy(logits, targets, label_smoothing=label_smoothing)
    per = F.cross_entropy(logits, targets, label_smoothing=label_smoothing, reduction="none")
    w = 1.0 + (weight - 1.0) * targets[:, negatives].sum(1)
    return (per * w).sum() / w.sum()


def swap_in(audio, yb, is_speech, cut, soft, conditions: bool):
    """The batch with its first len(cut) clips dropped and `cut` (targets `soft`) appended; `conditions`:
    whether the new ones get recording conditions. Stream windows and then hard negatives each take
    their share this way, so each replaces clips of the split, never the other's examples."""
    n = len(cut)
    return (torch.cat([audio[n:], cut]), torch.cat([yb[n:], soft]),
            torch.cat([is_speech[n:], torch.full((n,), conditions, dtype=torch.bool)]))


def make_optimizer(cfg: TrainConfig, model) -> torch.optim.Optimizer:
    # No weight decay on batch-norm and bias parameters: it only fights the normalisation.
    decay = [p for p in model.parameters() if p.dim() > 1]
    no_decay = [p for p in model.parameters() if p.dim() <= 1]
    groups = [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(groups, lr=cfg.lr)
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=cfg.lr, momentum=cfg.momentum, nesterov=True)
    raise UserError(f"Unknown optimizer '{cfg.optimizer}': use adamw or sgd.")


def init_weights(root: str, cfg: TrainConfig, config: MfccConfig, labels: list[str]) -> dict:
    """The trained weights of run `root` (train/model.pt), refused unless it is the network to train."""
    run = RunDir.of(root)
    run.require(run.model, hint=f"train {root} first, or start from another run.")
    saved = torch.load(run.model, map_location="cpu", weights_only=False)
    build = saved["build"]
    if (build["name"], list(build["input_shape"]), build["kwargs"], saved["labels"]) != \
            (cfg.model, list(config.shape), cfg.model_kwargs, labels):
        raise UserError(f"{run.model} holds another network or labels than the one to train "
                        f"({build['name']} on {saved['config']}, {len(saved['labels'])} labels): "
                        f"train without --init, or with the same model, configuration and task.")
    return saved["state_dict"]


def train(cfg: TrainConfig, ds: KwsDataset, run: RunDir, resume: bool = False, progress: bool = True,
          extra_metrics: dict | None = None, source: dict | None = None) -> dict:
    """Train, test and write train/{model.pt, frontend.json, metrics.json, history.csv}; return the metrics.

    `source` (dataset folder, task, names) is kept in the checkpoint so that `--resume` finds the data."""
    from tqdm import tqdm

    start_state = None
    if resume:
        if not run.train_checkpoint.is_file():
            raise UserError(f"{run.train_checkpoint} does not exist: nothing to resume, run without --resume.")
        start_state = torch.load(run.train_checkpoint, map_location="cpu", weights_only=False)
        if start_state.get("dataset_fingerprint") != ds.fingerprint:
            raise UserError(f"{run.train_checkpoint} was trained on another dataset: resume with the same --data and --task.")
        cfg = TrainConfig.from_dict(start_state["settings"])
    if cfg.epochs < 1 or cfg.batch_size < 1:
        raise UserError("--epochs and --batch-size must be at least 1.")
    device = pick_device(cfg.device)
    torch.manual_seed(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    config = MfccConfig.parse(cfg.mfcc)
    labels = list(ds.labels)
    teacher = None
    if cfg.distill.teacher:
        if not cfg.augment:
            raise UserError("A teacher hears the recordings training draws: train with --augment (the default) "
                            "to use --teacher.")
        teacher = Teacher(cfg.distill.teacher, labels, ds.fingerprint, config.clip_samples).to(device)

    # Data: normaliser from the training split; validation and test from the feature cache.
    norm = fit_normalizer(ds, config)
    val, test = load_features(ds, "validation", config), load_features(ds, "testing", config)
    x_val, x_test = norm.apply(val.x), norm.apply(test.x)
    windows = hard = None
    if cfg.augment:
        # Dry speech on the built-in corpus: the conditions are drawn anew for every example and epoch.
        train_audio = load_audio_split(ds, "train", dry=True, samples=config.clip_samples)
        y_train = train_audio.y
        speech = torch.tensor([c.path is not None for c in ds.splits["train"]])
        frontend = AugmentedFeatures(config, norm.mean, norm.std, training_noise(ds), cfg.augmentation,
                                     seed=cfg.seed).to(device)
        if cfg.stream_windows.share > 0 or cfg.hard_negatives.share > 0:
            windows = training_windows(train_audio.audio.numpy(), y_train.numpy(), labels, cfg.stream_windows,
                                       engines=corpus_engines(ds.root))
        if cfg.hard_negatives.share > 0:
            hard = HardNegatives(windows, labels, cfg.hard_negatives, cfg.seed)
    else:
        feats = load_features(ds, "train", config)
        x_train, y_train = norm.apply(feats.x), feats.y
    n_train = int(y_train.shape[0])

    # Model and optimiser.
    # channels_last: oneDNN's depthwise convolutions (DS-CNN, separable cells) run about 1.5x faster.
    model = build_model(cfg.model, config.shape, len(labels), **cfg.model_kwargs).to(
        device, memory_format=torch.channels_last)
    optimizer = make_optimizer(cfg, model)
    history_frames = model.history_frames() if cfg.stream_history else 0
    # Drop the last partial batch unless it is the only one: a batch of one breaks batch norm.
    steps = max(1, n_train // cfg.batch_size)
    total, warmup = steps * cfg.epochs, int(cfg.warmup_epochs * steps)
    history: list[dict] = []
    first_epoch = 0
    if cfg.init and start_state is None:
        model.load_state_dict(init_weights(cfg.init, cfg, config, labels))
    if start_state is not None:
        model.load_state_dict(start_state["model"])
        optimizer.load_state_dict(start_state["optimizer"])
        gen.set_state(start_state["generator"])
        torch.set_rng_state(start_state["torch_rng"])
        history, first_epoch = start_state["history"], start_state["epoch"]
        if hard is not None and "hard_negatives" in start_state:
            hard.load_state_dict(start_state["hard_negatives"])

    negatives = torch.tensor([name.startswith("_") for name in labels], device=device)
    train_time = sum(r["seconds"] for r in history)
    for epoch in range(first_epoch, cfg.epochs):
        if hasattr(model, "drop_path_prob"):
            model.drop_path_prob = cfg.drop_path * epoch / cfg.epochs
        model.train()
        t0 = time.perf_counter()
        # Mining columns in history.csv: blank in epochs that reuse the pool.
        mined = dict.fromkeys(("windows", "kept", "over_0.5", "over_0.8", "seconds"), "") if hard is not None else {}
        if cfg.augment:
            frontend.new_epoch(epoch)
            if hard is not None and hard.due(epoch):   # the current model's false accepts on training negatives
                mined = hard.mine(model, frontend, epoch, device)
        perm = torch.randperm(n_train, generator=gen)
        loss_sum, correct, seen = 0.0, 0, 0
        # disable=None: tqdm stays silent when stderr is not a terminal (logs get the epoch lines only).
        bar = tqdm(range(steps), desc=f"epoch {epoch + 1}/{cfg.epochs}", disable=None if progress else True, leave=False)
        for step in bar:
            lr = lr_at(epoch * steps + step, total, warmup, cfg.lr)
            for group in optimizer.param_groups:
                group["lr"] = lr
            idx = perm[step * cfg.batch_size:(step + 1) * cfg.batch_size]
            yb = F.one_hot(y_train[idx], len(labels)).float()      # targets as probabilities
            if cfg.augment:
                audio, is_speech = train_audio.audio[idx], speech[idx]
                if cfg.stream_windows.share > 0:   # a share of the batch: one-second windows cut from short streams
                    k = round(len(idx) * cfg.stream_windows.share)
                    rng = np.random.default_rng(int(torch.randint(2 ** 62, (1,), generator=gen)))
                    cut, soft = windows.batch(k, rng)
                    # windows are dry speech over a noise floor: they get the recording conditions too
                    audio, yb, is_speech = swap_in(audio, yb, is_speech, torch.from_numpy(cut), torch.from_numpy(soft), True)
                if hard is not None:      # a share of the batch: mined hard negatives, already recorded
                    cut, soft = hard.batch(round(len(idx) * cfg.hard_negatives.share), gen)
                    audio, yb, is_speech = swap_in(audio, yb, is_speech, cut, soft, False)
                recorded = frontend.record(audio, gen, is_speech)
                xb = frontend.features(recorded, gen)
            else:
                xb = x_train[idx, None].to(device)
            yb = yb.to(device)
            if history_frames:     # the previous example's last frames, heard before this one (as in a stream)
                before = torch.roll(xb, 1, dims=0)[:, :, xb.shape[2] - history_frames:]
                logits = model(xb.contiguous(memory_format=torch.channels_last), history=before)
            else:
                logits = model(xb.contiguous(memory_format=torch.channels_last))
            loss = weighted_loss(logits, yb, cfg.label_smoothing, negatives, cfg.negative_weight)
            if teacher is not None:     # the teacher's view of the same recordings, unmasked
                w = cfg.distill.weight
                loss = (1 - w) * loss + w * distill_loss(logits, teacher(recorded), cfg.distill.temperature)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if cfg.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            optimizer.step()
            loss_sum += loss.item() * len(idx)
            correct += int((logits.argmax(1) == yb.argmax(1)).sum())
            seen += len(idx)
            bar.set_postfix(loss=f"{loss_sum / seen:.3f}", acc=f"{correct / seen:.3f}", lr=f"{lr:.2e}")
        seconds = time.perf_counter() - t0
        train_time += seconds
        val_loss, val_pred = evaluate(model, x_val, val.y, cfg.eval_batch_size, device, history_frames)
        val_acc = float((val_pred == val.y.numpy()).mean())
        history.append({"epoch": epoch + 1, "lr": lr, "train_loss": loss_sum / seen, "train_acc": correct / seen,
                        "val_loss": val_loss, "val_acc": val_acc,
                        "drop_path": getattr(model, "drop_path_prob", 0.0), "seconds": seconds,
                        "samples_per_s": seen / seconds,
                        **{f"mined_{k}": v for k, v in mined.items() if k != "epoch"}})
        if progress and mined.get("windows"):
            print(f"  mined {mined['kept']} hard negatives of {mined['windows']} windows of training negatives "
                  f"({mined['over_0.5']} over 0.5) in {mined['seconds']:.1f}s")
        if progress:
            print(f"epoch {epoch + 1}/{cfg.epochs}  train loss {loss_sum / seen:.3f} acc {correct / seen:.3f}  "
                  f"val loss {val_loss:.3f} acc {val_acc:.3f}  {seconds:.1f}s")
        with atomic_path(run.train_checkpoint) as tmp:
            torch.save({"epoch": epoch + 1, "settings": asdict(cfg), "model": model.state_dict(),
                        "optimizer": optimizer.state_dict(), "generator": gen.get_state(),
                        "torch_rng": torch.get_rng_state(), "history": history,
                        "dataset_fingerprint": ds.fingerprint, "source": source or {},
                        **({"hard_negatives": hard.state_dict()} if hard is not None else {})}, tmp)
        write_csv_atomic(run.train_history, history)

    # Final model on the test split (the last epoch's weights: no selection on test or validation).
    test_loss, test_pred = evaluate(model, x_test, test.y, cfg.eval_batch_size, device, history_frames)
    report = classification_report(confusion_matrix(test.y.numpy(), test_pred, len(labels)), labels)
    if history_frames:       # accuracy, validation too, are streamed: each clip heard after the one before it
        _, window_pred = evaluate(model, x_test, test.y, cfg.eval_batch_size, device)
        report["streamed"] = {"history_frames": history_frames, "order_seed": STREAM_ORDER_SEED,
                              "window_accuracy": float((window_pred == test.y.numpy()).mean())}
    if ds.task == "names":   # imbalanced: per-name false reject / accept rates and DET curves matter
        report["detection"] = name_detection(model, x_test, test.y, labels, cfg.eval_batch_size, device,
                                             run.train / "det.png")
    model = model.cpu().to(memory_format=torch.contiguous_format)
    if hasattr(model, "drop_path_prob"):
        model.drop_path_prob = 0.0
    build = {"name": cfg.model, "input_shape": list(config.shape), "num_classes": len(labels),
             "kwargs": cfg.model_kwargs}
    with atomic_path(run.model) as tmp:
        torch.save({"schema": 1, "kind": MODEL_KIND, "build": build, "state_dict": model.state_dict(),
                    "labels": labels, "config": config.name, "task": ds.task}, tmp)
    write_frontend(run.frontend, config, norm.mean, norm.std)
    metrics = {
        "model": cfg.model, "config": config.name, "task": ds.task, "labels": labels,
        **report, "test_loss": test_loss,
        "validation_accuracy": history[-1]["val_acc"],
        **model_size(model, config.shape),
        "seed": cfg.seed, "epochs": cfg.epochs, "wall_time_s": train_time,
        "train_samples_per_s": sum(r["samples_per_s"] for r in history) / len(history),
        "device": str(device), "dataset_fingerprint": ds.fingerprint,
        "settings": asdict(cfg), **({"teacher": teacher.summary} if teacher is not None else {}),
        **(extra_metrics or {}),
    }
    write_json_atomic(run.train_metrics, metrics, kind=METRICS_KIND)
    return metrics
