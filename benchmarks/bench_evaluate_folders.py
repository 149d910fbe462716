"""Evaluate benchmark: a run scored on folders in other formats than it was trained on.

From the run's dataset (default: the built-in corpus) it copies the testing_list clips and the
background noise, resampled with torchaudio, into test-only folders (no list files): one at 8 kHz
mono and one at 44.1 kHz stereo (both channels the clip). `dadarts evaluate` scores the run on each and
on the original folder (16 kHz, its test list); the benchmark records the accuracy of every path and
the conversion notice the command printed. Prints a table and writes benchmarks/results/<name>.json.

    python benchmarks/bench_evaluate_folders.py --run runs/kws [--work-dir DIR] [--name stream_evaluate_folders]
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import platform
import shutil
from pathlib import Path

from dadarts.rundir import write_text_atomic

RESULTS = Path(__file__).resolve().parent / "results"
FOLDERS = {"8k-mono": (8000, 1), "44k1-stereo": (44100, 2)}


def make_folder(src: Path, dst: Path, rate: int, channels: int) -> int:
    """Test clips and background noise of `src` at `rate` Hz with `channels` channels; no list files."""
    import numpy as np
    import torch
    import torchaudio.functional as AF

    from dadarts.data.wavio import read_wav, write_wav
    names = (src / "testing_list.txt").read_text().split()
    noise = [f"_background_noise_/{p.name}" for p in sorted((src / "_background_noise_").glob("*.wav"))]
    for name in names + noise:
        x = torch.from_numpy(read_wav(src / name).astype(np.float32) / 32768.0)
        y = AF.resample(x, 16000, rate).numpy()
        (dst / name).parent.mkdir(parents=True, exist_ok=True)
        write_wav(dst / name, np.stack([y] * channels, 1) if channels > 1 else y, rate=rate)
    return len(names)


def evaluate(run: Path, data: Path, name: str) -> tuple[dict, str]:
    from dadarts.cli import main as cli
    from dadarts.rundir import read_json
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = cli(["evaluate", str(run), "--data", str(data), "--name", name, "--threads", "2"])
    if code != 0:
        raise SystemExit(f"dadarts evaluate {run} --data {data} failed (exit {code}): {err.getvalue()}")
    notices = [ln for ln in err.getvalue().splitlines() if ln.startswith("dadarts:")]
    return read_json(run / "evaluate" / name / "metrics.json", "evaluation"), "\n".join(notices)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", required=True, help="run directory exported with --int8")
    parser.add_argument("--work-dir", default="/tmp/dadarts-bench-evaluate", help="where the folders are written")
    parser.add_argument("--name", default="stream_evaluate_folders", help="results/<name>.json")
    args = parser.parse_args()

    from dadarts.firmware.runio import run_dataset_args
    from dadarts.rundir import RunDir
    run = Path(args.run)
    data = run_dataset_args(RunDir.of(run))["data"]
    if data is None:
        from dadarts.data.synth import default_corpus
        data = default_corpus()
    rows = {}
    result, notice = evaluate(run, Path(data), "bench-16k-original")
    rows["16k-original"] = {"folder": str(data), "notice": notice, "result": result}
    for name, (rate, channels) in FOLDERS.items():
        dst = Path(args.work_dir) / name
        if dst.exists():
            shutil.rmtree(dst)
        clips = make_folder(Path(data), dst, rate, channels)
        result, notice = evaluate(run, dst, f"bench-{name}")
        rows[name] = {"folder": str(dst), "rate": rate, "channels": channels, "clips_written": clips,
                      "notice": notice, "result": result}
    print(f"\n{'folder':<14}{'clips':>7}{'float':>9}{'int8':>9}{'fixed':>9}")
    for name, row in rows.items():
        p = row["result"]["paths"]
        print(f"{name:<14}{row['result']['clips']:>7}" + "".join(f"{p[k]['accuracy'] * 100:>8.2f}%" for k in ("float", "int8", "fixed")))
        if row["notice"]:
            print(f"  {row['notice']}")
    out = RESULTS / f"{args.name}.json"
    slim = {name: {**{k: v for k, v in row.items() if k != "result"}, "clips": row["result"]["clips"],
                   "converted": row["result"]["converted"],
                   "accuracy": {k: v["accuracy"] for k, v in row["result"]["paths"].items()},
                   "balanced_accuracy": {k: v["balanced_accuracy"] for k, v in row["result"]["paths"].items()},
                   "per_class_fixed": row["result"]["paths"]["fixed"]["per_class"]}
            for name, row in rows.items()}
    write_text_atomic(out, json.dumps({"benchmark": "evaluate_folders", "run": str(run.resolve()),
                                       "machine": platform.platform(), "folders": slim}, indent=2) + "\n")
    print(f"saved {out}")


if __name__ == "__main__":
    main()
