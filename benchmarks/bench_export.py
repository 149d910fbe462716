"""Export benchmark: int8 vs float accuracy, model bytes, TFLM arena and export wall time.

For each run (trained with `dadarts train`; by default DS-CNN-S, a searched network with the PC-DARTS
cell and one with an mcu-space cell on the built-in corpus, trained here first if their run
directories do not exist yet) it runs `dadarts export RUN --int8` and reads export/report.json: float
and int8 test accuracy and the drop between them, top-1 agreement with PyTorch, model bytes, TFLM
arena (total, activations) against the largest single layer's working set, TRANSPOSE and float op
counts, the QUANTIZE ops folded before concatenations with the arena and int8 accuracy without and
with the fold, and the export wall time. Prints a table and writes benchmarks/results/export.json.

    python benchmarks/bench_export.py [--run RUN ...] [--work-dir DIR] [--epochs 3] [--fold-concat all --name N]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

from dadarts.rundir import write_text_atomic

RESULTS = Path(__file__).resolve().parent / "results"
DEFAULT_RUNS = {
    # name: dadarts train arguments after the run directory. No augmentation: training then reads
    # cached features instead of computing MFCCs per batch, which keeps a CPU-only run short.
    "ds-cnn-s": ["--model", "ds-cnn-s", "--mfcc", "640/320/40", "--no-augment"],
    "searched-pcdarts": ["--channels", "8", "--layers", "5", "--no-augment"],
    "searched-mcu": ["--channels", "8", "--layers", "5", "--no-augment"],
}
# The fixed cells the searched runs train (no search is run here).
MCU_CELL = {"normal": [["ds_conv_3x3", 0], ["skip_connect", 1], ["max_pool_3x3", 0], ["conv_1x1", 2],
                       ["avg_pool_3x3", 1], ["ds_conv_5x5", 3]], "normal_concat": [2, 3, 4],
            "reduce": [["ds_conv_3x3_x2", 0], ["max_pool_3x3", 1], ["avg_pool_3x3", 0], ["skip_connect", 1],
                       ["ds_conv_5x5", 1], ["conv_1x1", 0]], "reduce_concat": [2, 3, 4]}
SEARCHED = {"searched-pcdarts": ("PCDARTS", "640/320/40"), "searched-mcu": (MCU_CELL, "400/200/40/20")}


def _prepare_searched(root: Path, genotype, config: str) -> None:
    """A search result holding a fixed cell, so `dadarts train` builds the searched network."""
    from dadarts.data.datasets import load_dataset
    from dadarts.rundir import RunDir, write_json_atomic
    from dadarts.search.genotypes import PCDARTS, to_dict
    ds = load_dataset(None, "gsc12")
    write_json_atomic(RunDir.of(root).search_result, {
        "task": "gsc12", "labels": ds.labels, "config": config,
        "genotype": to_dict(PCDARTS) if genotype == "PCDARTS" else genotype,
        "gamma": {config: 1.0}, "gamma_stop_epoch": None, "align": "fixed", "data_space": [config],
        "settings": {"note": "fixed cell for bench_export, not a search"},
        "dataset_fingerprint": ds.fingerprint, "search_val_accuracy": None}, kind="search_result")


def ensure_trained(work: Path, epochs: int) -> list[Path]:
    from dadarts.cli import main
    runs = []
    for name, extra in DEFAULT_RUNS.items():
        root = work / name
        if not (root / "train" / "model.pt").exists():
            if name in SEARCHED:
                _prepare_searched(root, *SEARCHED[name])
            print(f"training {name} for {epochs} epochs into {root} ...")
            code = main(["train", str(root), *extra, "--epochs", str(epochs), "--quiet", "--device", "cpu"])
            if code != 0:
                raise SystemExit(f"training {name} failed (exit {code})")
        runs.append(root)
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", action="append", default=[], help="trained run directory (repeatable)")
    parser.add_argument("--work-dir", default="/tmp/dadarts-bench-export", help="where default runs are trained")
    parser.add_argument("--epochs", type=int, default=3, help="epochs for the default runs")
    parser.add_argument("--calibration-samples", type=int, default=200)
    parser.add_argument("--fold-concat", choices=("safe", "all"), default="safe", help="passed to dadarts export")
    parser.add_argument("--name", default="export", help="results/<name>.json")
    args = parser.parse_args()

    from dadarts.cli import main as cli
    runs = [Path(r) for r in args.run] or ensure_trained(Path(args.work_dir), args.epochs)
    rows = []
    for root in runs:
        t = time.perf_counter()
        code = cli(["export", str(root), "--int8", "--calibration-samples", str(args.calibration_samples),
                    "--fold-concat", args.fold_concat])
        wall = time.perf_counter() - t
        if code != 0:
            raise SystemExit(f"dadarts export {root} --int8 failed (exit {code})")
        r = json.loads((root / "export" / "report.json").read_text())
        t8 = r["tflm"]
        rows.append({
            "run": str(root), "model": r.get("model"), "config": r["config"], "test_samples": r["test_samples"],
            "pytorch_accuracy": r["pytorch"]["accuracy"], "float_accuracy": r["float"]["accuracy"],
            "int8_accuracy": r["int8"]["accuracy"],
            "int8_drop_points": round((r["float"]["accuracy"] - r["int8"]["accuracy"]) * 100, 3),
            "int8_top1_agreement": r["int8"]["top1_agreement"], "onnx_max_abs_error": r["onnx"]["max_abs_error"],
            "model_bytes": r["model_bytes"], "float_model_bytes": r["float"]["bytes"],
            "arena_bytes": t8["arena_bytes"], "arena_head_bytes": t8["arena"]["head_bytes"],
            "activation_lower_bound_bytes": t8["activation_lower_bound_bytes"],
            "arena_head_over_bound": t8["arena_head_over_bound"],
            "tflm_bit_identical_share": t8["bit_identical_share"], "tflm_max_lsb": t8["max_lsb"],
            "transposes": r["int8"]["ops"].get("TRANSPOSE", 0), "float_ops": r["int8"]["float_ops"],
            "int8_ops": r["int8"]["ops"], "dilated_convs_made_dense": len(r["onnx"]["dilated_convs_made_dense"]),
            "concat_quantize": r["concat_quantize"],
            "export_wall_s": round(wall, 1), "step_times_s": {k: round(v, 1) for k, v in r["timings"].items()},
        })

    print(f"\n{'run':<22}{'config':>11}{'float':>8}{'int8':>8}{'drop pp':>9}{'model B':>10}{'arena B':>10}"
          f"{'head/bound':>11}{'TRANSP':>7}{'wall s':>8}")
    for row in rows:
        print(f"{Path(row['run']).name:<22}{row['config']:>11}{row['float_accuracy'] * 100:>7.2f}%"
              f"{row['int8_accuracy'] * 100:>7.2f}%{row['int8_drop_points']:>9.2f}{row['model_bytes']:>10,}"
              f"{row['arena_bytes']:>10,}{row['arena_head_over_bound']:>11}{row['transposes']:>7}"
              f"{row['export_wall_s']:>8.1f}")
    print(f"\n{'run':<22}{'QUANTIZE folded':>16}{'kept':>6}{'arena B before':>16}{'after':>10}"
          f"{'activations before':>20}{'after':>10}{'int8 before':>13}{'after':>9}")
    for row in rows:
        cq = row["concat_quantize"]
        b, a = cq["before"], cq["after"]
        print(f"{Path(row['run']).name:<22}{cq['folded']:>16}{cq['kept']:>6}{b['arena_bytes']:>16,}"
              f"{a['arena_bytes']:>10,}{b['arena_head_bytes']:>20,}{a['arena_head_bytes']:>10,}"
              f"{b['int8_accuracy'] * 100:>12.2f}%{a['int8_accuracy'] * 100:>8.2f}%")
    out = RESULTS / f"{args.name}.json"
    write_text_atomic(out, json.dumps({"benchmark": "export", "machine": platform.platform(), "cpu_count": _cpus(),
                                       "load_average": [round(v, 2) for v in os.getloadavg()],
                                       "calibration_samples": args.calibration_samples, "fold_concat": args.fold_concat,
                                       "rows": rows}, indent=2) + "\n")
    print(f"saved {out}")


def _cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


if __name__ == "__main__":
    main()
