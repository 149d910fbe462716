"""Benchmark of the fixed-point MFCC front-end over both data search spaces (darts and mcu).

For every configuration: instructions per frame on the emulated Cortex-M4 (QEMU mps2-an386, SysTick
under -icount shift=0, calibrated; instructions, not cycles) with the front-end's own radix-2 FFT and
with CMSIS-DSP's arm_cfft_q31 (when the cmsisdsp sources can be had, dadarts.firmware.cmsis_dsp),
against the ~105 k instructions per frame of TFLM's own audio preprocessor (30 ms window, 512-point
FFT, 40 channels; measured under QEMU when the Cortex-M path was probed, issue 6), microseconds per
frame of the host build, C bit-exactness with the Python fixed-point reference (each FFT with its own
twin), how often the two FFTs give a different int8 feature, and fixed vs float agreement of the int8
features (share within +-1 LSB, SNR of the dequantised features). Clips: synthetic signals plus, when
the built-in corpus is already in the cache, its first test clips. Prints a table and writes
benchmarks/results/firmware.json.

    python benchmarks/bench_firmware.py [--corpus-clips 100] [--m4-clips 2] [--no-cmsis-dsp]
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from dadarts.errors import UserError
from dadarts.firmware import build, cmsis_dsp, golden
from dadarts.frontend import ctables, fixed
from dadarts.frontend.spec import DEFAULT_SPACE, MCU_SPACE, MfccConfig
from dadarts.rundir import write_text_atomic

TFLM_PREPROCESSOR_INSTRUCTIONS = 105_000
TFLM_NEAREST_CONFIG = "400/200/40"     # 25 ms window / 512-point FFT / 40 mels: nearest to TFLM's 30 ms / 512 / 40
OUT = Path(__file__).resolve().parent / "results" / "firmware.json"
COUNTS = Path(__file__).resolve().parents[1] / "dadarts" / "costmodel" / "data" / "frontend_counts.json"


def bench_clips(corpus_clips: int) -> tuple[np.ndarray, str]:
    rng = np.random.default_rng(11)
    t = np.arange(16000) / 16000
    synth = [
        9000 * np.sin(2 * np.pi * (100 * t + 3500 * t ** 2)),                          # chirp
        np.sin(2 * np.pi * 150 * t) * (1 + np.sin(2 * np.pi * 4 * t)) * 5000 + rng.normal(0, 300, 16000),
        rng.normal(0, 8, 16000),                                                       # near silence
        32000 * np.sin(2 * np.pi * 997 * t),                                           # full-scale tone
    ]
    pcm = [np.clip(np.round(x), -32768, 32767).astype(np.int16) for x in synth]
    source = f"{len(pcm)} synthetic clips"
    try:
        from dadarts.data.synth import CORPUS_VERSION, SynthSettings, cache_dir
        s = SynthSettings()
        root = cache_dir() / f"synth-v{CORPUS_VERSION}-seed{s.seed}-{s.voices}v{s.repeats}r"
        if corpus_clips and (root / "SYNTH.txt").is_file():
            from dadarts.data.datasets import load_dataset
            ds = load_dataset(root, "gsc12", quiet=True)
            test = ds.splits["testing"]
            chosen = test[::max(1, len(test) // corpus_clips)][:corpus_clips]
            pcm += [np.asarray(ds.load_audio(c), np.int16) for c in chosen]
            source += f" + {len(chosen)} test clips of the built-in corpus"
    except ImportError:
        pass
    return np.stack(pcm), source


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus-clips", type=int, default=100)
    ap.add_argument("--m4-clips", type=int, default=2)
    ap.add_argument("--no-cmsis-dsp", action="store_true", help="only the front-end's own FFT")
    args = ap.parse_args()
    pcm, source = bench_clips(args.corpus_clips)
    have_m4 = not build.missing_tools("qemu-m4")
    dsp_root, dsp_note = None, "--no-cmsis-dsp"
    if have_m4 and not args.no_cmsis_dsp:
        try:
            dsp_root, dsp_note = cmsis_dsp.source_dir(), f"cmsisdsp {cmsis_dsp.version()} sdist"
        except UserError as exc:
            dsp_note = str(exc)
    print(f"clips: {source}; Cortex-M4: {'QEMU mps2-an386' if have_m4 else 'skipped: ' + ', '.join(build.missing_tools('qemu-m4'))}"
          f"; CMSIS-DSP: {dsp_note}")
    rows = []
    space = list(dict.fromkeys([*DEFAULT_SPACE, *MCU_SPACE]))
    with tempfile.TemporaryDirectory(prefix="bench-fw-") as tmp:
        for config in space:
            mfcc = np.stack([golden.float_mfcc(fixed.frame_signal(x, config), config) for x in pcm])
            q = golden.quantisation_for(mfcc)
            mean, std = np.array(q["mean"]), np.array(q["std"])
            tables = fixed.make_tables(config, mean, std, q["input_scale"], q["input_zero_point"])
            tdir = Path(tmp) / config.name.replace("/", "_")
            ctables.write_tables(tdir, tables, source="benchmarks/bench_firmware.py")
            q_fixed = np.stack([fixed.features(x, tables) for x in pcm])
            q_float = fixed.quantize(mfcc, mean, std, q["input_scale"], q["input_zero_point"])
            agree = fixed.agreement(q_fixed, q_float, (mfcc - mean) / std, q["input_scale"], q["input_zero_point"])
            host = build.cmake_build(tdir, Path(tmp) / "host", "host", targets=("kws_frontend_runner",))
            h = build.run_frontend_host(host, pcm, 16000, config.n_mfcc, repeat=5)
            row = {"config": config.name, "n_fft": config.n_fft, "n_mels": config.n_mels,
                   "host_bit_exact": bool(np.array_equal(h.features, q_fixed.reshape(-1, config.n_mfcc))),
                   "host_us_per_frame": h.us_per_frame,
                   "within_1lsb_share": agree["within_1lsb_share"], "exact_share": agree["exact_share"],
                   "snr_db": agree["snr_db"], "snr_in_range_db": agree["snr_in_range_db"],
                   "clipped_share": agree["clipped_share"], "max_abs_lsb": agree["max_abs_lsb"]}
            if have_m4:
                k = min(args.m4_clips, len(pcm))
                # One build folder per FFT, reconfigured per configuration: only the tables recompile.
                b = build.cmake_build(tdir, Path(tmp) / "m4", "qemu-m4", targets=("kws_frontend_m4",))
                m4, status = build.run_frontend_qemu(b, pcm[:k], 16000, config.n_mfcc,
                                                     expected=q_fixed[:k].reshape(-1, config.n_mfcc))
                row.update(m4_bit_exact=status == 0, instructions_per_frame=m4.instructions_per_frame,
                           instructions_vs_tflm_preprocessor=(m4.instructions_per_frame / TFLM_PREPROCESSOR_INSTRUCTIONS
                                                              if m4.instructions_per_frame else None))
            if dsp_root:
                q_dsp = np.stack([fixed.features(x, tables, "cmsis") for x in pcm[:k]])
                b = build.cmake_build(tdir, Path(tmp) / "m4-cmsis-dsp", "qemu-m4", targets=("kws_frontend_m4",),
                                      defines={"KWS_CMSIS_DSP_ROOT": str(dsp_root)})
                m4d, status = build.run_frontend_qemu(b, pcm[:k], 16000, config.n_mfcc,
                                                      expected=q_dsp.reshape(-1, config.n_mfcc))
                row.update(cmsis_dsp_m4_bit_exact=status == 0, cmsis_dsp_instructions_per_frame=m4d.instructions_per_frame,
                           cmsis_dsp_same_int8_as_radix2_share=float(np.mean(q_dsp == q_fixed[:k])))
            rows.append(row)
            ipf = f"{row['instructions_per_frame']:>9,}" if row.get("instructions_per_frame") else "        -"
            dsp = (f"{row['cmsis_dsp_instructions_per_frame']:>9,} ({100 * row['cmsis_dsp_same_int8_as_radix2_share']:.2f} % same)"
                   if row.get("cmsis_dsp_instructions_per_frame") else "-")
            print(f"{config.name:>13}  M4 {ipf}  CMSIS-DSP {dsp}  host {row['host_us_per_frame']:6.1f} us  "
                  f"+-1 LSB {100 * row['within_1lsb_share']:6.2f} %  exact {100 * row['exact_share']:6.2f} %  "
                  f"SNR {row['snr_db']:5.1f}/{row['snr_in_range_db']:5.1f} dB  bit-exact host/M4/DSP "
                  f"{row['host_bit_exact']}/{row.get('m4_bit_exact')}/{row.get('cmsis_dsp_m4_bit_exact')}")
    result = {
        "benchmark": "firmware front-end",
        "clips": source,
        "tflm_preprocessor_instructions_per_frame": TFLM_PREPROCESSOR_INSTRUCTIONS,
        "tflm_reference_note": "TFLM audio preprocessor (30 ms, 512-point FFT, 40 channels) under QEMU on M4, issue 6; "
                               f"nearest configuration of our space: {TFLM_NEAREST_CONFIG}",
        "instructions_note": "instructions executed on QEMU mps2-an386 (-icount shift=0, SysTick calibrated on a "
                             "loop of known length), not cycles; per frame including the window update",
        "cmsis_dsp": dsp_note,
        "cmsis_dsp_note": "cmsis_dsp_*: the same front-end with CMSIS-DSP's arm_cfft_q31 instead of the radix-2 FFT "
                          "(built from the cmsisdsp sdist, portable configuration), checked bit-exact against "
                          "fixed.py's fft='cmsis' twin; same_int8_as_radix2_share compares the two FFTs' int8 features",
        "snr_note": "SNR of dequantised int8 C features vs the float64 reference (normalised units): snr_db "
                    "against the raw reference, snr_in_range_db against it clipped to the int8 range; the int8 "
                    "input quantisation (scale = range/255, as TFLite calibrates) dominates both",
        "host": platform.processor() or platform.machine(),
        "date": time.strftime("%Y-%m-%d"),
        "configs": rows,
    }
    write_text_atomic(OUT, json.dumps(result, indent=1) + "\n")
    # The cost model's shipped front-end counts (dadarts/costmodel/data/frontend_counts.json).
    counts = {c["config"]: {k: c[f] for k, f in (("radix2", "instructions_per_frame"),
                                                  ("cmsis_dsp", "cmsis_dsp_instructions_per_frame")) if c.get(f)}
              for c in result["configs"] if c.get("instructions_per_frame")}
    write_text_atomic(COUNTS, json.dumps({
        "schema": 1, "kind": "frontend_counts",
        "about": "Executed instructions per frame of firmware/frontend (kws_frontend_process) on the emulated "
                 "Cortex-M4 (QEMU mps2-an386, SysTick under -icount shift=0, calibrated), with its radix-2 FFT and "
                 "with CMSIS-DSP's arm_cfft_q31. Written by `python benchmarks/bench_firmware.py` (also in "
                 "benchmarks/results/firmware.json); read by dadarts.costmodel.frontend_cost.",
        "measured": result.get("date"), "host": result.get("host"), "counts": counts}, indent=1) + "\n")
    print(f"wrote {OUT} and {COUNTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
