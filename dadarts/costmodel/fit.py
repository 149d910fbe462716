"""The cost model's coefficients from the measured data: least squares, in code, reproducible bit for bit.

`fit()` reads dadarts/costmodel/data/ and returns the body of coefficients.json:

- instructions[core/library][path]: per-path coefficients of `kernels.features`, fitted to the
  calibration rows of op_counts_calibration.jsonl (one executed-instruction count per operator of a
  TFLM Invoke under QEMU). The formula of each path, `PATH_FEATURES`, follows the kernel's loops: a
  CMSIS-NN depthwise 'opt' kernel pays a call per filter tap of every output pixel (tap), requantises
  every output (out) and multiplies (mac); an elementwise op pays per element; and so on. The fit
  minimises the squared *relative* error (small operators count as much as large ones), drops a
  feature whose coefficient comes out negative (it is not identifiable in the data) and rounds every
  coefficient to 5 significant digits, so that the file is the same on any machine.
- cycles_per_instruction[core/library]: from published board latencies (latency_calibration.json)
  and our measured whole-Invoke count of the same model on the same core: 'absolute' points give
  cycles / instructions directly (geometric mean over a core's points), a 'ratio' pair (one study, one
  build, two cores) transfers a calibrated core's factor to the other.
- assumed_cycles_per_instruction: the pairs no published figure covers, as a ratio to a calibrated
  one, with the reason (`ASSUMED`).
- flash[core/library]: the code sizes measured by linking (code_sizes.json), and the code all ops
  share (so that a model's ops are not charged for it once each), fitted on the calibration models.
- frontend[fft]: coefficients of frontend_cost.frontend_features, least squares on the front-end's
  measured instructions per frame (frontend_counts.json), for configurations without a count.

Held-out data never enters: only op_counts_calibration.jsonl is read, and a calibration row with the
same (op, shapes, library, core) as any held-out row is dropped (`calibration_rows`).
"""
from __future__ import annotations

import json
import math
from collections import defaultdict
from importlib import resources
from pathlib import Path

import numpy as np

from .kernels import CMSIS_DSP, CMSIS_MVE, CMSIS_SCALAR, REFERENCE, features, kernel_path
from .layer import Layer

DATA_DIR = Path(str(resources.files(__package__).joinpath("data")))

# The formula of each path (features of kernels.features it is linear in). Paths not listed are
# elementwise: "op" + "out".
PATH_FEATURES = {
    "conv": ["op", "mac", "out", "px", "tap"],               # im2col per tap, mat-mult, requantise
    "conv_1x1": ["op", "mac", "out", "weights"],             # mat-mult over pixels, no im2col; a pass over the weights
    "conv_1x1_strided": ["op", "mac", "out", "weights"],
    "conv_1xn": ["op", "mac", "out", "px", "tap"],
    "dw_3x3": ["op", "vmac", "out", "px"],                   # fixed 3x3 loop per output pixel, padding skipped
    "dw_opt": ["op", "mac", "vmac", "out", "px", "tap"],     # one q7->q15 call per tap and output pixel
    "dw_dilated": ["op", "vmac", "out", "vrow"],              # skips the padding: taps inside the input count
    "dw_mult4": ["op", "vmac", "out", "px", "vtap"],
    "dw_generic": ["op", "vmac", "out", "vrow"],
    "dw": ["op", "mac", "vmac", "out", "vrow"],              # reference: a bounds check per tap, MACs inside the input
    "fc": ["op", "mac", "out"],
    "average_pool_2d": ["op", "out", "vwin", "px"],          # the window clipped to the input
    "max_pool_2d": ["op", "out", "vwin", "px"],
    "mean": ["op", "in", "out"],
    "concatenation": ["op", "out", "copies"],                # a copy per pixel and input
    "mirror_pad": ["op", "in", "out"],
    "pad": ["op", "in", "out", "px"],
    "strided_slice": ["op", "out", "px"],
}
REFERENCE_PATH_FEATURES = {"conv": ["op", "vmac", "out", "px", "tap_oc"]}  # a bounds check per tap and channel
# Helium (M55): vectors of 16 int8 lanes, the depthwise 'opt' kernel in blocks of 124 channels.
MVE_PATH_FEATURES = {
    "conv": ["op", "mac", "out", "px", "tap", "weights", "px16"],
    "conv_1x1": ["op", "mac", "out", "weights", "px"],
    "dw_opt": ["op", "mac", "out", "px", "tap124", "px16"],
    "average_pool_2d": ["op", "out", "vwin16", "px16", "px"],
    "max_pool_2d": ["op", "out", "vwin16", "px16", "px"],
}
ELEMENTWISE_FEATURES = ["op", "out"]
SIGNIFICANT = 5

