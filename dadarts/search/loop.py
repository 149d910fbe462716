"""The search loop: warm-up on w, then alternate w (train half) and α, β, γ (arch half), epoch by epoch.

Read top to bottom: `prepare_data` moves every configuration's normalised features to the device
once; `search` builds the supernet, optionally resumes from the checkpoint, and runs the epochs.
Batches are index tensors on the device: no per-sample work on the CPU inside the loop. After
every epoch it evaluates on the validation split, applies the γ early-stop rule, and writes
history.csv and checkpoint.pt atomically; at the end it writes result.json.
"""
from __future__ import annotations

import contextlib
import math
import time
from dataclasses import dataclass, field

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..errors import UserError
from ..frontend.spec import MfccConfig
from ..rundir import RunDir, atomic_path, write_csv_atomic, write_json_atomic
from . import genotypes as G
from .architect import Architect
from ..costmodel import chain as chain_space
from .chain_cost import chain_deployment
from .cost import Budget, CostTables, deployment, estimate_costs
from .distributed import DistInfo, average_, broadcast_state_, sum_
from .mixer import gamma_should_stop
from .model import DataAwareSupernet
from .settings import SearchSettings

CHECKPOINT_KIND = "search_checkpoint"


@dataclass
class SearchData:
    """Normalised features of every configuration, resident on the device."""
    configs: list[MfccConfig]
    labels: list[str]
    train_x: list[torch.Tensor]       # per configuration (N, T_d, F_d), storage dtype
    train_y: torch.Tensor             # (N,)
    val_x: list[torch.Tensor]
    val_y: torch.Tensor
    task: str = ""
    fingerprint: str = ""

    @property
    def num_classes(self) -> int:
        return len(self.labels)


def prepare_data(ds, configs: list[MfccConfig], device: torch.device, max_train: int = 0, seed: int = 0,
                 storage_dtype: torch.dtype = torch.float16) -> SearchData:
    """Load (cached) features for every configuration, normalise with train statistics, move to device."""
    from ..data.features import fit_normalizer, load_features

    n_train = len(ds.splits.get("train", []))
    if n_train < 4 or not ds.splits.get("validation"):
        raise UserError("The dataset needs a training split of at least 4 clips and a validation split to search: "
                        "check the folder's validation_list.txt or use more data.")
    keep = None
    if max_train and max_train < n_train:
        # A fixed random subset (seeded), the same for every configuration.
        keep = torch.randperm(n_train, generator=torch.Generator().manual_seed(seed))[:max_train].sort().values
    train_x, val_x, train_y, val_y = [], [], None, None
    for cfg in configs:
        norm = fit_normalizer(ds, cfg)
        tr = load_features(ds, "train", cfg)
        va = load_features(ds, "validation", cfg)
        x = tr.x if keep is None else tr.x[keep]
        train_x.append(norm.apply(x).to(storage_dtype).to(device))
        val_x.append(norm.apply(va.x).to(storage_dtype).to(device))
        train_y = (tr.y if keep is None else tr.y[keep]).to(device)
        val_y = va.y.to(device)
    return SearchData(list(configs), list(ds.labels), train_x, train_y, val_x, val_y,
                      task=getattr(ds, "task", ""), fingerprint=getattr(ds, "fingerprint", ""))


@dataclass
class SearchOutcome:
    result: dict
    history: list[dict] = field(default_factory=list)
    model: DataAwareSupernet | None = None


def _autocast(device: torch.device):
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def _batch(xs: list[torch.Tensor], idx: torch.Tensor, needed: list[int]) -> list[torch.Tensor | None]:
    return [xs[d].index_select(0, idx).float() if d in needed else None for d in range(len(xs))]


