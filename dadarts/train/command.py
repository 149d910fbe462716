"""`dadarts train`: train the searched network of a run, or a baseline, from scratch.

    dadarts train runs/exp1                                  # the searched network of runs/exp1/search/result.json
    dadarts train --model ds-cnn-s --mfcc 400/200/40 --run runs/ds-cnn-s   # a baseline, no search needed

The searched network ("chain" for a chain-space search, "searched" cells otherwise) is built on the native feature shape of the configuration the search chose
(no padding, no alignment stage). Baselines use the same recipe, so their numbers compare.
"""
from __future__ import annotations

import argparse
from dataclasses import asdict

from ..data.info_command import add_holdout_argument, add_name_augment_arguments, name_augment_of, names_of

DEFAULT_MFCC = "400/200/40"   # the configuration the data-aware DARTS paper found for Speech Commands


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("run", nargs="?", help="run directory (with search/result.json for the searched network)")
    p.add_argument("--run", dest="run_opt", metavar="RUN", help="run directory to write (same as the positional RUN)")
    p.add_argument("--model", default=None,
                   help="ds-cnn-s, ds-cnn-m, ds-cnn-l, mobilenet-v2, mobilenet-v3-small, ghostnet, or the searched "
                        "network of RUN/search/result.json (the default: 'chain' or 'searched' cells)")
    p.add_argument("--mfcc", metavar="W/H/M", help=f"MFCC configuration for a baseline (default {DEFAULT_MFCC}; "
                   "the searched network uses the search's choice)")
    p.add_argument("--clip-ms", type=int, default=None, metavar="MS",
                   help="the window a baseline sees, in ms (default 1000, or --mfcc's @MSms; up to 3000)")
    p.add_argument("--data", metavar="DIR", help="dataset folder (default: the search's dataset, else the built-in corpus)")
    p.add_argument("--task", choices=["gsc12", "gsc35", "names"], help="task (default: the search's, else gsc12)")
    p.add_argument("--names", help="comma-separated names for --task names")
    add_holdout_argument(p)
    add_name_augment_arguments(p)
    g = p.add_argument_group("network size")
    g.add_argument("--channels", type=int, default=None,
                   help="searched network: channels of the first cell (default: the search's choice in "
                        "search/result.json, else 8)")
    g.add_argument("--layers", type=int, default=None,
                   help="searched network: number of cells (default: the search's choice, else 5)")
    g.add_argument("--width", type=float, help="mobilenet / ghostnet: width multiplier")
    g.add_argument("--arch", metavar="JSON|FILE|LINE",
                   help="--model chain without a search: the chain architecture (dadarts.costmodel.chain's dict, "
                        "as JSON text or a file holding it, or the one line a search prints, e.g. "
                        "'conv_5x5_s2x2 x172 | dw_3x3 x172 | dw_5x5 x16 /2')")
    g.add_argument("--time-padding", choices=["same", "valid", "causal"], default=None,
                   help="chain network: 'valid' pads no layer over time, 'causal' only before the map (k - s zero "
                        "frames), so the network runs as a stream of steps (dadarts export --streaming); default: "
                        "the architecture's own ('same' if it says none)")
    g = p.add_argument_group("recipe")
    g.add_argument("--epochs", type=int, default=40,
                   help="default 40: the microcontroller-sized searched network trains in ~6 min on 2 cores")
    g.add_argument("--batch-size", type=int, default=64)
    g.add_argument("--optimizer", choices=["adamw", "sgd"], default="adamw")
    g.add_argument("--lr", type=float, default=None, help="peak learning rate (default 3e-3 adamw, 0.05 sgd)")
    g.add_argument("--weight-decay", type=float, default=None, help="default 1e-2 adamw, 3e-4 sgd")
    g.add_argument("--label-smoothing", type=float, default=0.1)
    g.add_argument("--drop-path", type=float, default=0.0, help="final drop-path probability (searched network)")
    g.add_argument("--seed", type=int, default=0)
    g = p.add_argument_group("augmentation (new recording conditions per example and epoch on raw audio, "
                             "MFCC computed per batch; data/conditions.py)")
    g.add_argument("--augment", action=argparse.BooleanOptionalAction, default=True,
                   help="time shift, room, microphone, noise at an SNR, level, then SpecAugment masks (default on)")
    # Defaults (None here) are AugmentSettings' (train/augment.py; docs/train.md), not repeated.
    g.add_argument("--time-shift-ms", type=float, help="largest time shift either way (default 100)")
    g.add_argument("--reverb-prob", type=float, help="share of clips in a random synthetic room, RT60 0.1-1 s (default 0.8)")
    g.add_argument("--mic-prob", type=float, help="share of clips through a random microphone response (default 0.7)")
    g.add_argument("--noise-prob", type=float, help="share of clips with background noise (default 0.9)")
    g.add_argument("--snr-db", metavar="LOW,HIGH", help="range of the noise's signal-to-noise ratio in dB (default 3,30)")
    g.add_argument("--time-masks", type=int, default=2)
    g.add_argument("--freq-masks", type=int, default=2)
    g.add_argument("--stream-windows", type=float, default=0.25, metavar="SHARE",
                   help="share of every batch cut from short streams of training clips: keywords anywhere in the "
                        "window or cut at its edge, between other words, out-of-vocabulary words (docs/train.md; "
                        "default %(default)s, 0 turns it off for comparison; needs --augment)")
    g.add_argument("--hard-negatives", type=float, default=0.0, metavar="SHARE",
                   help="share of every batch drawn from hard negatives: windows of long negative audio built from "
                        "the training split (its _unknown_ words, out-of-vocabulary words of training voices, "
                        "training noise) on which the model being trained fires, mined again every --mine-every "
                        "epochs (docs/train.md; default 0: off; needs --augment)")
    g.add_argument("--stream-history", action="store_true",
                   help="causal chain networks: hear every example after the batch's previous one, as a stream's "
                        "step hears it, instead of after zero padding (docs/train.md)")
    g.add_argument("--negative-weight", type=float, default=1.0, metavar="W",
                   help="class weighting: a non-keyword example's loss counts W times a keyword's (default 1)")
    g.add_argument("--mine-every", type=int, default=None, help="epochs between two minings (default 2)")
    g.add_argument("--mine-seconds", type=float, default=None,
                   help="seconds of negative audio scored per mining, a window every 100 ms (default 600)")
    g.add_argument("--mine-keep", type=int, default=None,
                   help="the hardest windows kept per mining, at most (default 512)")
    g = p.add_argument_group("distillation (a larger trained network teaches this one; train/distill.py)")
    g.add_argument("--teacher", metavar="RUN",
                   help="a run trained on the same dataset and task (any model or MFCC configuration, same window), "
                        "e.g. a DS-CNN-M far over the board's budget: its softened outputs on every training example "
                        "become part of the loss; RUN is only read (default: no teacher)")
    g.add_argument("--distill", type=float, default=0.5, metavar="W",
                   help="the teacher's share of the loss, in (0, 1] (default %(default)s)")
    g.add_argument("--distill-temperature", type=float, default=2.0, metavar="T",
                   help="temperature both outputs are softened by (default %(default)s)")
    p.add_argument("--init", metavar="RUN",
                   help="start from the trained weights of RUN/train/model.pt (its network, configuration, task and "
                        "dataset unless given) instead of random ones: fine-tuning; RUN is only read")
    p.add_argument("--allow-over-budget", action="store_true",
                   help="train a searched network the cost model puts over the search's budget (default: refuse)")
    p.add_argument("--resume", action="store_true", help="continue from RUN/train/checkpoint.pt with its settings")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    p.add_argument("--threads", type=int, default=0,
                   help="CPU threads for torch (default: torch's choice; 1 is fastest on a busy shared machine)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def _arch_of(text: str | None) -> dict:
    """The chain architecture of --arch: JSON text, a file holding it, or the one line a search prints
    ('conv_5x5_s2x2 x172 | dw_3x3 x172 | skip', costmodel.chain.to_str)."""
    import json
    from pathlib import Path
    from ..costmodel.chain import from_str, validate
    from ..errors import UserError
    if not text:
        raise UserError("--model chain without a search needs its architecture: --arch JSON|FILE|LINE.")
    if " | " in text and not text.lstrip().startswith("{"):
        return from_str(text)
    try:
        # JSON text first: a long one is no valid path (is_file() would raise "File name too long")
        arch = json.loads(text if text.lstrip().startswith("{") else Path(text).read_text())
    except (OSError, ValueError) as exc:
        raise UserError(f"--arch is neither a readable file, JSON text nor a line like 'conv_5x5_s2x2 x64 | "
                        f"dw_3x3 x64 | skip' ({exc}).") from None
    return validate(arch)


def _option(command: str, flag: str) -> str | None:
    """The value of `flag` in a recorded command line ('--data X' or '--data=X'), if present."""
    import shlex
    try:
        words = shlex.split(command)
    except ValueError:
        return None
    for i, w in enumerate(words):
        if w == flag and i + 1 < len(words):
            return words[i + 1]
        if w.startswith(flag + "="):
            return w.split("=", 1)[1]
    return None


def search_source(run) -> dict:
    """What the search of `run` chose: configuration, genotype, task, labels, and its dataset if recorded."""
    from ..rundir import read_json
    run.require(run.search_result, hint=f"run 'dadarts search --run {run.root}' first, or train a baseline "
                                        f"with --model and --mfcc.")
    result = read_json(run.search_result, "search_result")
    data = result.get("data") or result.get("settings", {}).get("data")
    names = result.get("names") or result.get("settings", {}).get("names")
    if run.run_json.exists():
        stage = read_json(run.run_json, "run").get("stages", {}).get("search", {})
        data = data or stage.get("data") or _option(stage.get("command", ""), "--data")
        names = names or stage.get("names") or _option(stage.get("command", ""), "--names")
        names = names.split(",") if isinstance(names, str) else names
    return {"config": result["config"], "genotype": result["genotype"], "task": result["task"],
            "labels": result.get("labels"), "data": data, "names": names,
            "fingerprint": result.get("dataset_fingerprint"), "network": result.get("network") or {},
            "result": result}


def snr_range(text: str) -> tuple[float, float]:
    """'LOW,HIGH' in dB -> (low, high)."""
    from ..errors import UserError
    try:
        low, high = (float(v) for v in text.split(","))
    except ValueError:
        raise UserError(f"--snr-db {text}: give two numbers in dB, LOW,HIGH (e.g. 3,30).") from None
    if low > high:
        raise UserError(f"--snr-db {text}: LOW must not exceed HIGH.")
    return low, high


def resume_source(run) -> dict:
    """What the interrupted training of `run` was started with: its model, configuration and (when this
    dadarts recorded it) dataset, task, names and name balancing, read from train/checkpoint.pt."""
    import torch

    from ..errors import UserError
    if not run.train_checkpoint.is_file():
        raise UserError(f"{run.train_checkpoint} does not exist: nothing to resume, run without --resume.")
    saved = torch.load(run.train_checkpoint, map_location="cpu", weights_only=False)
    settings = saved.get("settings") or {}
    return {"model": settings.get("model"), "mfcc": settings.get("mfcc"),
            "model_kwargs": settings.get("model_kwargs") or {}, **(saved.get("source") or {})}


def init_source(root: str) -> dict:
    """The network, configuration, task, names and dataset of the trained run `root` (--init)."""
    import torch

    from ..rundir import RunDir, read_json
    run = RunDir.of(root)
    run.require(run.model, run.train_metrics, hint=f"train {root} first, or start from random weights (no --init).")
    saved = torch.load(run.model, map_location="cpu", weights_only=False)
    metrics = read_json(run.train_metrics, "train_metrics")
    return {"model": saved["build"]["name"], "mfcc": saved["config"], "model_kwargs": saved["build"]["kwargs"],
            "task": saved["task"], "data": metrics.get("data"), "names": metrics.get("names")}


def _search_space(run) -> str | None:
    """The search space of `run`'s search result (None without one)."""
    from ..rundir import read_json
    if not run.search_result.is_file():
        return None
    return read_json(run.search_result, "search_result").get("space")


def run(args) -> int:
    from ..data.datasets import load_dataset
    from ..data.name_augment import NameAugment
    from ..errors import UserError
    from ..frontend.spec import MfccConfig
    from ..rundir import RunDir, record_run
    from ..data.stream_windows import StreamWindowSettings
    from .augment import AugmentSettings
    from .distill import DistillSettings
    from .hard_negatives import HardNegativeSettings
    from .loop import TrainConfig, train
    from .models import MODELS, SEARCHED_MODELS

    if args.threads > 0:
        import torch
        torch.set_num_threads(args.threads)
    root = args.run or args.run_opt
    if not 0 <= args.stream_windows < 1:
        raise UserError(f"--stream-windows is a share of each batch in [0, 1), got {args.stream_windows}.")
    if not 0 <= args.hard_negatives < 1 or args.stream_windows + args.hard_negatives >= 1:
        raise UserError(f"--hard-negatives is a share of each batch in [0, 1) that leaves room for clips beside "
                        f"--stream-windows, got {args.hard_negatives} and {args.stream_windows}.")
    if args.negative_weight <= 0:
        raise UserError(f"--negative-weight is a positive factor, got {args.negative_weight}.")
    teacher = RunDir.of(args.teacher).root if args.teacher else None
    distill = DistillSettings(str(teacher) if teacher else None, args.distill, args.distill_temperature)
    distill.check()
    if not root:
        raise UserError("Give a run directory: dadarts train RUN, or --run DIR for a baseline.")
    if args.run and args.run_opt and args.run != args.run_opt:
        raise UserError(f"Two run directories given ({args.run} and {args.run_opt}): give one.")
    run_dir = RunDir.of(root)
    if teacher and teacher.resolve() == run_dir.root.resolve():
        raise UserError(f"--teacher {args.teacher} is the run being trained: name another run's trained network.")
    resumed = resume_source(run_dir) if args.resume else None
    initial = init_source(args.init) if args.init and not resumed else None
    model = resumed["model"] if resumed else initial["model"] if initial else args.model
    if model is None or model == "searched":
        # The search's own network: chain, or cells.
        model = "chain" if _search_space(run_dir) == "chain" else "searched"
    if model not in MODELS:
        raise UserError(f"Unknown model '{model}': choose one of {', '.join(MODELS)}.")
    names = names_of(args)
    augment = name_augment_of(args)

    src = None
    if initial:
        # The network, configuration, task and dataset the weights were trained with, unless named again.
        if args.model or args.mfcc or args.arch:
            raise UserError("--init RUN trains RUN's own network on its configuration: drop --model, --mfcc and --arch.")
        mfcc, kwargs = initial["mfcc"], initial["model_kwargs"]
        task, data = args.task or initial["task"], args.data or initial["data"]
        names = names or (tuple(initial["names"]) if initial.get("names") else None)
    elif resumed:
        # The checkpoint's settings win; the dataset is the one it was started on unless named again.
        # Checkpoints written before the source was recorded fall back on the search's dataset.
        src = search_source(run_dir) if model in SEARCHED_MODELS else None   # its budget, and older checkpoints' data
        earlier = src if src and "task" not in resumed else {}
        mfcc, kwargs = resumed["mfcc"], resumed["model_kwargs"]
        task = args.task or resumed.get("task") or earlier.get("task") or "gsc12"
        data = args.data or resumed.get("data") or earlier.get("data")
        recorded = resumed.get("names") or earlier.get("names")
        names = names or (tuple(recorded) if recorded else None)
        if "name_augment" in resumed:
            saved = resumed["name_augment"]
            augment = NameAugment(**{k: tuple(v) if isinstance(v, list) else v for k, v in saved.items()}) \
                if saved else None
    elif model in SEARCHED_MODELS and not (model == "chain" and args.arch and not run_dir.search_result.is_file()):
        # (--model chain --arch on a run without a search trains that architecture: the branch below)
        src = search_source(run_dir)
        if args.clip_ms and MfccConfig.parse(src["config"]).clip_ms != args.clip_ms:
            raise UserError(f"The search chose {src['config']}, whose clip is not {args.clip_ms} ms: drop --clip-ms "
                            f"(a searched network keeps its search's window), or search again with --clip-ms.")
        if args.mfcc and MfccConfig.parse(args.mfcc).name != src["config"]:
            raise UserError(f"The search chose {src['config']}; --mfcc {args.mfcc} would not be the searched system: "
                            f"drop --mfcc, or train a baseline with --model.")
        mfcc, task = src["config"], args.task or src["task"]
        data = args.data or src["data"]
        names = names or (tuple(src["names"]) if src["names"] else None)
        net = src["network"]
        if model == "chain":
            if args.channels or args.layers:
                raise UserError("--channels and --layers size a cell network: a chain search chose every width "
                                "and the number of blocks itself.")
            kwargs = {"arch": src["genotype"]}
        else:
            kwargs = {"genotype": src["genotype"], "channels": args.channels or net.get("channels", 8),
                      "layers": args.layers or net.get("layers", 5)}
            if net.get("space"):
                kwargs["space"] = net["space"]
    else:
        try:
            mfcc = MfccConfig.parse(args.mfcc or DEFAULT_MFCC).with_clip_ms(args.clip_ms).name
        except ValueError as exc:
            raise UserError(str(exc)) from None
        task, data = args.task or "gsc12", args.data
        kwargs = {"width": args.width} if args.width and model in ("mobilenet-v2", "mobilenet-v3-small", "ghostnet") else {}
        if model == "chain":
            kwargs = {"arch": _arch_of(args.arch)}
    if (args.arch and (model != "chain" or src)) or (args.time_padding and model != "chain"):
        raise UserError("--arch and --time-padding describe a chain network: use them with --model chain "
                        "(--arch only without a search).")
    if args.time_padding and not resumed:
        kwargs = {**kwargs, "arch": {**kwargs["arch"], "time_padding": args.time_padding}}
    if args.stream_history and not resumed and (model != "chain" or kwargs["arch"].get("time_padding") != "causal"):
        raise UserError("--stream-history hears each example after the one before it, as a causal network's stream "
                        "step does: use it with a chain network causal in time (--time-padding causal).")

    ds = load_dataset(data, task, names=names, name_augment=augment, holdout_engine=args.holdout_engine)
    # With --holdout-engine the splits differ from the search's by design (same corpus, other split).
    if src and src["fingerprint"] and src["fingerprint"] != ds.fingerprint and not args.holdout_engine:
        raise UserError(f"The search in {run_dir.root} ran on another dataset than {ds.root} (task {task}): "
                        f"pass the search's dataset with --data.")
    sgd = args.optimizer == "sgd"
    cfg = TrainConfig(
        model=model, model_kwargs=kwargs, mfcc=mfcc, epochs=args.epochs, batch_size=args.batch_size,
        optimizer=args.optimizer, lr=args.lr if args.lr is not None else (0.05 if sgd else 3e-3),
        weight_decay=args.weight_decay if args.weight_decay is not None else (3e-4 if sgd else 1e-2),
        label_smoothing=args.label_smoothing, drop_path=args.drop_path, augment=args.augment,
        augmentation=AugmentSettings(**{k: v for k, v in (
            ("time_shift_ms", args.time_shift_ms), ("reverb_prob", args.reverb_prob), ("mic_prob", args.mic_prob),
            ("noise_prob", args.noise_prob), ("snr_db", snr_range(args.snr_db) if args.snr_db else None),
            ("time_masks", args.time_masks), ("freq_masks", args.freq_masks)) if v is not None}),
        stream_windows=StreamWindowSettings(share=args.stream_windows if args.augment else 0.0),
        hard_negatives=HardNegativeSettings(share=args.hard_negatives if args.augment else 0.0, **{k: v for k, v in (
            ("every", args.mine_every), ("seconds", args.mine_seconds), ("keep", args.mine_keep)) if v is not None}),
        negative_weight=args.negative_weight, stream_history=args.stream_history, distill=distill,
        init=str(RunDir.of(args.init).root) if initial else None,
        seed=args.seed, device=args.device)
    if not args.quiet:
        print(f"dadarts train: {model} on {mfcc} ({task}, {len(ds.splits['train'])} training clips) -> {run_dir.train}")
    extra = {"data": str(ds.root)}
    if src:
        from ..search.cost import describe_check, genotype_budget_check
        check = genotype_budget_check(src["result"], kwargs.get("channels"), kwargs.get("layers"), len(ds.labels))
        if check:
            extra["budget_check"] = check
            what = ("the searched chain network" if model == "chain" else
                    f"the searched system (C={kwargs['channels']}, {kwargs['layers']} cells)")
            print("dadarts train: " + describe_check(check, what))
            if not check["fits"] and not args.allow_over_budget:
                raise UserError(f"The network to train is over the search's budget on {check['target']} in "
                                f"{', '.join(check['over'])}: search again, or pass --allow-over-budget to train it anyway.")
    source = {"data": None if data is None else str(ds.root), "task": task, "names": list(names) if names else None,
              "name_augment": asdict(augment) if augment and task == "names" else None}
    metrics = train(cfg, ds, run_dir, resume=args.resume, progress=not args.quiet, extra_metrics=extra,
                    source=source)
    record_run(run_dir, "train", args._argv, dataset_fingerprint=ds.fingerprint, data=str(ds.root), task=task,
               model=model, config=mfcc, settings=asdict(cfg) if not args.resume else metrics["settings"])
    streamed = metrics.get("streamed")
    taught = metrics.get("teacher")
    if taught:
        print(f"dadarts train: taught by {taught['model']} on {taught['config']} from {taught['run']} "
              f"(its test accuracy {taught['accuracy']:.4f}), distillation weight {cfg.distill.weight}, "
              f"temperature {cfg.distill.temperature}")
    heard = (f" streamed, each clip after the one before it (windows alone {streamed['window_accuracy']:.4f})"
             if streamed else "")
    print(f"{model} {mfcc}: test accuracy {metrics['accuracy']:.4f}{heard} (balanced {metrics['balanced_accuracy']:.4f}), "
          f"validation {metrics['validation_accuracy']:.4f}, {metrics['params']:,} params, "
          f"{metrics['macs'] / 1e6:.2f} M MACs, {metrics['wall_time_s']:.0f} s -> {run_dir.train_metrics}")
    return 0
