"""Regenerate dadarts/costmodel/coefficients.json from the measured data (dadarts.costmodel.fit).

    python benchmarks/fit_cost_model.py            # rewrite coefficients.json, print the fit per path
    python benchmarks/fit_cost_model.py --check    # only compare: exit 1 if the committed file differs

The fit reads dadarts/costmodel/data/ (op_counts_calibration.jsonl, invoke_totals.json,
latency_calibration.json; never the held-out files except to drop duplicates of their points) and is
deterministic: the same data give the same file, byte for byte.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dadarts.costmodel import fit  # noqa: E402
from dadarts.rundir import write_text_atomic  # noqa: E402

TARGET = ROOT / "dadarts" / "costmodel" / "coefficients.json"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="compare with the committed file instead of writing it")
    ap.add_argument("--data", type=Path, default=fit.DATA_DIR, help="the data folder (default: the package's)")
    ap.add_argument("--out", type=Path, default=TARGET, help="where to write (default: the package's coefficients.json)")
    args = ap.parse_args()
    text = fit.dumps(fit.fit(args.data))
    if args.check:
        same = args.out.is_file() and args.out.read_text() == text
        print("coefficients.json is what the data give" if same else "coefficients.json differs from the fit of the data")
        return 0 if same else 1
    write_text_atomic(args.out, text)
    body = json.loads(text)
    for key, paths in body["fit_statistics"].items():
        for path, s in paths.items():
            coef = ", ".join(f"{k} {v:g}" for k, v in body["instructions"][key][path].items())
            print(f"{key:<18} {path:<18} {s['points']:>4} points  rms {100 * s['rms_rel_error']:5.1f} %  "
                  f"max {100 * s['max_abs_rel_error']:5.1f} %   {coef}")
    for key, c in body["cycles_per_instruction"].items():
        print(f"{key:<18} {c['value']:.3f} cycles/instruction  ({c['provenance']})")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