@torch.no_grad()
def evaluate(model: DataAwareSupernet, val_x: list[torch.Tensor], val_y: torch.Tensor, device: torch.device,
             info: DistInfo, batch_size: int = 512) -> tuple[float, float]:
    """(loss, accuracy) on the validation split, sharded across processes."""
    model.eval()
    n = val_y.shape[0]
    idx_all = torch.arange(info.rank, n, info.world_size, device=val_y.device)
    totals = torch.zeros(3, dtype=torch.float64, device=device)
    for i in range(0, idx_all.numel(), batch_size):
        idx = idx_all[i:i + batch_size]
        with _autocast(device):
            logits = model(_batch(val_x, idx, model.needs()))
        y = val_y[idx]
        totals[0] += F.cross_entropy(logits.float(), y, reduction="sum")
        totals[1] += (logits.argmax(1) == y).sum()
        totals[2] += y.numel()
    sum_(totals, info)
    model.train()
    return float(totals[0] / totals[2]), float(totals[1] / totals[2])


def _rng_state() -> dict:
    state = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def genotype_dict(genotype) -> dict:
    """The JSON form of a derived architecture: a cell Genotype's dict, or a chain architecture as is."""
    return genotype if isinstance(genotype, dict) else G.to_dict(genotype)


def genotype_str(genotype) -> str:
    return chain_space.to_str(genotype) if isinstance(genotype, dict) else G.to_str(genotype)


def _result(model: DataAwareSupernet, data: SearchData, settings: SearchSettings, gamma_stop_epoch, val_acc) -> dict:
    genotype = model.genotype()
    p = model.gamma_softmax().cpu()
    names = [c.name for c in data.configs]
    chosen = names[int(p.argmax())] if len(names) > 1 else names[0]
    return {
        "task": data.task, "labels": data.labels, "config": chosen,
        "genotype": genotype_dict(genotype), "genotype_str": genotype_str(genotype),
        "gamma": {n: round(float(v), 6) for n, v in zip(names, p)} if len(names) > 1 else {names[0]: 1.0},
        "gamma_stop_epoch": gamma_stop_epoch, "align": settings.align, "space": settings.space,
        "data_space": names, "settings": settings.to_dict(),
        "dataset_fingerprint": data.fingerprint, "search_val_accuracy": round(val_acc, 6),
    }


def _within_budget(result: dict, model: DataAwareSupernet, cost, budget: Budget) -> dict:
    """A chain search whose argmax ends over its budget hands on the most probable network within it
    (dadarts.search.chain.within_budget): result.json's genotype, with the moves ("narrowed") and the argmax
    with its predicted cost ("argmax") beside it; nothing when the argmax fits."""
    from .chain import within_budget
    config = MfccConfig.parse(result["config"])

    def costs(arch: dict) -> dict:
        return estimate_costs(cost.estimate(arch, config))

    def excess(arch: dict) -> float:
        c = costs(arch)
        return sum(max(0.0, c[k] / b - 1.0) for k, b in budget.items())

    arch, moves = within_budget(result["genotype"], model.net.arch_parameters(), model.net.widths, excess)
    if not moves:
        return {}
    return {"genotype": arch, "genotype_str": genotype_str(arch), "narrowed": moves,
            "argmax": {"genotype": result["genotype"], "genotype_str": result["genotype_str"],
                       "predicted": {k: round(v, 3) for k, v in costs(result["genotype"]).items()}}}


def _deployment(result: dict, settings: SearchSettings, cost: CostTables | None, budget: Budget | None,
                num_classes: int) -> dict:
    """Board, budget, the trained network's size and the derived system's predicted cost (result.json)."""
    if settings.space == "chain":
        return chain_deployment(result["genotype"], MfccConfig.parse(result["config"]), num_classes,
                                cost.target if cost else None, budget, settings.decision_ms)
    fixed = bool(settings.final_channels and settings.final_layers)
    channels = settings.final_channels or (cost.channels if cost else settings.channels)
    layers = settings.final_layers or (cost.layers if cost else settings.layers)
    return deployment(result["genotype"], MfccConfig.parse(result["config"]), settings.space, num_classes,
                      cost.target if cost else None, budget, settings.decision_ms if cost else None,
                      channels, layers, fixed)


def _expected_cost(cost: CostTables, model: DataAwareSupernet, derived: bool = False) -> dict[str, torch.Tensor]:
    """The cost the penalty prices: the expectation, or with `derived` (chain space, --price derived) the
    derived network's cost with straight-through gradients."""
    if derived:
        return cost.expected(*model.net.arch_parameters(), model.config_weights(), hard=True)
    return cost.expected(*model.net.arch_parameters(), model.config_weights())


