"""What a causal network's step decides once it has heard audio before the window (issue #24).

A causal chain network (`--time-padding causal`) is trained on one-second windows whose maps are padded
with zero frames before them; streamed, those frames hold what the device heard before the window, so
its decision on a keyword is not the whole-window model's (`dadarts export --streaming` reports their
top-1 agreement). A valid network's step reads nothing before its window: its figures equal the
whole-window model's, which makes it the control.

For each run (`--run`, repeatable) and each test clip (and, with `--folder`, each clip of that folder:
measured only), in float (PyTorch), this scores:
- `window`: the whole-window model on the clip alone (what `dadarts train` reports);
- `after_speech`: the step model streamed from a reset over the previous test clips (a fixed random
  order, dadarts.train.loop.stream_order: other keywords, unknown words and silence), decided at the
  step whose window is the clip (dadarts/export/streamed_clips.py);
- `after_silence`: the same with the clip's own first frame repeated as the history (the room the clip
  was recorded in; the quietest history a device hears between words);
- `after_speech_int8_step`: `after_speech` by the run's exported int8 step model (LiteRT), when it has one.
Prints a table and writes benchmarks/results/<name>.json. `dadarts evaluate` reports `after_speech` for a
causal run as its streamed paths, `dadarts export --int8 --streaming` as report["streaming"]["clips"]
(the same code).

    python benchmarks/bench_causal_history.py --run benchmarks/runs/seeds/m-causal-s0 \
        --run benchmarks/runs/seeds/m-causal-history-s0 --run benchmarks/runs/seeds/m-valid-s0 \
        --folder ../shared/data/gsc-real-dev --name causal_history
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dadarts.rundir import write_text_atomic  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"


def test_windows(run_path: str, folder: str | None = None):
    """(model, normalised test features (M, T, F), labels (M,)) of a trained run: its test split, or the clips
    of `folder` (a Speech Commands layout, as `dadarts evaluate --data` reads it)."""
    from dadarts.data.datasets import load_test_folder
    from dadarts.data.features import load_features
    from dadarts.train.models import load_checkpoint, rebuild_model
    from dadarts.export.pipeline import _dataset_of
    from dadarts.frontend.spec import MfccConfig
    from dadarts.rundir import RunDir, read_json
    run = RunDir.of(run_path)
    ckpt = load_checkpoint(run.model)
    frontend = read_json(run.frontend, "frontend")
    config = MfccConfig.parse(ckpt.get("config") or frontend["config"])
    ds = (load_test_folder(folder, ckpt.get("task") or "gsc12", list(ckpt["labels"])) if folder
          else _dataset_of(run, ckpt))
    test = load_features(ds, "testing", config)
    mean, std = (torch.tensor(frontend[k], dtype=torch.float32) for k in ("mean", "std"))
    return rebuild_model(ckpt), ((test.x.float() - mean) / std), test.y.numpy()


def _int8_step(run_path: str, frames_per_step: int):
    """The run's exported int8 step model (dadarts export --int8 --streaming) when it steps as the float one."""
    from dadarts.export.step_export import step_paths
    from dadarts.export.step_tflite import StepRunner
    from dadarts.rundir import RunDir
    path = step_paths(RunDir.of(run_path))["int8"]
    if not path.is_file():
        return None
    runner = StepRunner(path.read_bytes(), reference_kernels=False)
    return runner if runner.frames == frames_per_step else None


def score(run_path: str, folder: str | None = None) -> dict:
    from dadarts.export.step_model import StepModel, default_frames_per_step, time_stride, whole_stream_logits
    from dadarts.export.streamed_clips import deciding_step, history_frames, streamed_logits
    from dadarts.frontend.spec import SAMPLE_RATE, MfccConfig
    from dadarts.rundir import RunDir, read_json
    from dadarts.train.loop import stream_order
    model, x, y = test_windows(run_path, folder)
    T = x.shape[1]
    with torch.no_grad():
        window = torch.cat([model(x[i:i + 256, None]) for i in range(0, len(x), 256)]).argmax(1).numpy()
    config = MfccConfig.parse(read_json(RunDir.of(run_path).frontend, "frontend")["config"])
    step = StepModel(model, (T, x.shape[2]), default_frames_per_step(time_stride(model), config.hop * 1000.0 / SAMPLE_RATE)).eval()
    H = history_frames(step.plan)
    s = deciding_step(step.plan, H)
    int8 = _int8_step(run_path, step.plan.frames_per_step)
    # after the previous clips in stream_order (what dadarts evaluate and the step export stream)
    got = streamed_logits(step, x.numpy(), int8, int8.quantize_frames(x.numpy()) if int8 is not None else None)
    after_silence = torch.cat([x[:, :1].expand(-1, H, -1), x], dim=1)
    silence = np.concatenate([whole_stream_logits(step, after_silence[j:j + 128])[:, s].argmax(1).numpy()
                              for j in range(0, len(x), 128)])
    acc = lambda p: float((p == y).mean())  # noqa: E731
    speech = got["streamed_float"].argmax(1)
    return {"run": str(Path(run_path)), "clips_from": folder or "the run's test split", "causal": step.plan.causal,
            "config": config.name, "order": "dadarts.train.loop.stream_order", "first": int(stream_order(len(y))[0]),
            "frames_per_step": step.plan.frames_per_step, "history_frames": H, "clips": int(len(y)),
            "accuracy": {"window": acc(window), "after_speech": acc(speech), "after_silence": acc(silence),
                         "after_speech_int8_step": acc(got["streamed_int8"].argmax(1)) if int8 is not None else None},
            "agreement_with_window": {"after_speech": float((speech == window).mean()),
                                      "after_silence": float((silence == window).mean())}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", action="append", required=True, help="trained run directory (repeat for several)")
    ap.add_argument("--folder", help="also the clips of this folder (e.g. ../shared/data/gsc-real-dev; measured only)")
    ap.add_argument("--name", default="causal_history")
    args = ap.parse_args()
    torch.set_num_threads(1)
    t0 = time.perf_counter()
    rows = [score(r, f) for r in args.run for f in [None] + ([args.folder] if args.folder else [])]
    print(f"{'run':48s} {'clips':22s} {'padding':7s} {'window':>7s} {'after speech':>13s} {'after silence':>14s} "
          f"{'int8 step after speech':>23s}")
    for r in rows:
        a = r["accuracy"]
        q = "-" if a["after_speech_int8_step"] is None else f"{a['after_speech_int8_step'] * 100:.2f}%"
        print(f"{r['run']:48s} {Path(r['clips_from']).name[:22]:22s} {'causal' if r['causal'] else 'valid':7s} "
              f"{a['window'] * 100:6.2f}% {a['after_speech'] * 100:12.2f}% {a['after_silence'] * 100:13.2f}% {q:>23s}")
    out = RESULTS / f"{args.name}.json"
    write_text_atomic(out, json.dumps({"benchmark": "causal_history", "runs": rows,
                                       "wall_s": round(time.perf_counter() - t0, 1),
                                       "notes": "float (PyTorch) decisions on the test split's clips; after_speech: "
                                                "the step streamed over the previous clips in a random order; "
                                                "after_silence: the clip's first frame repeated as history"},
                                      indent=2) + "\n")
    print(f"saved {out}")


if __name__ == "__main__":
    main()
