"""Benchmark of the MCU estimator: DS-CNN-S/M/L and micro_speech against published figures.

    python benchmarks/bench_mcu_eval.py            # ~1 min on 2 cores
    python benchmarks/bench_mcu_eval.py --qemu     # also measure the C front-end under QEMU (M4)
    python benchmarks/bench_mcu_eval.py --compare-run runs/exp1   # + genotype estimator vs that exported run

Builds the int8 calibration models (random weights: latency and memory do not depend on them),
then prints and saves to benchmarks/results/mcu_eval.json:
- latency: every point of dadarts/mcu_eval/calibration.json, predicted vs published, error %,
  split into calibration and held-out points;
- kernels: the emulated CMSIS-NN kernel instruction counts stored there vs the cost model;
- memory: measured TFLM arena and model bytes vs MicroNets' SRAM/flash and ML-Zoo's .tflite sizes
  (those include things we count elsewhere, so they are context, not a pass/fail);
- front-end instructions per frame: analytic vs measured (QEMU) where a measurement exists;
- estimates of the three DS-CNNs on every preset board.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dadarts.frontend.spec import DEFAULT_SPACE, MfccConfig  # noqa: E402
from dadarts.costmodel.arena import measure_arena  # noqa: E402
from dadarts.mcu_eval.calibration import evaluate, evaluate_kernels, load_kernel_points, load_points  # noqa: E402
from dadarts.mcu_eval.calibration_models import DS_CNN, build_calibration_model  # noqa: E402
from dadarts.mcu_eval.estimate import estimate  # noqa: E402
from dadarts.costmodel.frontend_cost import analytic_instructions_per_frame  # noqa: E402
from dadarts.costmodel.graph import parse_tflite  # noqa: E402
from dadarts.costmodel.targets import preset_targets  # noqa: E402
from dadarts.rundir import write_text_atomic  # noqa: E402

# Context for the memory figures (REFERENCES.md §1 and §2b).
MICRONETS_KB = {"ds-cnn-s": {"flash": 49, "sram": 47.2}, "ds-cnn-m": {"flash": 181, "sram": 123.3},
                "ds-cnn-l": {"flash": 490, "sram": 201.3}}
MLZOO_TFLITE_BYTES = {"ds-cnn-s": 54464, "ds-cnn-m": 200928, "ds-cnn-l": 503816}
# The MFCC configuration the published DS-CNNs use is 640/320 with 10 coefficients (49x10); the
# nearest configuration of our space for the front-end terms is 640/320/40.
FRONTEND_FOR_DSCNN = MfccConfig.parse("640/320/40")


def measure_frontend_qemu(configs) -> dict[str, dict]:
    """Executed instructions per frame of firmware/frontend under QEMU (Cortex-M4), per configuration."""
    from dadarts.firmware import build
    from dadarts.frontend.ctables import write_frontend_tables
    out = {}
    if build.missing_tools("qemu-m4"):
        return {c.name: {"error": f"missing {', '.join(build.missing_tools('qemu-m4'))}"} for c in configs}
    rng = np.random.default_rng(0)
    pcm = (rng.standard_normal((1, 16000)) * 3000).astype(np.int16)
    for c in configs:
        with tempfile.TemporaryDirectory(prefix="bench-mcu-fe-") as tmp:
            fe = {"config": c.name, "mean": [0.0] * c.n_mfcc, "std": [10.0] * c.n_mfcc}
            write_frontend_tables(Path(tmp) / "tables", fe, 0.05, 0, source="benchmarks/bench_mcu_eval.py")
            try:
                bdir = build.cmake_build(Path(tmp) / "tables", Path(tmp) / "build", "qemu-m4")
                got, status = build.run_frontend_qemu(bdir, pcm, 16000, c.n_mfcc)
                out[c.name] = {"instructions_per_frame": got.instructions_per_frame, "qemu_status": status}
            except Exception as exc:  # a benchmark records what went wrong and goes on
                out[c.name] = {"error": str(exc)[:300]}
    return out


def compare_searched_run(run_path: str) -> dict:
    """estimate_from_genotype (before training/export) vs the estimator on the run's exported model."""
    import torch

    from dadarts.frontend.artifact import read_frontend
    from dadarts.mcu_eval.analytic import estimate_from_genotype
    from dadarts.rundir import RunDir
    run = RunDir.of(run_path)
    ckpt = torch.load(run.model, map_location="cpu", weights_only=False)
    build, kw = ckpt["build"], ckpt["build"]["kwargs"]
    config = read_frontend(run.frontend).config
    blob = run.tflite_int8.read_bytes()
    graph = parse_tflite(blob)
    target = preset_targets()["NUCLEO-L4R5ZI"]
    arena = measure_arena(blob).total_bytes
    ex = estimate(graph, arena, config, [target])["targets"][target.name]
    ours = estimate_from_genotype(kw["genotype"], config, build["num_classes"], kw["channels"], kw["layers"], target,
                                  space=kw.get("space"))
    pairs = {"latency_ms": (ours["latency_ms"], ex["latency_ms"]), "ram_bytes": (ours["ram_bytes"], ex["ram_bytes"]),
             "flash_bytes": (ours["flash_bytes"], ex["flash_bytes"]), "macs": (ours["macs"], graph.total_macs),
             "arena_bytes": (ours["arena_bytes"], arena),
             "model_bytes": (ours["model_bytes"], graph.model_bytes)}
    out = {"run": str(run_path), "config": config.name, "channels": kw["channels"], "layers": kw["layers"],
           "target": target.name, "genotype_vs_exported": {k: {"genotype": a, "exported": b,
                                                               "error_pct": 100.0 * (a / b - 1.0)}
                                                           for k, (a, b) in pairs.items()}}
    print(f"\nsearched run {run_path} (C={kw['channels']}, {kw['layers']} cells, {config}) on {target.name}: "
          "estimate_from_genotype vs exported model")
    for k, v in out["genotype_vs_exported"].items():
        print(f"  {k:<12} {v['genotype']:>12.1f} {v['exported']:>12.1f}  {v['error_pct']:+.1f} %")
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--qemu", action="store_true", help="measure front-end instructions/frame under QEMU")
    ap.add_argument("--compare-run", metavar="RUN",
                    help="an exported run of a searched network: compare estimate_from_genotype with it")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "mcu_eval.json"))
    args = ap.parse_args()
    t0 = time.time()

    models = {name: build_calibration_model(name) for name in (*DS_CNN, "micro_speech")}
    graphs = {name: parse_tflite(b) for name, b in models.items()}
    arenas = {name: measure_arena(b) for name, b in models.items()}

    rows = evaluate(load_points(), {n: g.layers for n, g in graphs.items()})
    print(f"{'point':<36} {'role':<11} {'unit':<12} {'published':>10} {'predicted':>10} {'error':>7}")
    for r in rows:
        print(f"{r['id']:<36} {r['role']:<11} {r['unit']:<12} {r['published']:>10.4g} {r['predicted']:>10.4g} "
              f"{r['error_pct']:>+6.1f}%")
    held = [abs(r["error_pct"]) for r in rows if r["role"] == "held_out" and r["unit"] == "ms"]
    cal = [abs(r["error_pct"]) for r in rows if r["role"] == "calibration"]
    summary = {"held_out_board_points": len(held), "held_out_mean_abs_error_pct": statistics.mean(held),
               "held_out_max_abs_error_pct": max(held), "calibration_max_abs_error_pct": max(cal),
               "held_out_within_25_pct": all(e <= 25.0 for e in held),
               "held_out_instruction_points": {r["id"]: r["error_pct"] for r in rows
                                               if r["role"] == "held_out" and r["unit"] == "instructions"}}
    print(f"held-out board latencies: {len(held)} points, mean |error| {summary['held_out_mean_abs_error_pct']:.1f} %, "
          f"max {summary['held_out_max_abs_error_pct']:.1f} %")

    kernel_points = load_kernel_points()
    kernel_rows = evaluate_kernels(kernel_points)
    for row, point in zip(kernel_rows, kernel_points):
        row["role"] = point["role"]
    print("\nkernel calls, emulated instructions (stored in calibration.json) vs cost model:")
    for library in sorted({r["library"] for r in kernel_rows}):
        for role in ("fit", "held_out"):
            errs = [abs(r["error_pct"]) for r in kernel_rows if r["role"] == role and r["library"] == library]
            if not errs:
                continue
            print(f"  {library:<13} {role:<9} {len(errs):>2} calls, mean |error| {statistics.mean(errs):.1f} %, "
                  f"max {max(errs):.1f} %")
            summary[f"kernels_{library}_{role}_mean_abs_error_pct"] = statistics.mean(errs)
            summary[f"kernels_{library}_{role}_max_abs_error_pct"] = max(errs)

    memory_rows = {}
    print(f"\n{'model':<13} {'MACs':>10} {'.tflite B':>10} {'ML-Zoo B':>9} {'arena B':>8}  "
          f"{'RAM on F746 (ours) KB':>22} {'MicroNets SRAM KB':>18}")
    presets = preset_targets()
    for name in DS_CNN:
        est = estimate(graphs[name], arenas[name].total_bytes, FRONTEND_FOR_DSCNN, [presets["NUCLEO-F767ZI"]])
        t = est["targets"]["NUCLEO-F767ZI"]
        memory_rows[name] = {"macs": graphs[name].total_macs, "model_bytes": graphs[name].model_bytes,
                             "mlzoo_tflite_bytes": MLZOO_TFLITE_BYTES[name], "arena": arenas[name].to_dict(),
                             "ram_bytes_estimate": t["ram_bytes"], "ram_terms": t["ram_terms"],
                             "flash_bytes_estimate": t["flash_bytes"], "micronets_kb": MICRONETS_KB[name]}
        print(f"{name:<13} {graphs[name].total_macs:>10} {graphs[name].model_bytes:>10} "
              f"{MLZOO_TFLITE_BYTES[name]:>9} {arenas[name].total_bytes:>8}  {t['ram_bytes'] / 1024:>22.1f} "
              f"{MICRONETS_KB[name]['sram']:>18}")

    searched = compare_searched_run(args.compare_run) if args.compare_run else None

    fe_rows = {c.name: {"analytic_instructions_per_frame": analytic_instructions_per_frame(c)} for c in DEFAULT_SPACE}
    if args.qemu:
        measured = measure_frontend_qemu(DEFAULT_SPACE)
        for name, m in measured.items():
            fe_rows[name].update(m)
            if m.get("instructions_per_frame"):
                fe_rows[name]["analytic_error_pct"] = 100.0 * (
                    fe_rows[name]["analytic_instructions_per_frame"] / m["instructions_per_frame"] - 1.0)
    print("\nfront-end instructions per frame (analytic" + (", QEMU M4 measured" if args.qemu else "") + "):")
    for name, r in fe_rows.items():
        extra = (f"  measured {r['instructions_per_frame']}  error {r['analytic_error_pct']:+.1f} %"
                 if r.get("instructions_per_frame") else (f"  ({r['error']})" if "error" in r else ""))
        print(f"  {name:<11} {r['analytic_instructions_per_frame']:>9.0f}{extra}")

    boards = {}
    print(f"\nDS-CNN latency (ms per Invoke) on every preset, default kernels:")
    print(f"  {'target':<18} " + " ".join(f"{n:>9}" for n in DS_CNN))
    for tname, target in presets.items():
        boards[tname] = {}
        for name in DS_CNN:
            t = estimate(graphs[name], arenas[name].total_bytes, FRONTEND_FOR_DSCNN, [target])["targets"][tname]
            boards[tname][name] = {"invoke_ms": t["invoke_ms"], "fits": t["fits"], "ram_bytes": t["ram_bytes"],
                                   "flash_bytes": t["flash_bytes"], "cost_model": t["cost_model"]}
        print(f"  {tname:<18} " + " ".join(
            f"{boards[tname][n]['invoke_ms']:>8.1f}{'' if boards[tname][n]['fits'] else '!'}" for n in DS_CNN))
    print("  (! = does not fit)")

    result = {"benchmark": "mcu_eval", "seconds": time.time() - t0, "latency_points": rows, "summary": summary,
              "kernels": kernel_rows,
              "memory": memory_rows, "frontend": fe_rows,
              "boards": boards, "searched_run": searched}
    write_text_atomic(args.out, json.dumps(result, indent=1) + "\n")
    print(f"\nwrote {args.out} ({result['seconds']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
