"""`dadarts evaluate RUN --data DIR`: score a trained run on any folder of <word>/<name>.wav recordings."""
from __future__ import annotations

import argparse
import re


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("run", help="trained run directory (int8 and fixed-point paths need `dadarts export RUN --int8`)")
    p.add_argument("--data", required=True, metavar="DIR",
                   help="folder in Speech Commands layout; its testing_list.txt picks the clips when it has one, "
                        "otherwise every clip is scored. Other rates, stereo, 24-bit or float WAVs are converted")
    p.add_argument("--name", help="results go to RUN/evaluate/NAME/ (default: the folder's name)")
    p.add_argument("--threads", type=int, default=1, help="CPU threads for torch and LiteRT (default 1)")


def run(args) -> int:
    from pathlib import Path

    import torch

    from ..data.datasets import load_test_folder
    from ..errors import UserError
    from ..export.step_export import step_paths
    from ..export.streamed_clips import is_causal
    from ..rundir import record_run, write_json_atomic
    from .folder import KIND, evaluate, format_report
    from .runmodels import load_run, load_step

    if args.threads < 1:
        raise UserError("--threads must be at least 1.")
    torch.set_num_threads(args.threads)
    name = args.name or Path(args.data).expanduser().resolve().name
    if not re.fullmatch(r"[A-Za-z0-9._-]+", name) or name in (".", ".."):
        raise UserError(f"'{name}' cannot name a results folder: give --name with letters, digits, '.', '_' or '-'.")
    models = load_run(args.run, threads=args.threads)
    if is_causal(models.float_model) and models.int8 is not None and step_paths(models.run)["int8"].is_file():
        models = load_step(models, exact=False)      # its streamed clips on the device's path too
    ds = load_test_folder(args.data, models.task, models.labels)
    print(f"dadarts evaluate: {models.run.root} ({models.task}, {models.config}) on {ds.root}: "
          f"{len(ds.splits['testing'])} clips")
    result = evaluate(models, ds)
    out = models.run.root / "evaluate" / name / "metrics.json"
    write_json_atomic(out, result, kind=KIND)
    record_run(models.run, f"evaluate/{name}", args._argv, data=str(ds.root))
    print(format_report(result))
    print(f"wrote {out}")
    return 0