# Libraries whose coefficients stand in for a (core, library) pair nobody measured.
STAND_IN = {REFERENCE: f"M4F/{REFERENCE}", CMSIS_DSP: f"M4F/{CMSIS_DSP}", CMSIS_MVE: f"M55/{CMSIS_MVE}",
            CMSIS_SCALAR: f"M4F/{CMSIS_DSP}"}

# Cycles per instruction no published figure covers: (from, ratio, why).
ASSUMED = {
    f"M55/{CMSIS_MVE}": (f"M4F/{CMSIS_DSP}", 1.0, "no published Cortex-M55 latency of TFLM + CMSIS-NN found; "
                         "as the M4F's CMSIS-NN factor (least certain: Helium instructions take 2 cycles on the M55)"),
    f"M4F/{REFERENCE}": (f"M4F/{CMSIS_DSP}", 1.0, "no published latency of today's reference kernels found "
                         "(MLPerf Tiny v0.5's 'reference' run used CMSIS-NN); as this core's CMSIS-NN factor"),
    f"M7/{REFERENCE}": (f"M7/{CMSIS_DSP}", 1.0, "as this core's CMSIS-NN factor"),
    f"M33/{REFERENCE}": (f"M33/{CMSIS_DSP}", 1.0, "as this core's CMSIS-NN factor"),
    f"M55/{REFERENCE}": (f"M4F/{CMSIS_DSP}", 1.0, "as the M55's assumed CMSIS-NN factor"),
    f"M4F/{CMSIS_SCALAR}": (f"M4F/{CMSIS_DSP}", 1.0, "plain C on the same core: as its CMSIS-NN factor"),
    f"M7/{CMSIS_SCALAR}": (f"M7/{CMSIS_DSP}", 1.0, "as this core's CMSIS-NN factor"),
    f"M33/{CMSIS_SCALAR}": (f"M33/{CMSIS_DSP}", 1.0, "as this core's CMSIS-NN factor"),
    f"M0+/{CMSIS_SCALAR}": (f"M4F/{CMSIS_DSP}", 1.3, "Thumb-1 (no MLA, 8 low registers) runs more instructions than "
                            "the Thumb-2 counts the M4F measured; not measured"),
    f"M0+/{REFERENCE}": (f"M4F/{CMSIS_DSP}", 1.3, "as the M0+'s plain-C CMSIS-NN"),
}


def read_rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.is_file() else []


def shape_key(row: dict) -> tuple:
    """What makes two measured operators the same point: op, shapes, kernel geometry, library, core."""
    layer = row["layer"]
    return (layer["op"], tuple(layer["input_shape"]), tuple(layer["output_shape"]), tuple(layer["kernel"]),
            tuple(layer["stride"]), layer["padding"], tuple(layer["dilation"]), layer["in_ch"], layer["out_ch"],
            layer["multiplier"], row["library"], row["core"])


def calibration_rows(data_dir: Path = DATA_DIR) -> list[dict]:
    """Calibration rows without any that duplicates a held-out row."""
    held = {shape_key(r) for r in read_rows(data_dir / "op_counts_heldout.jsonl")}
    return [r for r in read_rows(data_dir / "op_counts_calibration.jsonl") if shape_key(r) not in held]


def path_features(path: str, library: str) -> list[str]:
    special = {REFERENCE: REFERENCE_PATH_FEATURES, CMSIS_MVE: MVE_PATH_FEATURES}.get(library, {})
    return special.get(path) or PATH_FEATURES.get(path, ELEMENTWISE_FEATURES)


def _round(x: float) -> float:
    return float(f"{x:.{SIGNIFICANT}g}")


