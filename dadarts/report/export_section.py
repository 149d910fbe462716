"""The export section: the verification table of every conversion step (PyTorch, ONNX, float TFLite,
int8 TFLite, TFLite Micro) and the C front-end's parity with Python (RUN/firmware/bench.json)."""
from __future__ import annotations

from .artifacts import RunArtifacts
from .page import Section, Table
from .train_section import budget_table

STEPS = (("pytorch", "PyTorch (BN folded)"), ("onnx", "ONNX (onnxruntime)"), ("float", "float TFLite"),
         ("int8", "int8 TFLite"))


def _num(v, fmt: str) -> str:
    return format(v, fmt) if isinstance(v, (int, float)) and not isinstance(v, bool) else "-"


def verification_table(r: dict) -> Table:
    rows = []
    for key, name in STEPS:
        step = r.get(key)
        if not isinstance(step, dict):
            continue
        acc = step.get("accuracy")
        rows.append([name, _num(100 * acc, ".2f") + " %" if isinstance(acc, (int, float)) else "-",
                     _num(100 * step["top1_agreement"], ".2f") + " %" if "top1_agreement" in step else "-",
                     _num(step.get("max_abs_error"), ".1e"), _num(step.get("bytes"), ",")])
    tflm = r.get("tflm")
    if isinstance(tflm, dict):
        share = tflm.get("bit_identical_share")
        rows.append([f"TFLite Micro ({tflm.get('samples')} clips)", "-",
                     (_num(100 * share, ".2f") + " % bit-identical") if isinstance(share, (int, float)) else "-",
                     f"{tflm.get('max_lsb', '-')} LSB", f"{_num(tflm.get('arena_bytes'), ',')} (arena)"])
    return Table("verification", "Verification of every conversion step",
                 ["step", "test accuracy", "top-1 agreement with PyTorch", "max |logit error|", "bytes"], rows,
                 caption="TFLite Micro is compared with LiteRT's reference kernels on the same int8 inputs.")


def parity_table(b: dict) -> Table:
    vs = b.get("c_vs_float") or {}
    m4 = b.get("m4") or {}

    def pct(v):
        return _num(100 * v, ".2f") + " %" if isinstance(v, (int, float)) else "-"
    rows = [
        ["int8 features within ±1 LSB of float", pct(vs.get("within_1lsb_share"))],
        ["int8 features equal to float's", pct(vs.get("exact_share"))],
        ["SNR, dequantised C against float", _num(vs.get("snr_db"), ".1f") + " dB"],
        ["C against Python fixed point (bit-exact)", pct(b.get("c_vs_python_fixed_bit_exact_share"))],
        ["int8 accuracy with C features", pct(b.get("accuracy_c_features"))],
        ["int8 accuracy with Python features", pct(b.get("accuracy_python_features"))],
        ["host time per frame", _num(b.get("host_us_per_frame"), ".1f") + " µs"],
        ["emulated Cortex-M4 instructions per frame",
         _num(m4.get("instructions_per_frame"), ",") if m4.get("instructions_per_frame") else
         f"skipped ({m4.get('skipped') or 'not measured'})"],
    ]
    return Table("frontend_parity", f"Front-end parity: C against Python ({b.get('clips')} test clips, {b.get('config')})",
                 ["measure", "value"], rows, caption="from `dadarts firmware bench RUN` (RUN/firmware/bench.json).")


def _summary(r: dict) -> str:
    float_acc = (r.get("float") or {}).get("accuracy")
    int8 = r.get("int8")
    if not isinstance(int8, dict) or not isinstance(int8.get("accuracy"), (int, float)):
        return "Float export only (no --int8): ONNX and float TFLite checked against PyTorch."
    text = f"int8 TFLite {100 * int8['accuracy']:.2f} %"
    if isinstance(float_acc, (int, float)):
        text += f" ({100 * (int8['accuracy'] - float_acc):+.2f} points against float)"
    text += f", {int8.get('transposes', '?')} TRANSPOSE, {int8.get('float_ops', '?')} float ops"
    if isinstance(r.get("model_bytes"), int):
        text += f", model {r['model_bytes']:,} B"
    return text + "."


def section(a: RunArtifacts) -> Section | None:
    r, bench = a.export_report, a.firmware_bench
    if r is None and bench is None:
        return None
    s = Section("export", "Export", summary=_summary(r) if r else "")
    if r is not None:
        s.items.append(verification_table(r))
        if isinstance(r.get("budget_check"), dict):
            s.items.append(budget_table(r["budget_check"]))
    if bench is not None:
        s.items.append(parity_table(bench))
    else:
        s.notes.append("No front-end parity figures: `dadarts firmware bench RUN` measures the C front-end "
                       "against Python and writes RUN/firmware/bench.json.")
    return s
