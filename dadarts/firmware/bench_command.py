"""`dadarts firmware bench RUN`: the C front-end against the Python pipeline on the run's test clips.

Measures what the firmware changes: agreement of the C front-end's int8 features with the float
reference quantised the same way (share within +-1 LSB, SNR of the dequantised features), bit-exactness
with the Python fixed-point reference, end-to-end accuracy of the int8 model fed C features vs Python
features, microseconds per frame on this host, and instructions per frame on the emulated Cortex-M4.
Writes RUN/firmware/bench.json (kind `firmware_bench`) and prints a table.
"""
from __future__ import annotations

import argparse
import time

from ..errors import UserError


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("run", help="run directory with export/ (from `dadarts export RUN --int8`)")
    p.add_argument("--data", metavar="DIR", help="dataset folder (default: the one the run was trained on)")
    p.add_argument("--task", choices=["gsc12", "gsc35", "names"], help="task (default: the run's)")
    p.add_argument("--clips", type=int, default=400, help="test clips to use, spread over the split (default 400; 0 = all)")
    p.add_argument("--m4-clips", type=int, default=2,
                   help="clips to run on the emulated Cortex-M4 (default 2; 0 skips QEMU)")


def _accuracy(tflite_path, q, labels):
    import numpy as np
    from ai_edge_litert.interpreter import Interpreter
    it = Interpreter(model_path=str(tflite_path))
    it.allocate_tensors()
    inp, out = it.get_input_details()[0], it.get_output_details()[0]
    n_out = int(np.prod(out["shape"]))
    if n_out <= int(labels.max()):
        raise UserError(f"{tflite_path} has {n_out} outputs but the test split has label {int(labels.max())}: "
                        f"give the --data/--task the run was trained on.")
    pred = []
    for x in q:
        it.set_tensor(inp["index"], x.reshape(inp["shape"]).astype(np.int8))
        it.invoke()
        pred.append(int(np.argmax(it.get_tensor(out["index"]).ravel())))
    pred = np.array(pred)
    return float(np.mean(pred == labels)), pred


def run(args) -> int:
    import numpy as np
    import torch

    from ..frontend import fixed
    from ..frontend.mfcc import Mfcc
    from ..rundir import record_run, write_json_atomic
    from . import build, runio
    from .build_command import firmware_dir

    if args.clips < 0 or args.m4_clips < 0:
        raise UserError("--clips and --m4-clips take a number of clips, 0 or more.")
    inputs = runio.load_inputs(args.run)
    run_dir, config, t = inputs.run, inputs.config, inputs.tables
    pcm, labels, names = runio.test_clips(run_dir, args.data, args.task, args.clips or None, config.clip_samples)
    n, (frames, feats) = len(pcm), config.shape
    print(f"{n} test clips, front-end {config}, int8 input scale {inputs.input_scale:.5g} zero point {inputs.input_zero_point}")

    host = build.cmake_build(inputs.tables_dir, firmware_dir(run_dir) / "build-host", "host",
                             targets=("kws_frontend_runner",))
    c_run = build.run_frontend_host(host, pcm, pcm.shape[1], feats, repeat=3)
    q_c = c_run.features.reshape(n, frames, feats)

    q_fixed = np.stack([fixed.features(x, t) for x in pcm])
    with torch.no_grad():
        mfcc = torch.cat([Mfcc(config)(torch.from_numpy(pcm[i:i + 256])) for i in range(0, n, 256)]).double().numpy()
    normalised = (mfcc - inputs.mean) / inputs.std
    q_py = fixed.quantize(mfcc, inputs.mean, inputs.std, inputs.input_scale, inputs.input_zero_point)
    vs_float = fixed.agreement(q_c, q_py, normalised, inputs.input_scale, inputs.input_zero_point)

    t0 = time.time()
    acc_c, pred_c = _accuracy(run_dir.tflite_int8, q_c, labels)
    acc_py, pred_py = _accuracy(run_dir.tflite_int8, q_py, labels)
    infer_s = time.time() - t0

    m4 = {"instructions_per_frame": None, "bit_exact": None, "clips": 0, "skipped": None}
    missing = build.missing_tools("qemu-m4")
    if args.m4_clips == 0:
        m4["skipped"] = "--m4-clips 0"
    elif missing:
        m4["skipped"] = f"{', '.join(missing)} not installed"
    else:
        k = min(args.m4_clips, n)
        b = build.cmake_build(inputs.tables_dir, firmware_dir(run_dir) / "build-qemu-m4", "qemu-m4",
                              targets=("kws_frontend_m4",))
        m4_run, status = build.run_frontend_qemu(b, pcm[:k], pcm.shape[1], feats,
                                                 expected=q_fixed[:k].reshape(-1, feats))
        if status not in (0, 1):
            raise UserError(f"The Cortex-M4 front-end did not run under QEMU (status {status}): {m4_run.log.strip()}")
        m4.update(instructions_per_frame=m4_run.instructions_per_frame, clips=k, bit_exact=status == 0)

    report = {
        "config": config.name, "clips": n, "frames_per_clip": frames, "features": feats,
        "input_scale": inputs.input_scale, "input_zero_point": inputs.input_zero_point,
        "c_vs_float": vs_float,
        "c_vs_python_fixed_bit_exact_share": float(np.mean(q_c == q_fixed)),
        "accuracy_c_features": acc_c, "accuracy_python_features": acc_py,
        "accuracy_delta_points": 100 * (acc_c - acc_py),
        "prediction_agreement": float(np.mean(pred_c == pred_py)),
        "host_us_per_frame": c_run.us_per_frame,
        "m4": m4,
        "notes": "m4 figures are instructions executed under QEMU -icount (SysTick x calibrated "
                 "instructions/tick), not cycles; host time is this machine's gcc -O3 build.",
        "inference_seconds": infer_s,
    }
    out = firmware_dir(run_dir) / "bench.json"
    write_json_atomic(out, report, kind="firmware_bench")
    record_run(run_dir, "firmware_bench", args._argv, clips=n)
    m4_text = (f"{m4['instructions_per_frame']:,} instructions/frame ({'bit-exact' if m4['bit_exact'] else 'MISMATCH'}, {m4['clips']} clips)"
               if m4["instructions_per_frame"] else f"skipped ({m4['skipped']})")
    rows = [
        ("int8 features within +-1 LSB of float", f"{100 * vs_float['within_1lsb_share']:.2f} %"),
        ("int8 features equal to float's", f"{100 * vs_float['exact_share']:.2f} %"),
        ("SNR dequantised C vs float", f"{vs_float['snr_db']:.1f} dB ({vs_float['snr_in_range_db']:.1f} dB within "
                                       f"the int8 range; {100 * vs_float['clipped_share']:.2f} % of float values clip)"),
        ("C vs Python fixed-point (bit-exact)", f"{100 * report['c_vs_python_fixed_bit_exact_share']:.2f} %"),
        ("int8 accuracy, C features", f"{100 * acc_c:.2f} %"),
        ("int8 accuracy, Python features", f"{100 * acc_py:.2f} %"),
        ("difference", f"{report['accuracy_delta_points']:+.2f} points"),
        ("host time per frame", f"{c_run.us_per_frame:.1f} us" if c_run.us_per_frame else "n/a"),
        ("emulated Cortex-M4", m4_text),
    ]
    width = max(len(r[0]) for r in rows)
    for name, value in rows:
        print(f"  {name:<{width}}  {value}")
    print(f"wrote {out}")
    return 0
