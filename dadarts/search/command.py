"""`dadarts search`: data-aware PC-DARTS over a data space of MFCC configurations, into RUN/search/.

Thin: parses, loads the dataset and features, calls `loop.search`, prints the genotype, the chosen
configuration and the γ trajectory. Launch under `torchrun --nproc_per_node N` for data parallelism.
"""
from __future__ import annotations

import argparse
from dataclasses import asdict
from pathlib import Path

from ..data.info_command import add_name_augment_arguments, name_augment_of, names_of


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", default=None, help="dataset folder in Speech Commands layout (default: built-in corpus)")
    p.add_argument("--task", default=None, choices=["gsc12", "gsc35", "names"], help="classification task (default gsc12)")
    p.add_argument("--names", default=None, metavar="A,B",
                   help="names task: the names to detect, comma-separated (default marvin,sheila)")
    # --run-dir: the same option under a name torchrun's own parser does not mistake for its --run-path.
    p.add_argument("--run", "--run-dir", dest="run", default="runs/default",
                   help="run directory (default: runs/default); under torchrun write --run-dir")
    p.add_argument("--preset", default="cpu", choices=["cpu", "cpu-mcu", "cpu-darts", "paper"],
                   help="cpu: the chain space, a few minutes on 2 cores; cpu-mcu: the microcontroller cells at the same "
                        "scale; cpu-darts: the paper's cells at the same scale; paper: darts space, C=16, 8 layers, "
                        "50 epochs, warm-up 15, batch 256")
    p.add_argument("--space", default=None, choices=["chain", "mcu", "darts"],
                   help="search space: chain (a DS-CNN-like chain: searchable stem, kernels, widths and strides, made "
                        "for CMSIS-NN), mcu (cells of post-activation DS-CNN blocks) or darts (the paper's PC-DARTS "
                        "cells); default: the preset's")
    p.add_argument("--streaming", action="store_true",
                   help="chain space: search streamable networks (no padding over time: the supernet trains, and "
                        "the search derives, the network that runs as a stream of steps; dadarts export --streaming). "
                        "The latency budget then prices streaming: per decision period the step model's Invokes "
                        "(the new frames of every layer, the time buffers, the state copies; "
                        "dadarts.costmodel.stream)")
    p.add_argument("--time-padding", default=None, choices=["valid", "causal"],
                   help="with --streaming: how the streamable networks treat time (default valid): valid pads no frame "
                        "over time (the maps shrink by every kernel; a step equals the whole-window model exactly), "
                        "causal pads k - s zero frames before every map (the maps keep their frames; a step equals "
                        "the network run over everything since the reset; dadarts.costmodel.chain)")
    p.add_argument("--every-hop", action="store_true",
                   help="chain space: the stems striding 1 over time are candidates too, so that the derived network "
                        "can have time stride 1 and stream a decision every hop (export --streaming --frames-per-step "
                        "1); the supernet then runs its blocks on twice the frames")
    p.add_argument("--align", default=None, choices=["preprocess", "zeropad"],
                   help="how configurations of different shapes are aligned before mixing (default: preprocess)")
    p.add_argument("--data-space", default=None, metavar="W/H/M[/K],...",
                   help="comma-separated MFCC configurations (default: the space's 8; darts: DESIGN.md's, mcu: with "
                        "10/20/40 coefficients kept, see docs/search.md)")
    p.add_argument("--fixed-config", default=None, metavar="W/H/M",
                   help="not data aware: search the cell on this one configuration (the paper's ablation)")
    p.add_argument("--clip-ms", type=int, default=None, metavar="MS",
                   help="the window the model sees, in ms, for every configuration (default 1000; up to 3000: a "
                        "phrase of up to 2 s fits in 2000); the dataset's shorter clips are zero-padded")
    p.add_argument("--epochs", type=int, default=None, help="search epochs (overrides the preset)")
    p.add_argument("--warmup-epochs", type=int, default=None, help="weights-only epochs first (overrides the preset)")
    p.add_argument("--batch-size", type=int, default=None, help="global batch size (overrides the preset)")
    p.add_argument("--channels", type=int, default=None, help="supernet channels C (overrides the preset)")
    p.add_argument("--layers", type=int, default=None, help="supernet cells (overrides the preset)")
    p.add_argument("--max-train", type=int, default=None, help="use at most N training clips (0: all)")
    p.add_argument("--keep-mixing", action="store_true",
                   help="after the γ early stop keep mixing all configurations instead of the winner alone")
    p.add_argument("--resume", action="store_true",
                   help="continue from RUN/search/checkpoint.pt (same dataset and settings as it was started with)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    p.add_argument("--seed", type=int, default=None, help="random seed (default 0)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    g = p.add_argument_group("deployment budget (the search keeps the derived system inside it)")
    g.add_argument("--target", default=None, metavar="BOARD",
                   help="board preset (dadarts mcu-eval's targets, e.g. NUCLEO-F446RE): search under its budget")
    g.add_argument("--max-latency-ms", type=float, default=None,
                   help="per decision, front-end included (default: --decision-ms, i.e. real time)")
    g.add_argument("--max-ram-kb", type=float, default=None, help="firmware RAM (default: the board's SRAM)")
    g.add_argument("--max-flash-kb", type=float, default=None, help="firmware flash (default: the board's flash)")
    g.add_argument("--decision-ms", type=float, default=None, help="one decision every this many ms (default 100)")
    g.add_argument("--cost-weight", type=float, default=None, help="weight of the budget penalty (default 5)")
    g.add_argument("--latency-floor", type=float, default=None,
                   help="chain space: penalise an expected latency below this share of the budget, so that the "
                        "search uses what the board offers (default: 0.85 on the cpu preset, 0 (off) on the others)")
    g.add_argument("--widths", metavar="W1,W2,...", default=None,
                   help="chain space: the channel counts every width choice picks among, ascending (default "
                        "16,24,32,48,64, DS-CNN-S's width at most; the supernet runs at the widest, so wider lists "
                        "search slower; e.g. 16,32,64,96,128,172 reaches DS-CNN-M's 172)")
    g.add_argument("--price", choices=("expected", "derived"), default=None,
                   help="chain space: what the budget penalty and the latency floor price: the expectation over "
                        "every choice's softmax (default), or the derived network itself (the argmax of every "
                        "choice; gradients straight through the softmax)")
    g.add_argument("--final-channels", type=int, default=None,
                   help="channels C of the network that will be trained (default: derived from the budget, "
                        "else the supernet's)")
    g.add_argument("--final-layers", type=int, default=None, help="cells of the network that will be trained (idem)")
    add_name_augment_arguments(p)


def _settings(args):
    from ..errors import UserError
    if args.time_padding and not args.streaming:
        raise UserError("--time-padding says how a streaming search treats time: add --streaming or drop it.")
    from .settings import PRESETS
    # The cell spaces on the cpu preset: their own CPU preset (the chain's architecture step is larger).
    base = PRESETS["cpu-mcu" if args.space == "mcu" and args.preset == "cpu" else args.preset]
    settings = base.replace(
        space=args.space, epochs=args.epochs, warmup_epochs=args.warmup_epochs, batch_size=args.batch_size,
        channels=args.channels, layers=args.layers, max_train=args.max_train, seed=args.seed,
        align="fixed" if args.fixed_config else args.align,
        after_gamma_stop="mixed" if args.keep_mixing else None,
        target=args.target, max_latency_ms=args.max_latency_ms, max_ram_kb=args.max_ram_kb,
        max_flash_kb=args.max_flash_kb, decision_ms=args.decision_ms, cost_weight=args.cost_weight,
        latency_floor=args.latency_floor, price=args.price, widths=parse_widths(args.widths),
        time_padding=(args.time_padding or "valid") if args.streaming else None,
        every_hop=True if args.every_hop else None,
        final_channels=args.final_channels, final_layers=args.final_layers,
    )
    if args.space == "darts" and args.preset == "cpu":
        # the darts space on CPU: the cpu-darts preset's half-resolution supernet
        settings = settings.replace(stem_stride=PRESETS["cpu-darts"].stem_stride, layers=args.layers or 5)
    return settings


def parse_widths(text: str | None) -> tuple[int, ...] | None:
    """--widths W1,W2,...: positive channel counts, strictly ascending, at least two."""
    from ..errors import UserError
    if text is None:
        return None
    try:
        widths = tuple(int(w) for w in text.split(","))
    except ValueError:
        raise UserError(f"--widths {text}: give channel counts separated by commas, e.g. 16,32,64,128.") from None
    if len(widths) < 2 or widths[0] < 1 or any(b <= a for a, b in zip(widths, widths[1:])):
        raise UserError(f"--widths {text}: give at least two positive channel counts in ascending order, "
                        "e.g. 16,32,64,128.")
    return widths


def _check(settings) -> None:
    from ..errors import UserError
    for name in ("epochs", "batch_size", "channels", "layers"):
        if getattr(settings, name) < 1:
            raise UserError(f"--{name.replace('_', '-')} must be at least 1.")
    if settings.space == "chain" and (settings.final_channels or settings.final_layers):
        raise UserError("--final-channels and --final-layers size a cell network; the chain space searches every "
                        "width and the number of blocks itself: drop them.")
    if settings.space != "chain" and settings.widths:
        raise UserError("--widths sets the chain space's width choices: add --space chain or drop --widths.")
    if settings.space != "chain" and settings.price != "expected":
        raise UserError("--price derived prices the chain space's argmax network: add --space chain or drop --price.")
    if settings.space != "chain" and settings.every_hop:
        raise UserError("--every-hop adds the chain space's stems that stride 1 over time: add --space chain or drop "
                        "--every-hop.")
    if settings.space != "chain" and settings.time_padding != "same":
        raise UserError("--streaming searches the chain space (its layers over time are convolutions): add --space "
                        "chain or drop --streaming.")
    if settings.space != "chain" and settings.layers < 3:
        raise UserError("--layers must be at least 3 (the search has two reduction cells).")
    if settings.space != "chain" and settings.channels % settings.partial_k:
        raise UserError(f"--channels must be a multiple of {settings.partial_k} (partial channel connections).")
    if not (0 <= settings.warmup_epochs <= settings.epochs):
        raise UserError("--warmup-epochs must be between 0 and --epochs.")
    if settings.max_train < 0:
        raise UserError("--max-train must be 0 (all) or positive.")
    for flag, value in (("--max-latency-ms", settings.max_latency_ms), ("--max-ram-kb", settings.max_ram_kb),
                        ("--max-flash-kb", settings.max_flash_kb), ("--decision-ms", settings.decision_ms)):
        if value is not None and value <= 0:
            raise UserError(f"{flag} must be positive.")
    if settings.target is None and any(v is not None for v in (settings.max_latency_ms, settings.max_ram_kb,
                                                                settings.max_flash_kb)):
        raise UserError("A budget needs a board to price it on: add --target BOARD (see dadarts mcu-eval --help).")
    for flag, value in (("--final-channels", settings.final_channels), ("--final-layers", settings.final_layers)):
        if value < 0:
            raise UserError(f"{flag} must be positive (0: derived).")
    if 0 < settings.final_layers < 3:
        raise UserError("--final-layers must be at least 3 (the network has two reduction cells).")


def run(args) -> int:
    import torch

    from ..data.datasets import load_dataset
    from ..data.name_augment import NameAugment
    from ..device import pick_device
    from ..errors import UserError
    from ..frontend.spec import DEFAULT_SPACE, MCU_SPACE, MfccConfig, parse_space
    from ..rundir import RunDir, read_json, record_run
    from . import genotypes as G
    from .distributed import init_from_env, shutdown
    from .loop import prepare_data, search
    from .settings import SearchSettings

    run_dir = RunDir.of(args.run)
    settings = _settings(args)
    if args.resume:
        if not run_dir.search_checkpoint.is_file():
            raise UserError(f"--resume: {run_dir.search_checkpoint} does not exist: start without --resume.")
        saved = torch.load(run_dir.search_checkpoint, map_location="cpu", weights_only=False)
        if saved.get("kind") != "search_checkpoint":
            raise UserError(f"{run_dir.search_checkpoint} is not a search checkpoint: remove it or use another --run.")
        settings = SearchSettings.from_dict(saved["settings"])
        space_names = saved["data_space"]
        # The dataset it was started on, unless the user names one again.
        source = saved.get("source", {})
        args.data = args.data if args.data is not None else source.get("data")
        args.task = args.task or source.get("task")
        args.names = args.names or (",".join(source["names"]) if source.get("names") else None)
        saved_augment = source.get("name_augment")
        print(f"dadarts search: resuming {run_dir.search_checkpoint} after epoch {saved['epoch']} "
              "with the settings it was started with")
        del saved
    else:
        try:
            if args.fixed_config:
                if args.data_space:
                    raise UserError("--fixed-config and --data-space exclude each other: give one.")
                space_names = [MfccConfig.parse(args.fixed_config).with_clip_ms(args.clip_ms).name]
            else:
                default = MCU_SPACE if settings.space in ("mcu", "chain") else DEFAULT_SPACE
                space_names = [c.name for c in parse_space(args.data_space, default, args.clip_ms)]
        except ValueError as exc:
            raise UserError(str(exc)) from None
        if settings.align == "fixed" and len(space_names) != 1:
            raise UserError("A fixed search takes one configuration.")
        if settings.align != "fixed" and len(space_names) == 1:
            settings = settings.replace(align="fixed")
    _check(settings)
    args.task = args.task or "gsc12"
    configs = [MfccConfig.parse(n) for n in space_names]
    for config in configs:
        if config.firmware_problem():
            raise UserError(config.firmware_problem())

    device = pick_device(args.device)
    info = init_from_env(device.type)
    if device.type == "cuda" and info.enabled:
        device = torch.device("cuda", info.local_rank)
        torch.cuda.set_device(device)
    try:
        names = names_of(args)
        augment = name_augment_of(args)
        if args.resume and "name_augment" in source:   # the balancing the search started with
            augment = NameAugment(**{k: tuple(v) if isinstance(v, list) else v for k, v in saved_augment.items()}) \
                if saved_augment else None
        ds = load_dataset(args.data, task=args.task, names=names, quiet=not info.is_main, name_augment=augment)
        if info.is_main:
            print(f"dadarts search: {args.task} on {len(ds.splits['train'])} training clips, "
                  f"{len(configs)} configuration(s), align {settings.align}, device {device}"
                  + (f", {info.world_size} processes" if info.enabled else ""))
        cost, budget = _budget(settings, configs, len(ds.labels), info.is_main)
        data = prepare_data(ds, configs, device, max_train=settings.max_train, seed=settings.seed)
        if info.is_main and not args.resume and run_dir.search_result.is_file():
            print(f"dadarts search: replacing the earlier result in {run_dir.search}")
        source = {"data": None if args.data is None else str(Path(args.data).expanduser().resolve()),
                  "task": args.task, "names": list(names) if names else None,
                  "name_augment": asdict(augment) if augment and args.task == "names" else None}
        outcome = search(data, settings, run_dir, device, resume=args.resume, progress=not args.quiet, info=info,
                         source=source, cost=cost, budget=budget)
    finally:
        shutdown(info)
    if not info.is_main:
        return 0
    record_run(run_dir, "search", args._argv, dataset_fingerprint=ds.fingerprint,
               settings=settings.to_dict(), device=str(device), processes=info.world_size)
    result = read_json(run_dir.search_result, "search_result")
    _print_summary(result, outcome.history, G)
    pred = result.get("predicted")
    if pred and not pred["fits"]:
        print(f"dadarts search: FAILED: the derived network is over the budget in {', '.join(pred['over'])}; "
              "raise the budget, search longer or with a larger --cost-weight")
        return 1
    return 0


def _budget(settings, configs, num_classes: int, verbose: bool):
    """The cost tables and budget of a search with --target (None, None without), checked before it starts."""
    from ..costmodel.targets import get_target
    from .cost import CostTables, default_budget, initial_size, refuse_impossible
    if not settings.target:
        return None, None
    target = get_target(settings.target)
    budget = default_budget(target, settings.max_latency_ms, settings.max_ram_kb, settings.max_flash_kb,
                            settings.decision_ms)
    if settings.space == "chain":
        from .chain_cost import ChainCost
        from .chain import searched_stems, searched_widths
        cost = ChainCost(configs, num_classes, target, settings.decision_ms, streaming=settings.time_padding != "same",
                         stems=searched_stems(settings), widths=searched_widths(settings))
        refuse_impossible(cost, budget)
        if verbose:
            limits = ", ".join(f"{k.replace('_', ' ')} <= {v:g}" for k, v in budget.items())
            print(f"dadarts search: budget on {target.name} ({target.core} {target.clock_mhz:g} MHz): {limits}; "
                  f"every choice priced by the cost model, one decision every {settings.decision_ms:g} ms")
        return cost, budget
    if settings.final_channels and settings.final_layers:
        channels, layers = settings.final_channels, settings.final_layers
    else:
        channels, layers = initial_size(settings.space, configs, num_classes, target, budget, settings.decision_ms)
        channels, layers = settings.final_channels or channels, settings.final_layers or layers
    cost = CostTables(settings.space, configs, num_classes, channels, layers, target, settings.decision_ms)
    refuse_impossible(cost, budget)
    if verbose:
        limits = ", ".join(f"{k.replace('_', ' ')} <= {v:g}" for k, v in budget.items())
        print(f"dadarts search: budget on {target.name} ({target.core} {target.clock_mhz:g} MHz): {limits}; "
              f"candidates priced as a C={channels}, {layers}-cell network, one decision every "
              f"{settings.decision_ms:g} ms")
    return cost, budget


def _print_summary(result: dict, history: list[dict], G) -> None:
    names = result["data_space"]
    print()
    if result.get("space") != "chain":
        print(G.describe(G.from_dict(result["genotype"])))
    print(result["genotype_str"])
    stop = result["gamma_stop_epoch"]
    print(f"chosen configuration: {result['config']}  (align {result['align']}; "
          + (f"γ early stop at epoch {stop})" if stop else "no γ early stop)"))
    if len(names) > 1:
        print("softmax(γ) per epoch:")
        print("  epoch " + " ".join(f"{n:>11}" for n in names))
        for row in history:
            print(f"  {row['epoch']:>5} " + " ".join(f"{float(row['gamma_' + n]):>11.3f}" for n in names))
    print(f"search validation accuracy: {result['search_val_accuracy']:.3f}")
    net, pred = result.get("network") or {}, result.get("predicted")
    if result.get("narrowed"):
        argmax = result["argmax"]
        print(f"the argmax network, {argmax['genotype_str']}, ended over the budget "
              f"({argmax['predicted']['latency_ms']:.1f} ms, {argmax['predicted']['ram_kb']:.1f} KB RAM, "
              f"{argmax['predicted']['flash_kb']:.1f} KB flash): the most probable network within it narrows "
              f"{len(result['narrowed'])} choice(s): {'; '.join(result['narrowed'])}")
    if pred:
        verdict = "fits" if pred["fits"] else "OVER BUDGET (" + ", ".join(pred["over"]) + ")"
        budget = result["budget"]
        size = (f"{net['blocks']} blocks" if net["space"] == "chain"
                else f"C={net['channels']}, {net['layers']} cells")
        print(f"network to train: {net['space']} space, {size} "
              f"({net['sized_by']}); on {result['target']}: {pred['latency_ms']:.1f} ms per decision "
              f"(budget {budget['latency_ms']:g}), RAM {pred['ram_kb']:.1f} KB (budget {budget['ram_kb']:g}), "
              f"flash {pred['flash_kb']:.1f} KB (budget {budget['flash_kb']:g}), arena {pred['arena_kb']:.1f} KB, "
              f"{pred['macs'] / 1e6:.2f} M MACs: {verdict}")
