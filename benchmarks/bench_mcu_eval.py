"""How far to trust the Cortex-M latency estimator: errors on data it was never fitted on.

    python benchmarks/bench_mcu_eval.py            # a few seconds; no TensorFlow, no emulator

Reads the measured data of dadarts/costmodel/data/ and the fitted coefficients.json, and prints and saves
to benchmarks/results/mcu_eval.json:

- instruction counts of held-out operators (op_counts_heldout.jsonl: whole held-out models and every
  4th sweep point, frozen in heldout_models.json before any fit), predicted vs measured under QEMU,
  per core/library and kernel path: median and max |error|, with the points;
- whole held-out models: the predicted Invoke (sum of layers) vs the measured one, per build;
- held-out published latencies (latency_heldout.json): 'absolute' points (our instruction model x the
  calibrated cycles per instruction) and 'relative_to' points (the ratio of predicted counts between
  two models of one study), with the 2020 build reported apart;
- the default searched model per layer type: measured vs predicted instructions on each build;
- kernel code size: each measured model's ops linked together vs the per-op sizes the model uses;
- the fit itself (calibration rows): per path the rms and max relative error.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dadarts.costmodel import fit, kernels  # noqa: E402
from dadarts.costmodel.layer import Layer  # noqa: E402
from dadarts.rundir import write_text_atomic  # noqa: E402

DATA = fit.DATA_DIR
SEARCHED = "searched-default"


def error_pct(predicted: float, measured: float) -> float:
    return 100.0 * (predicted / measured - 1.0)


def summary(errors: list[float]) -> dict:
    mags = [abs(e) for e in errors]
    return {"n": len(errors), "median_abs_error_pct": round(statistics.median(mags), 2),
            "max_abs_error_pct": round(max(mags), 2), "mean_error_pct": round(statistics.mean(errors), 2)}


def predict(row: dict) -> tuple[str, float]:
    path, instr, _ = kernels.layer_instructions(Layer(**row["layer"]), row["library"], row["core"])
    return path, instr


def heldout_operators(rows: list[dict]) -> dict:
    groups: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for r in rows:
        path, instr = predict(r)
        groups[f"{r['core']}/{r['library']}"][path].append(
            {"model": r["model"], "point": r["point"], "op_index": r["op_index"], "measured": r["instructions"],
             "predicted": round(instr), "error_pct": round(error_pct(instr, r["instructions"]), 2)})
    return {key: {path: {**summary([p["error_pct"] for p in pts]), "points": pts} for path, pts in sorted(paths.items())}
            for key, paths in sorted(groups.items())}


def model_layers(rows: list[dict]) -> dict[tuple[str, str], list[dict]]:
    """(model, core/library) -> its rows in operator order."""
    by: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for r in rows:
        by[(r["model"], f"{r['core']}/{r['library']}")].append(r)
    return {k: sorted(v, key=lambda r: r["op_index"]) for k, v in by.items()}


def whole_models(layers_by: dict, totals: list[dict], names: set[str]) -> list[dict]:
    out = []
    for t in totals:
        key = f"{t['core']}/{t['library']}"
        rows = layers_by.get((t["model"], key))
        if t["model"] not in names or not rows:
            continue
        predicted = sum(predict(r)[1] for r in rows)
        out.append({"model": t["model"], "build": key, "measured_invoke": t["invoke"], "predicted": round(predicted),
                    "error_pct": round(error_pct(predicted, t["invoke"]), 2)})
    return out


def predicted_model_instructions(layers_by: dict, model: str, key: str) -> float | None:
    rows = layers_by.get((model, key))
    return sum(predict(r)[1] for r in rows) if rows else None


def heldout_latency(points: list[dict], layers_by: dict, calibration: dict[str, dict]) -> list[dict]:
    out = []
    for p in points:
        key = fit._library_key(p)
        instr = predicted_model_instructions(layers_by, p["model"], key)
        if instr is None:
            out.append({"id": p["id"], "skipped": f"no measured layers of {p['model']} on {key}"})
            continue
        row = {"id": p["id"], "model": p["model"], "core": p["core"], "board": p["board"], "clock_mhz": p["clock_mhz"],
               "published_ms": p["value_ms"], "use": p["use"], "older_build": bool(p.get("older_build"))}
        if p["use"] == "relative_to":
            anchor = calibration[p["relative_to"]]
            anchor_instr = predicted_model_instructions(layers_by, anchor["model"], key)
            row["predicted_ms"] = anchor["value_ms"] * instr / anchor_instr
            row["anchor"] = anchor["id"]
        else:
            cpi, provenance = kernels.cycles_per_instr(p["core"], key.split("/")[1])
            row["predicted_ms"] = instr * cpi / (p["clock_mhz"] * 1e3)
            row["cycles_per_instruction"] = cpi
            row["cycles_per_instruction_provenance"] = provenance
            row["implied_cycles_per_instruction"] = round(p["value_ms"] * p["clock_mhz"] * 1e3 / instr, 3)
        row["predicted_ms"] = round(row["predicted_ms"], 2)
        row["error_pct"] = round(error_pct(row["predicted_ms"], p["value_ms"]), 2)
        out.append(row)
    return out


def code_size_check(sizes: dict, held_models: set[str]) -> list[dict]:
    """Kernel code of each measured model's op set linked together vs memory.kernel_code_bytes."""
    from dadarts.costmodel import memory
    out = []
    for key, b in sorted(sizes.items()):
        core, library = key.split("/")
        for s in b["model_op_sets"]:
            predicted = memory.kernel_code_bytes(s["ops"], library, core)
            out.append({"build": key, "model": s["model"], "role": "held_out" if s["model"] in held_models else "calibration",
                        "ops": len(s["ops"]), "measured_bytes": s["measured_bytes"], "predicted_bytes": predicted,
                        "error_pct": round(error_pct(predicted, s["measured_bytes"]), 2)})
    return out


