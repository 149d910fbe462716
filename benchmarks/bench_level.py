"""Is a model level-invariant? Its accuracy on the test split's clips scaled to fixed levels.

Issue #23's streams play keywords at -20 to -35 dBFS (recipe `talk`); training draws -30 to -1 dBFS.
This rescales every test clip (as the corpus renders it: room, microphone, noise) to a fixed RMS level
and scores the run's float model through the float front-end, beside the clips as they are.

    python benchmarks/bench_level.py --run RUN [--name level]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dadarts.rundir import write_text_atomic  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
LEVELS_DBFS = (-15, -20, -25, -30, -35, -40)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", required=True, help="trained run directory")
    ap.add_argument("--name", default="level")
    args = ap.parse_args()
    from dadarts.train.models import load_checkpoint, rebuild_model
    from dadarts.export.pipeline import _dataset_of
    from dadarts.frontend.mfcc import Mfcc
    from dadarts.frontend.spec import MfccConfig
    from dadarts.rundir import RunDir, read_json
    torch.set_num_threads(1)
    run = RunDir.of(args.run)
    ckpt, frontend = load_checkpoint(run.model), read_json(run.frontend, "frontend")
    model, config = rebuild_model(ckpt), MfccConfig.parse(frontend["config"])
    ds = _dataset_of(run, ckpt)
    clips = ds.splits["testing"]
    audio = np.stack([ds.load_audio(c) for c in clips]).astype(np.float64)
    y = np.array([c.label for c in clips])
    mean, std = (torch.tensor(frontend[k], dtype=torch.float32) for k in ("mean", "std"))
    mfcc = Mfcc(config)

    def accuracy(a: np.ndarray) -> float:
        x = (mfcc(torch.from_numpy(np.clip(np.round(a), -32768, 32767).astype(np.int16))).float() - mean) / std
        with torch.no_grad():
            p = torch.cat([model(x[i:i + 256, None]) for i in range(0, len(x), 256)]).argmax(1).numpy()
        return float((p == y).mean())

    rms = np.sqrt((audio ** 2).mean(1, keepdims=True)) + 1e-9
    level = 20 * np.log10(rms[:, 0] / 32768)
    result = {"benchmark": "level", "run": args.run, "clips": int(len(y)), "as_is": accuracy(audio),
              "as_is_rms_dbfs": {"median": float(np.median(level)), "p5": float(np.percentile(level, 5)),
                                 "p95": float(np.percentile(level, 95))},
              "at_rms_dbfs": {str(lv): accuracy(audio / rms * 32768 * 10 ** (lv / 20)) for lv in LEVELS_DBFS}}
    print(f"{args.run}: as rendered {result['as_is'] * 100:.2f} % (clip RMS median {result['as_is_rms_dbfs']['median']:.1f} dBFS)")
    for lv, a in result["at_rms_dbfs"].items():
        print(f"  at {lv} dBFS RMS: {a * 100:.2f} %")
    out = RESULTS / f"{args.name}.json"
    write_text_atomic(out, json.dumps(result, indent=2) + "\n")
    print(f"saved {out}")


if __name__ == "__main__":
    main()