def _derived_cost(cost, model: DataAwareSupernet, configs: list[MfccConfig]) -> dict[str, float]:
    """latency_ms, ram_kb, flash_kb of the network the search would derive now, on the configuration γ
    leads with (the one result.json would name)."""
    lead = configs[int(model.gamma_softmax().argmax())] if len(configs) > 1 else configs[0]
    return estimate_costs(cost.estimate(genotype_dict(model.genotype()), lead))


def search(data: SearchData, settings: SearchSettings, run: RunDir | None, device: torch.device,
           resume: bool = False, progress: bool = True, info: DistInfo = DistInfo(),
           stop_after_epoch: int | None = None, source: dict | None = None,
           cost: CostTables | None = None, budget: Budget | None = None) -> SearchOutcome:
    """Run (or resume) the search; write history, checkpoint and result under run/search/ (rank 0).

    `stop_after_epoch` ends the run early after that many epochs as if it had been killed (tests).
    `source` (e.g. the dataset folder and task) is kept in the checkpoint for `--resume`.
    `cost` and `budget`: the expected cost of the derived system on a board (dadarts.search.cost) and
    the budget its penalty keeps it in; the penalty joins the architecture loss.
    """
    n_cfg = len(data.configs)
    if settings.align == "fixed" and n_cfg != 1:
        raise UserError("A fixed-configuration search takes exactly one configuration: give --fixed-config W/H/M.")
    torch.manual_seed(settings.seed)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # every shape is static: let cuDNN pick its fastest kernels
    model = DataAwareSupernet([c.shape for c in data.configs], data.num_classes, settings).to(device)
    broadcast_state_(model, info)
    train_x, val_x = data.train_x, data.val_x
    w_params = model.weight_parameters()
    w_opt = torch.optim.SGD(w_params, settings.lr, momentum=settings.momentum, weight_decay=settings.weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(w_opt, settings.epochs, eta_min=settings.lr_min)
    architect = Architect(model, settings, reduce_grads=lambda gs: average_(gs, info))

    # Two fixed halves of the training split: w learns on one, α/β/γ on the other (PC-DARTS).
    n = data.train_y.shape[0]
    split = torch.randperm(n, generator=torch.Generator().manual_seed(settings.seed + 1)).to(data.train_y.device)
    w_idx, a_idx = split[: n // 2], split[n // 2:]
    batch = min(settings.batch_size, w_idx.numel(), a_idx.numel())
    if batch < info.world_size:
        raise UserError(f"The batch ({batch}) is smaller than the number of processes ({info.world_size}): "
                        "use more data or fewer processes.")
    steps = w_idx.numel() // batch

    history: list[dict] = []
    start_epoch, gamma_stop_epoch = 0, None
    if resume and run is not None and run.search_checkpoint.is_file():
        ckpt = torch.load(run.search_checkpoint, map_location=device, weights_only=False)
        if ckpt.get("kind") != CHECKPOINT_KIND:
            raise UserError(f"{run.search_checkpoint} is not a search checkpoint: remove it or use another --run.")
        if ckpt["data_space"] != [c.name for c in data.configs] or ckpt["dataset_fingerprint"] != data.fingerprint:
            raise UserError(f"{run.search_checkpoint} was made with another dataset or data space: "
                            "resume with the same --data, --task and --data-space, or start a new --run.")
        model.load_state_dict(ckpt["model"])
        w_opt.load_state_dict(ckpt["w_opt"])
        sched.load_state_dict(ckpt["sched"])
        architect.load_state_dict(ckpt["architect"])
        _set_rng_state(ckpt["rng"])
        history, start_epoch, gamma_stop_epoch = ckpt["history"], ckpt["epoch"], ckpt["gamma_stop_epoch"]
    elif run is not None and info.is_main and run.search_result.exists():
        # A new search makes an earlier result stale: train must not pick it up if this one is cut short.
        run.search_result.unlink()

    bar = None
    if progress and info.is_main:
        from tqdm import tqdm
        bar = tqdm(total=settings.epochs * steps, initial=start_epoch * steps, unit="step", dynamic_ncols=True,
                   disable=None,
                   desc="search")
    names = [c.name for c in data.configs]
    val_acc = float("nan")
    if history:
        val_acc = float(history[-1]["val_acc"])
    end_epoch = settings.epochs if stop_after_epoch is None else min(settings.epochs, stop_after_epoch)
    model.train()
    budgeted = cost is not None and budget is not None and bool(budget.items())
    rule = cost.make_penalty(budget, settings) if budgeted else None
    price_derived = settings.price == "derived"
    if rule is not None and resume and history and "penalty" in ckpt:
        rule.load_state_dict(ckpt["penalty"])
    for epoch in range(start_epoch, end_epoch):
        t0 = time.perf_counter()
        searching = epoch >= settings.warmup_epochs
        lam = rule.weight(epoch) if budgeted else 0.0
        if budgeted:
            cost.refresh(genotype_dict(model.genotype()))
        gen = torch.Generator().manual_seed(settings.seed * 100003 + epoch)
        perm_w = w_idx[torch.randperm(w_idx.numel(), generator=gen).to(w_idx.device)]
        perm_a = a_idx[torch.randperm(a_idx.numel(), generator=gen).to(a_idx.device)]
        sums = torch.zeros(6, dtype=torch.float64, device=device)  # w loss, w correct, w n, a loss, a correct, a n
        lr = w_opt.param_groups[0]["lr"]
        for step in range(steps):
            needed = model.needs()
            if searching:
                idx = perm_a[step * batch:(step + 1) * batch][info.rank::info.world_size]
                with _autocast(device):
                    logits = model(_batch(train_x, idx, needed))
                    loss = F.cross_entropy(logits.float(), data.train_y[idx])
                expected = _expected_cost(cost, model, price_derived) if lam > 0.0 else None
                if expected is not None:
                    loss = loss + rule.loss(expected, epoch).to(loss.dtype)
                architect.step(loss)
                if expected is not None:
                    rule.update({k: v.detach() for k, v in expected.items()},
                                _derived_cost(cost, model, data.configs) if rule.watches_derived else None)
                sums[3] += loss.detach() * idx.numel()
                sums[4] += (logits.detach().argmax(1) == data.train_y[idx]).sum()
                sums[5] += idx.numel()

            idx = perm_w[step * batch:(step + 1) * batch][info.rank::info.world_size]
            with _autocast(device):
                logits = model(_batch(train_x, idx, needed))
                loss = F.cross_entropy(logits.float(), data.train_y[idx])
            w_opt.zero_grad(set_to_none=True)
            loss.backward(inputs=w_params)
            average_([p.grad for p in w_params if p.grad is not None], info)
            nn.utils.clip_grad_norm_(w_params, settings.grad_clip)
            w_opt.step()
            sums[0] += loss.detach() * idx.numel()
            sums[1] += (logits.detach().argmax(1) == data.train_y[idx]).sum()
            sums[2] += idx.numel()
            if bar is not None:
                bar.update(1)
                if step % 10 == 0 or step == steps - 1:
                    p = model.gamma_softmax()
                    lead = names[int(p.argmax())] if n_cfg > 1 else names[0]
                    bar.set_postfix(ep=epoch + 1, loss=f"{float(sums[0] / sums[2]):.3f}",
                                    acc=f"{float(sums[1] / sums[2]):.3f}", lead=lead, refresh=False)
        sched.step()
        sum_(sums, info)

        # Validation of the system as it was trained in this epoch (before a γ stop changes what runs:
        # the winner alone sees its aligned map at weight 1 instead of in the mixture, and BN's running
        # statistics need the next epoch's steps to follow).
        broadcast_state_(model, info, buffers_only=True)
        val_loss, val_acc = evaluate(model, val_x, data.val_y, device, info)
        ran = names[int(model.active)] if int(model.active) >= 0 else "all"

        # γ early stop: once decided, γ is frozen; by default only the winner runs from the next epoch.
        p = model.gamma_softmax()
        if searching and gamma_stop_epoch is None and n_cfg > 1 and gamma_should_stop(p, settings.gamma_stop_ratio):
            gamma_stop_epoch = epoch + 1
            architect.freeze_gamma()
            if settings.after_gamma_stop == "winner":
                model.active.fill_(int(p.argmax()))
            if bar is not None:
                bar.write(f"epoch {epoch + 1}: data search decided on {names[int(p.argmax())]} "
                          f"(p={float(p.max()):.3f}); γ frozen")
        elapsed = time.perf_counter() - t0
        row = {
            "epoch": epoch + 1, "phase": "search" if searching else "warmup", "lr": round(lr, 6),
            "train_loss": float(sums[0] / sums[2]), "train_acc": float(sums[1] / sums[2]),
            "arch_loss": float(sums[3] / sums[5]) if sums[5] > 0 else "",
            "arch_acc": float(sums[4] / sums[5]) if sums[5] > 0 else "",
            "val_loss": val_loss, "val_acc": val_acc,
            **{f"gamma_{nm}": round(float(v), 6) for nm, v in zip(names, p.cpu())},
            "active": ran,
            "time_s": round(elapsed, 3), "samples_per_s": round(float(sums[2] + sums[5]) / elapsed, 1),
        }
        if budgeted:
            with torch.no_grad():
                derived = genotype_dict(model.genotype())
                cost.refresh(derived)
                expected = _expected_cost(cost, model)
                row.update({f"exp_{k}": round(float(v), 4) for k, v in expected.items()})
                row.update(rule.columns(_expected_cost(cost, model, price_derived) if price_derived else expected,
                                        epoch))
                # The network the search would hand to train now, on the configuration γ leads with.
                row.update({f"derived_{k}": round(v, 4) for k, v in _derived_cost(cost, model, data.configs).items()})
        history.append(row)
        if bar is not None:
            budget_note = (f" E[lat] {row['exp_latency_ms']:.1f} ms E[RAM] {row['exp_ram_kb']:.0f} KB"
                           if budgeted else "")
            bar.write(f"epoch {epoch + 1}/{settings.epochs} {row['phase']}: train acc {row['train_acc']:.3f} "
                      f"val acc {val_acc:.3f} lead {names[int(p.argmax())]} ({float(p.max()):.3f}){budget_note} "
                      f"{elapsed:.1f}s")
        if run is not None and info.is_main:
            write_csv_atomic(run.search_history, history)
            ckpt = {"schema": 1, "kind": CHECKPOINT_KIND, "epoch": epoch + 1, "settings": settings.to_dict(),
                    "data_space": names, "dataset_fingerprint": data.fingerprint,
                    "model": model.state_dict(), "w_opt": w_opt.state_dict(), "sched": sched.state_dict(),
                    "architect": architect.state_dict(), "rng": _rng_state(), "history": history,
                    "gamma_stop_epoch": gamma_stop_epoch, "source": source or {},
                    "penalty": rule.state_dict() if rule is not None else {}}
            with atomic_path(run.search_checkpoint) as tmp:
                torch.save(ckpt, tmp)
    if bar is not None:
        bar.close()

    if math.isnan(val_acc):
        _, val_acc = evaluate(model, val_x, data.val_y, device, info)
    result = _result(model, data, settings, gamma_stop_epoch, val_acc)
    if settings.space == "chain" and budget is not None:
        result.update(_within_budget(result, model, cost, budget))
    result.update(_deployment(result, settings, cost, budget, data.num_classes))
    if result.get("narrowed"):
        result["network"]["sized_by"] = "the search: the most probable network within the budget (the argmax, narrowed)"
    if source:
        # Where the data came from (dataset folder or null for the built-in corpus, names), for train.
        result.update({"data": source.get("data"), "names": source.get("names")})
    finished = end_epoch >= settings.epochs
    if run is not None and info.is_main and finished:
        write_json_atomic(run.search_result, result, kind="search_result")
    return SearchOutcome(result=result, history=history, model=model)