def by_layer_type(layers_by: dict, model: str) -> dict:
    out = {}
    for (name, key), rows in sorted(layers_by.items()):
        if name != model:
            continue
        types: dict[str, dict] = defaultdict(lambda: {"layers": 0, "measured": 0, "predicted": 0.0})
        for r in rows:
            path, instr = predict(r)
            t = types[f"{r['layer']['op']} ({path})"]
            t["layers"] += 1
            t["measured"] += r["instructions"]
            t["predicted"] += instr
        total_m = sum(t["measured"] for t in types.values())
        total_p = sum(t["predicted"] for t in types.values())
        out[key] = {k: {**v, "predicted": round(v["predicted"]), "error_pct": round(error_pct(v["predicted"], v["measured"]), 1),
                        "share_of_measured_pct": round(100.0 * v["measured"] / total_m, 1)}
                    for k, v in sorted(types.items(), key=lambda kv: -kv[1]["measured"])}
        out[key]["TOTAL"] = {"layers": len(rows), "measured": total_m, "predicted": round(total_p),
                             "error_pct": round(error_pct(total_p, total_m), 1), "share_of_measured_pct": 100.0}
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "mcu_eval.json"))
    args = ap.parse_args()
    held_rows = fit.read_rows(DATA / "op_counts_heldout.jsonl")
    cal_rows = fit.read_rows(DATA / "op_counts_calibration.jsonl")
    totals = json.loads((DATA / "invoke_totals.json").read_text())["models"]
    held_models = {m["name"] for m in json.loads((DATA / "heldout_models.json").read_text())["models"]}
    layers_by = model_layers(held_rows + cal_rows)
    calibration_points = {p["id"]: p for p in json.loads((DATA / "latency_calibration.json").read_text())["points"]}

    ops = heldout_operators(held_rows)
    print("held-out operators: predicted vs measured instructions (QEMU), per build and kernel path")
    print(f"  {'build':<16} {'path':<18} {'n':>4} {'median':>8} {'max':>8}")
    for key, paths in ops.items():
        for path, s in paths.items():
            print(f"  {key:<16} {path:<18} {s['n']:>4} {s['median_abs_error_pct']:>7.1f}% {s['max_abs_error_pct']:>7.1f}%")
    per_build = {key: summary([p["error_pct"] for s in paths.values() for p in s["points"]]) for key, paths in ops.items()}
    for key, s in per_build.items():
        print(f"  {key:<16} {'all':<18} {s['n']:>4} {s['median_abs_error_pct']:>7.1f}% {s['max_abs_error_pct']:>7.1f}%")

    whole = whole_models(layers_by, totals, held_models)
    print("\nheld-out whole models: predicted vs measured Invoke")
    for w in whole:
        print(f"  {w['model']:<18} {w['build']:<16} {w['measured_invoke']:>13,} {w['predicted']:>13,} {w['error_pct']:>+7.1f} %")

    latency = heldout_latency(json.loads((DATA / "latency_heldout.json").read_text())["points"], layers_by,
                              calibration_points)
    print("\nheld-out published latencies")
    for r in latency:
        if "skipped" in r:
            print(f"  {r['id']:<46} skipped: {r['skipped']}")
            continue
        tag = " (2020 build)" if r["older_build"] else ""
        print(f"  {r['id']:<46} {r['published_ms']:>8.1f} ms  predicted {r['predicted_ms']:>8.1f} ms  "
              f"{r['error_pct']:>+6.1f} %{tag}")
    current = [r["error_pct"] for r in latency if "error_pct" in r and not r["older_build"]]
    older = [r["error_pct"] for r in latency if "error_pct" in r and r["older_build"]]
    for name, errors in (("today's builds", current), ("2020 builds", older)):
        if errors:
            s = summary(errors)
            print(f"  {name}: {s['n']} points, median |error| {s['median_abs_error_pct']:.1f} %, max {s['max_abs_error_pct']:.1f} %")

    searched = by_layer_type(layers_by, SEARCHED)
    for key, types in searched.items():
        print(f"\n{SEARCHED} on {key}: measured vs predicted instructions per layer type")
        for name, t in types.items():
            print(f"  {name:<34} {t['layers']:>3} {t['measured']:>13,} {t['predicted']:>13,} {t['error_pct']:>+7.1f} % "
                  f"({t['share_of_measured_pct']:.1f} % of the Invoke)")

    code = code_size_check(json.loads((DATA / "code_sizes.json").read_text())["builds"], held_models)
    print("\nkernel code of a model's ops (linked together) vs the sum of measured per-op sizes less the shared code")
    for c in code:
        print(f"  {c['build']:<16} {c['model']:<18} {c['role']:<11} {c['measured_bytes']:>8,} B  predicted "
              f"{c['predicted_bytes']:>8,} B  {c['error_pct']:>+6.1f} %")

    coefficients = kernels.coefficients()
    result = {
        "benchmark": "mcu_eval",
        "about": __doc__.split("\n\n")[1].strip() if "\n\n" in __doc__ else "",
        "heldout_operators_per_build": per_build,
        "heldout_operators": ops,
        "heldout_whole_models": whole,
        "heldout_latency": latency,
        "heldout_latency_summary": summary(current) if current else None,
        "heldout_latency_summary_2020_builds": summary(older) if older else None,
        "searched_default_by_layer_type": searched,
        "kernel_code_bytes": code,
        "fit_statistics": coefficients["fit_statistics"],
        "cycles_per_instruction": coefficients["cycles_per_instruction"],
        "assumed_cycles_per_instruction": coefficients["assumed_cycles_per_instruction"],
        "data": {"heldout_rows": len(held_rows), "calibration_rows": len(cal_rows),
                 "provenance": json.loads((DATA / "provenance.json").read_text())["builds"]},
    }
    write_text_atomic(args.out, json.dumps(result, indent=1) + "\n")
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
