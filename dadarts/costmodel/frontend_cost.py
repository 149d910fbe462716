"""Front-end (fixed-point MFCC) cost per frame: measured instruction count if the firmware has one, else analytic.

Measured counts come first from the run itself (`dadarts firmware build RUN --target qemu-m4`
records instructions_per_frame of the emulated Cortex-M4 front-end in run.json) or a results file the
user names, read defensively (a numeric value under a key that mentions both "instruction" and
"frame", inside an entry that names this configuration), then from the counts that ship with the
package (data/frontend_counts.json, written by benchmarks/bench_firmware.py). Without one, the cost is
counted from the algorithm of dadarts.frontend.fixed (Q31 window, N/2-point complex FFT with Q31
twiddles, int64 power and mel sums, table log2, Q15 DCT, folded normalisation), and the result says
it is an estimate: a sum of the steps' sizes (`frontend_features`) times coefficients that
benchmarks/fit_cost_model.py fits by least squares to the measured counts of COUNTS_FILE
(coefficients.json "frontend", one set per FFT).
Instructions become cycles with kernels.plain_c_cycles_per_instr: the factor calibrated on
instruction counts of kernels built like our firmware.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

from ..frontend.spec import MfccConfig

# Measured counts of the firmware's front-end per configuration (package data, written by
# benchmarks/bench_firmware.py): radix-2 FFT, the default firmware build, and CMSIS-DSP's FFT.
COUNTS_FILE = "data/frontend_counts.json"


def frontend_features(config: MfccConfig) -> dict[str, float]:
    """The sizes the front-end's steps scale with. With only two window lengths measured (400 and
    640 samples), the terms linear in the window (block exponent, Hann multiply, bit reversal, power,
    the slide by one hop) cannot be told apart from the FFT's N/2 log2(N/2) butterflies; one term, fft,
    carries them."""
    half = config.n_fft // 2
    return {"const": 1.0, "fft": half * math.log2(half), "mel": float(_mel_weight_count(config)),
            "log": float(config.n_mels), "dct": float(config.n_mfcc * config.n_mels), "norm": float(config.n_mfcc)}


def analytic_instructions_per_frame(config: MfccConfig, fft: str = "radix2") -> float:
    """M-profile instructions for one frame of the fixed-point MFCC (see module doc)."""
    from .kernels import coefficients
    c = coefficients()["frontend"][fft]
    f = frontend_features(config)
    return sum(v * f[k] for k, v in c.items())


def _mel_weight_count(config: MfccConfig) -> int:
    from ..frontend.fixed import _sparse_mel
    _, lengths, _ = _sparse_mel(config.n_fft, config.n_mels)
    return int(lengths.sum())


def _find_measured(obj, config_name: str, in_config: bool = False, path: str = "") -> tuple[float, str] | None:
    if isinstance(obj, dict):
        here = in_config or obj.get("config") == config_name
        if here:
            for k, v in obj.items():
                key = str(k).lower()
                if isinstance(v, (int, float)) and not isinstance(v, bool) and "instruction" in key and "frame" in key:
                    return float(v), f"{path}/{k}"
        for k, v in obj.items():
            found = _find_measured(v, config_name, here or str(k) == config_name, f"{path}/{k}")
            if found:
                return found
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            found = _find_measured(v, config_name, in_config, f"{path}[{i}]")
            if found:
                return found
    return None


def measured_counts() -> dict[str, dict[str, float]]:
    from importlib import resources
    text = resources.files(__package__).joinpath(COUNTS_FILE).read_text()
    return json.loads(text)["counts"]


def frontend_instructions_per_frame(config: MfccConfig, firmware_results: Path | None = None,
                                    run_json: Path | None = None, fft: str = "radix2") -> dict:
    """{"instructions": n, "source": "measured: ..." | "analytic estimate"} for one frame.

    First a count measured by the user (run.json of `dadarts firmware build`, or a results file they
    name), then the counts that ship with dadarts (COUNTS_FILE, `fft` "radix2" or "cmsis_dsp"), then
    the analytic count.
    """
    for path in [Path(p) for p in (run_json, firmware_results) if p]:
        if not path.is_file():
            continue
        try:
            found = _find_measured(json.loads(path.read_text()), config.name)
        except (OSError, json.JSONDecodeError):
            found = None
        if found and found[0] > 0:
            return {"instructions": found[0], "source": f"measured: {path.name}{found[1]}"}
    shipped = measured_counts().get(config.name, {})
    if shipped.get(fft):
        return {"instructions": float(shipped[fft]), "source": f"measured: {COUNTS_FILE} ({fft} FFT, QEMU M4)"}
    return {"instructions": float(analytic_instructions_per_frame(config, fft)),
            "source": f"analytic estimate (no measured count for this configuration in {COUNTS_FILE})"}