def fit_path(rows: list[dict], names: list[str]) -> tuple[dict[str, float], dict]:
    """Relative least squares of instructions on `names`; features with a negative coefficient are dropped."""
    layers = [Layer(**r["layer"]) for r in rows]
    y = np.array([r["instructions"] for r in rows], dtype=np.float64)
    x = np.array([[features(layer)[n] for n in names] for layer in layers], dtype=np.float64)
    keep = list(range(len(names)))
    while True:
        a = x[:, keep] / y[:, None]
        coef, *_ = np.linalg.lstsq(a, np.ones_like(y), rcond=None)
        negative = [keep[i] for i, c in enumerate(coef) if c < 0]
        if not negative or len(keep) == 1:
            break
        keep.remove(min(negative, key=lambda i: coef[keep.index(i)]))
    model = {names[i]: _round(max(float(c), 0.0)) for i, c in zip(keep, coef)}
    pred = x[:, keep] @ np.array([model[names[i]] for i in keep])
    rel = pred / y - 1.0
    return model, {"points": len(rows), "rms_rel_error": _round(float(np.sqrt(np.mean(rel ** 2)))),
                   "max_abs_rel_error": _round(float(np.max(np.abs(rel))))}


def fit_instructions(rows: list[dict]) -> tuple[dict, dict]:
    """{core/library: {path: coefficients}} and the fit statistics per path."""
    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for r in rows:
        key = f"{r['core']}/{r['library']}"
        groups[(key, kernel_path(Layer(**r["layer"]), r["library"]))].append(r)
    tables: dict[str, dict] = defaultdict(dict)
    stats: dict[str, dict] = defaultdict(dict)
    for (key, path), group in sorted(groups.items()):
        library = key.split("/")[1]
        names = path_features(path, library)
        # A path measured at fewer distinct shapes than it has features cannot be fitted with all of
        # them: a MAC path keeps its MAC term first (cost in proportion to the work), any other its
        # constant.
        distinct = len({shape_key(r) for r in group})
        if distinct < len(names):
            macs = [n for n in names if n in ("mac", "vmac")]
            names = (macs + [n for n in names if n not in macs and n != "op"] if macs else names)[:distinct]
        tables[key][path], stats[key][path] = fit_path(group, names)
    return dict(tables), dict(stats)


def unmodelled_coefficients(tables: dict) -> dict[str, float]:
    """An operator no measurement covers: the median op and per-output coefficients of the measured
    elementwise paths of the M4F's CMSIS-NN build."""
    table = tables[STAND_IN[CMSIS_DSP]]
    elementwise = [m for p, m in table.items() if p not in PATH_FEATURES or p in ("mirror_pad", "pad", "strided_slice")]
    return {"op": _round(float(np.median([m.get("op", 0.0) for m in elementwise]))),
            "out": _round(float(np.median([m.get("out", 0.0) for m in elementwise])))}


def measured_invoke(totals: list[dict], model: str, key: str) -> int | None:
    for t in totals:
        if t["model"] == model and f"{t['core']}/{t['library']}" == key:
            return t["invoke"]
    return None


def _library_key(point: dict) -> str:
    library = REFERENCE if point["library"] == "reference" else (CMSIS_MVE if point["core"] == "M55" else CMSIS_DSP)
    return f"{point['core']}/{library}"


def fit_cycles(points: list[dict], totals: list[dict]) -> dict:
    """{core/library: {value, provenance, points}} from the calibration latencies (see module doc)."""
    cpis: dict[str, list[tuple[str, float]]] = defaultdict(list)
    for p in points:
        if p["use"] != "absolute":
            continue
        key = _library_key(p)
        instr = measured_invoke(totals, p["model"], key)
        if instr:
            cpis[key].append((p["id"], p["value_ms"] * p["clock_mhz"] * 1e3 / instr))
    out = {key: {"value": _round(math.exp(sum(math.log(c) for _, c in vals) / len(vals))),
                 "provenance": f"{', '.join(i for i, _ in vals)} (published ms x clock / our measured Invoke)",
                 "points": [i for i, _ in vals]}
           for key, vals in sorted(cpis.items())}
    ratio = [p for p in points if p["use"] == "ratio"]
    by_core = {_library_key(p): p for p in ratio}
    for key, p in sorted(by_core.items()):
        if key in out:
            continue
        base_key, base = next(((k, q) for k, q in by_core.items() if k in out and q["model"] == p["model"]), (None, None))
        instr, base_instr = measured_invoke(totals, p["model"], key), measured_invoke(totals, p["model"], base_key or "")
        if base is None or not instr or not base_instr:
            continue
        cycle_ratio = (p["value_ms"] * p["clock_mhz"]) / (base["value_ms"] * base["clock_mhz"])
        out[key] = {"value": _round(out[base_key]["value"] * cycle_ratio * base_instr / instr),
                    "provenance": f"{base_key} x the cycles ratio of {p['id']} / {base['id']} ({cycle_ratio:.4f}, one study's "
                                  f"build on both cores) x our instruction ratio",
                    "points": [base["id"], p["id"]]}
    return out


