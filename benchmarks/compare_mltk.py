"""What a peer tool says about the same .tflite files: Silicon Labs' MLTK model profiler next to mcu-eval.

The MLTK (`silabs-mltk` on PyPI) profiles a .tflite in its TFLite Micro simulator: model size, runtime
RAM, ops, MACs, unsupported layers. Its latency estimators are downloaded at run time, which this
machine cannot, so memory and MACs are what is compared. It is installed in its own environment (its
pins clash with dadarts'):

    python3.11 -m venv ~/mltk-venv && ~/mltk-venv/bin/pip install silabs-mltk "click<8.2" "onnx<1.17" onnxruntime
    python benchmarks/compare_mltk.py --mltk ~/mltk-venv/bin/mltk [--model NAME=FILE ...]

Models: DS-CNN-S/M/L and micro_speech's model as the cost model's calibration builds them
(dadarts.mcu_eval.calibration_models, needs TensorFlow), and every --model given (e.g.
demo=runs/demo/export/model_int8.tflite). For each: MLTK's figures (or the error it stopped with), the
arena the tflite-micro interpreter measures on this 64-bit host (what mcu-eval uses), the arena TFLM
used on the emulated Cortex-M4 where benchmarks/measure_op_counts.py measured it
(dadarts/costmodel/data/invoke_totals.json), and MACs from mcu-eval's graph. Prints a table and writes
benchmarks/results/mltk_compare.json.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dadarts.costmodel.arena import measure_arena  # noqa: E402
from dadarts.costmodel.graph import parse_tflite  # noqa: E402
from dadarts.rundir import write_text_atomic  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
BUILT = ("ds-cnn-s", "ds-cnn-m", "ds-cnn-l", "micro_speech")
SUFFIX = {"": 1, "k": 1e3, "M": 1e6, "G": 1e9}


def _number(text: str) -> float:
    """MLTK's '24.5k' / '2.7M' / '768.0' as a number."""
    m = re.fullmatch(r"([0-9.]+)\s*([kMG]?)", text.strip())
    return float(m.group(1)) * SUFFIX[m.group(2)] if m else float("nan")


def mltk_profile(mltk: str, path: Path, timeout: float) -> dict:
    """MLTK's summary of one model, or the reason it gave none."""
    proc = subprocess.run([mltk, "profile", str(path)], capture_output=True, text=True, timeout=timeout,
                          cwd=tempfile.gettempdir())
    out = proc.stdout + proc.stderr
    fields = {"model_bytes": r"Flash, Model File Size \(bytes\):\s*(\S+)",
              "runtime_ram_bytes": r"RAM, Runtime Memory Size \(bytes\):\s*(\S+)",
              "ops": r"Operation Count:\s*(\S+)", "macs": r"Multiply-Accumulate Count:\s*(\S+)",
              "unsupported_layers": r"Unsupported Layer Count:\s*(\S+)"}
    found = {k: _number(m.group(1)) for k, rx in fields.items() if (m := re.search(rx, out))}
    if "runtime_ram_bytes" not in found:
        unsupported = re.findall(r"Op\d+-(\w+) not supported: (.*)", out)
        why = (f"no summary (exit {proc.returncode}); {len(unsupported)} layers 'not supported' "
               f"(first: {unsupported[0][0]}: {unsupported[0][1]})" if unsupported else
               f"no summary (exit {proc.returncode}): {out.strip().splitlines()[-1][:200] if out.strip() else ''}")
        return {"error": why}
    return found


def device_arena(data: bytes, built_name: str | None) -> int | None:
    """TFLM's arena_used on the emulated M4 (CMSIS-NN) for a model measure_op_counts.py measured: the same
    file, or for a calibration model the same architecture (the arena depends on shapes, not weights)."""
    sha = hashlib.sha256(data).hexdigest()
    totals = json.loads((ROOT / "dadarts" / "costmodel" / "data" / "invoke_totals.json").read_text())["models"]
    for row in totals:
        if row["provenance"] == "M4F/cmsis-dsp" and (row.get("model_sha256") == sha or row["model"] == built_name):
            return row["arena_used"]
    return None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mltk", default=os.environ.get("DADARTS_MLTK", "mltk"), help="the MLTK command (its own venv)")
    ap.add_argument("--model", action="append", default=[], metavar="NAME=FILE", help="another int8 .tflite")
    ap.add_argument("--timeout", type=float, default=600)
    args = ap.parse_args()
    models: dict[str, bytes] = {}
    from dadarts.mcu_eval.calibration_models import build_calibration_model
    for name in BUILT:
        models[name] = build_calibration_model(name)
    for spec in args.model:
        name, _, file = spec.partition("=")
        models[name] = Path(file).read_bytes()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, data in models.items():
            path = Path(tmp) / f"{name}.tflite"
            path.write_bytes(data)
            graph = parse_tflite(data)
            row = {"model": name, "model_bytes": len(data), "ops": len(graph.layers), "macs": graph.total_macs,
                   "arena_host_bytes": measure_arena(data).total_bytes,
                   "arena_m4_bytes": device_arena(data, name if name in BUILT else None),
                   "mltk": mltk_profile(args.mltk, path, args.timeout)}
            rows.append(row)
            m = row["mltk"]
            mltk_ram = f"{m['runtime_ram_bytes'] / 1e3:.1f} k" if "runtime_ram_bytes" in m else m["error"][:60]
            m4 = f"{row['arena_m4_bytes'] / 1e3:.1f} k" if row["arena_m4_bytes"] else "-"
            print(f"{name:<14} ops {row['ops']:>4}  MACs {row['macs'] / 1e6:>7.2f} M  arena host "
                  f"{row['arena_host_bytes'] / 1e3:>6.1f} k  on M4 {m4:>8}  MLTK RAM {mltk_ram}")
    version = subprocess.run([args.mltk, "--version"], capture_output=True, text=True).stdout.strip()
    out = {"benchmark": "mltk_compare", "mltk_version": version, "machine": platform.platform(), "rows": rows,
           "notes": "MLTK RAM = 'RAM, Runtime Memory Size' of `mltk profile` (its TFLM simulator, 64-bit host); "
                    "arena_host = tflite-micro's RecordingMicroAllocator on this host (what mcu-eval counts); "
                    "arena_m4 = TFLM's arena_used on the emulated Cortex-M4 with CMSIS-NN (32-bit pointers)."}
    write_text_atomic(RESULTS / "mltk_compare.json", json.dumps(out, indent=1))
    print(f"wrote {RESULTS / 'mltk_compare.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
