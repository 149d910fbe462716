"""The keyword spotter on the emulated STM32F405 listening to a long recording with known keyword times.

Streams a long-form WAV (keywords among other words, pauses and noise, built from the built-in corpus'
test split by the stream helper's dadarts.evaluate.longform; its ground truth is the JSON next to it)
into the full firmware (TFLite Micro + CMSIS-NN on the chip, built with KWS_TRACE_OUTPUTS so that every
model output is on the console) under QEMU -M netduinoplus2, and compares:
- the device's model outputs with the Python pipeline's (fixed-point front-end + the int8 model in
  LiteRT at the same stride): the share that is identical;
- the device's detections with the Python recogniser twin on the device's own outputs (must be equal)
  and on the Python outputs;
- both with the ground truth: hits, misses, false accepts (dadarts.evaluate.scoring).
Prints a summary and writes benchmarks/results/firmware_stream.json.

    python benchmarks/bench_firmware_stream.py --run RUN --wav STREAM.wav [--truth STREAM.json] --tflm-root TREE
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from dadarts.data.wavio import read_wav
from dadarts.evaluate.recognizer import recognise, scores_from_output
from dadarts.evaluate.scoring import LATENCY_S, match, rates
from dadarts.export.recognizer_settings import read_settings, score_exp_table
from dadarts.errors import UserError
from dadarts.firmware import build, runio, tflm
from dadarts.firmware.build_command import app_labels
from dadarts.firmware.qemu_stream import PRESET, run_stream
from dadarts.frontend import fixed
from dadarts.rundir import read_json, write_text_atomic

OUT = Path(__file__).resolve().parent / "results" / "firmware_stream.json"
ROOT = Path(__file__).resolve().parents[1]


def python_outputs(inputs, pcm: np.ndarray, stride: int, n: int) -> np.ndarray:
    """The first n model outputs of the Python pipeline at the firmware's schedule."""
    from ai_edge_litert.interpreter import Interpreter
    t, c = inputs.tables, inputs.config
    frames = fixed.features_from_frames(fixed.stream_frames(pcm, c), t)
    it = Interpreter(model_path=str(inputs.run.tflite_int8), num_threads=1)
    it.allocate_tensors()
    i, o = it.get_input_details()[0], it.get_output_details()[0]
    out = []
    for k in range(n):
        it.set_tensor(i["index"], frames[k * stride:k * stride + c.n_frames].reshape(i["shape"]))
        it.invoke()
        out.append(it.get_tensor(o["index"]).ravel().copy())
    return np.stack(out)