def shared_op_bytes(op_sets: list[dict]) -> int:
    """Code that every op pulls in (TFLM's kernel utilities, shared CMSIS-NN helpers): linking n ops
    together costs their single-op increments minus (n - 1) x this; least squares over op sets."""
    pairs = [(len(s["ops"]) - 1, s["sum_of_op_bytes"] - s["measured_bytes"]) for s in op_sets if len(s["ops"]) > 1]
    return int(round(sum(n * d for n, d in pairs) / sum(n * n for n, _ in pairs))) if pairs else 0


def flash_tables(sizes: dict, heldout_models: set[str]) -> dict:
    """Code sizes per build as measured (code_sizes.json): TFLM's core, the board with libc, each op's
    increment (an op never linked costs the median op), and the shared part, fitted on the op sets of
    the calibration models only."""
    return {key: {"tflm_core_bytes": b["tflm_core_bytes"], "board_and_libc_bytes": b["board_and_libc_bytes"],
                  "op_bytes": dict(sorted(b["op_bytes"].items())),
                  "unmeasured_op_bytes": int(np.median(list(b["op_bytes"].values()))),
                  "shared_op_bytes": shared_op_bytes([x for x in b["model_op_sets"] if x["model"] not in heldout_models])}
            for key, b in sorted(sizes.items())}


def fit_frontend(counts: dict[str, dict[str, float]]) -> tuple[dict, dict]:
    """Least squares of the front-end's measured instructions per frame on frontend_features, per FFT."""
    from ..frontend.spec import MfccConfig
    from .frontend_cost import frontend_features
    configs = sorted(counts)
    out, stats = {}, {}
    for fft in sorted({k for c in counts.values() for k in c}):
        names = list(frontend_features(MfccConfig.parse(configs[0])))
        rows = [(frontend_features(MfccConfig.parse(c)), counts[c][fft]) for c in configs if counts[c].get(fft)]
        x = np.array([[f[n] for n in names] for f, _ in rows])
        y = np.array([v for _, v in rows], dtype=np.float64)
        coef, *_ = np.linalg.lstsq(x / y[:, None], np.ones_like(y), rcond=None)
        out[fft] = {n: _round(float(c)) for n, c in zip(names, coef)}
        pred = x @ np.array([out[fft][n] for n in names])
        stats[fft] = {"configurations": len(rows), "max_abs_rel_error": _round(float(np.max(np.abs(pred / y - 1.0))))}
    return out, stats


def fit(data_dir: Path = DATA_DIR) -> dict:
    """The body of coefficients.json from the data files in `data_dir`."""
    tables, stats = fit_instructions(calibration_rows(data_dir))
    totals = json.loads((data_dir / "invoke_totals.json").read_text())["models"]
    latency = json.loads((data_dir / "latency_calibration.json").read_text())["points"]
    cycles = fit_cycles(latency, totals)
    heldout_models = {m["name"] for m in json.loads((data_dir / "heldout_models.json").read_text())["models"]}
    frontend = fit_frontend(json.loads((data_dir / "frontend_counts.json").read_text())["counts"])
    return {
        "schema": 2,
        "kind": "cost_coefficients",
        "about": ("Written by benchmarks/fit_cost_model.py (dadarts.costmodel.fit) from dadarts/costmodel/data/; do not edit. "
                  "instructions[core/library][path] = coefficients of dadarts.costmodel.kernels.features (instructions "
                  "= sum of coefficient x feature); cycles_per_instruction from published latencies; assumed_... for "
                  "pairs without a published figure."),
        "instructions": tables,
        "fit_statistics": stats,
        "stand_in": {lib: key if key in tables else STAND_IN[CMSIS_DSP] for lib, key in STAND_IN.items()},
        "unmodelled": unmodelled_coefficients(tables),
        "cycles_per_instruction": cycles,
        "flash": flash_tables(json.loads((data_dir / "code_sizes.json").read_text())["builds"], heldout_models),
        "frontend": frontend[0],
        "frontend_fit_statistics": frontend[1],
        "assumed_cycles_per_instruction": {k: {"from": f, "ratio": r, "why": w} for k, (f, r, w) in ASSUMED.items()
                                           if k not in cycles and f in cycles},
    }


def dumps(body: dict) -> str:
    return json.dumps(body, indent=1, sort_keys=True) + "\n"