def scored(detections, truth) -> dict:
    times = [t / 1000 for t, _, _ in detections]
    labels = [label for _, label, _ in detections]
    return rates(match(times, labels, truth["events"], truth["keywords"]), truth["seconds"] / 3600)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", required=True)
    ap.add_argument("--wav", required=True, help="long-form recording (dadarts.evaluate.longform)")
    ap.add_argument("--truth", help="its ground truth (default: the .json beside the WAV)")
    ap.add_argument("--tflm-root", default=os.environ.get("DADARTS_TFLM_ROOT_M4"))
    ap.add_argument("--tflm-lib", default=os.environ.get("DADARTS_TFLM_LIB_M4"))
    ap.add_argument("--timeout", type=float, default=7200)
    args = ap.parse_args()
    try:
        args.tflm_root, args.tflm_lib = tflm.m4f_or_pinned(args.tflm_root, args.tflm_lib)
    except UserError as exc:
        raise SystemExit(str(exc))
    truth = read_json(args.truth or Path(args.wav).with_suffix(".json"), "stream_truth")
    inputs = runio.load_inputs(args.run)
    settings = read_settings(inputs.run.root / "export" / "recognizer.json")
    pcm = read_wav(args.wav)
    with tempfile.TemporaryDirectory(prefix="bench-stream-") as tmp:
        b = build.cmake_build(inputs.tables_dir, Path(tmp) / "b", PRESET, tflm_root=args.tflm_root, tflm_lib=args.tflm_lib,
                              targets=("kws_app",), defines={"KWS_TRACE_OUTPUTS": "ON"})
        print(f"streaming {len(pcm) / 16000:.0f} s into kws_app on the emulated STM32F405 ...")
        dev = run_stream(b / "kws_app.elf", pcm, timeout_s=args.timeout, log=print)
    labels = app_labels(inputs.tables_dir)
    keep = [i for i, t in enumerate(dev.output_times_ms) if t <= len(pcm) // 16]   # not the trailing silence
    dev_out = np.stack([dev.outputs[i] for i in keep])
    dev_times = np.array([dev.output_times_ms[i] for i in keep])
    py_out = python_outputs(inputs, pcm, settings.inference_every_hops, len(dev_out))
    exp = score_exp_table(*_output_quant(inputs))
    is_kw = [not w.startswith("_") for w in labels]
    history = settings.history(inputs.config.hop)

    def detections(outputs):
        avg, found = recognise(scores_from_output(outputs, exp), dev_times, settings, is_kw, history)
        return [(int(avg.times[i]), labels[int(avg.label[i])], int(avg.score[i])) for i in found]

    device = [d for d in dev.detections if d[0] <= len(pcm) // 16]
    twin_on_device, twin_on_python = detections(dev_out), detections(py_out)
    result = {
        "benchmark": "keyword spotting on the emulated STM32F405, long-form stream",
        "run": str(Path(args.run).resolve()), "config": inputs.config.name, "wav": str(Path(args.wav).resolve()),
        "stream_seconds": len(pcm) / 16000, "keywords": truth["keywords"], "keyword_events":
            sum(1 for e in truth["events"] if e["word"] in truth["keywords"]),
        "recognizer": settings.to_dict(), "inferences": len(dev_out),
        "device_outputs_identical_to_python_share": float(np.mean(np.all(dev_out == py_out, axis=1))),
        "device_outputs_max_abs_difference": int(np.abs(dev_out.astype(int) - py_out.astype(int)).max()),
        "device_detections_equal_recogniser_twin": device == twin_on_device,
        "device": {"detections": device, **scored(device, truth)},
        "python_pipeline": {"detections": twin_on_python, **scored(twin_on_python, truth)},
        "device_timing": dev.measured(),
        "wall_s": dev.wall_s, "load": os.getloadavg(),
        "notes": "device = TFLM + CMSIS-NN on QEMU netduinoplus2 (the emulated UART never drops audio); python_pipeline "
                 "= the same fixed-point front-end in numpy and the int8 model in LiteRT at the firmware's schedule, "
                 "through the same recogniser. Scores: dadarts.evaluate.scoring (a detection counts between the "
                 f"word's start and {LATENCY_S:g} s after its end).",
        "dadarts_commit": subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip(),
        "host": platform.machine(), "date": time.strftime("%Y-%m-%d"),
    }
    d, p = result["device"]["overall"], result["python_pipeline"]["overall"]
    print(f"device: {d['events'] - d['misses']} of {d['events']} keywords, {d['false_accepts']} false accepts; Python: "
          f"{p['events'] - p['misses']} of {p['events']}, {p['false_accepts']}; outputs identical "
          f"{100 * result['device_outputs_identical_to_python_share']:.2f} %; device = recogniser twin: "
          f"{result['device_detections_equal_recogniser_twin']}")
    write_text_atomic(OUT, json.dumps(result, indent=1) + "\n")
    print(f"wrote {OUT}")
    return 0


def _output_quant(inputs) -> tuple[float, int]:
    from ai_edge_litert.interpreter import Interpreter
    scale, zp = Interpreter(model_path=str(inputs.run.tflite_int8)).get_output_details()[0]["quantization"]
    return float(scale), int(zp)


if __name__ == "__main__":
    sys.exit(main())
