"""The export stage: trained model -> inference model -> ONNX -> float / int8 TFLite -> TFLM -> C files,
verified at every step and summarised in export/report.json (kind "export_report").

`export_model` does the work on arrays (tests drive it with tiny networks and random features);
`export_run` finds everything in a run directory and the dataset it was trained on.
"""
from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..errors import UserError
from ..rundir import RunDir, read_json, record_run, write_bytes_atomic, write_json_atomic

REPORT_KIND = "export_report"
TFLM_SAMPLES = 256            # TFLM and LiteRT reference kernels are slow; compare on this many test clips
FLOAT_TOLERANCE = 1e-3       # ONNX / float TFLite vs PyTorch, relative to the largest logit (seen ~1e-7)
TFLM_MAX_LSB = 2              # TFLM vs LiteRT reference kernels: seen <= 1 LSB; more means a kernel differs


@dataclass
class ExportOptions:
    int8: bool = False
    calibration_samples: int = 200
    max_int8_drop: float | None = None       # percentage points
    tflm_samples: int = TFLM_SAMPLES
    seed: int = 0
    fold_concat: str = "safe"                # "all": also the requantisations of tensors other ops read
    streaming: bool = False                  # also the step model (step_export.py); export/firmware/ is its build
    frames_per_step: int | None = None       # streaming: new frames per step (None: the multiple of the time stride nearest 100 ms)
    step_head: str | None = None             # streaming: how a step averages the final map (step_model.HEADS; None: the first)


@dataclass
class ExportInputs:
    """Everything export needs besides the run directory's paths."""
    model: torch.nn.Module                     # the trained network, eval mode
    labels: list[str]
    config: str                                # MFCC configuration "W/H/M"
    x_test: np.ndarray                         # (N, T, F) float32 normalised features
    y_test: np.ndarray                         # (N,) int64
    x_calibration: np.ndarray                  # (M, T, F) float32 normalised training features
    frontend: dict | None = None               # train/frontend.json content, for the firmware tables
    run_name: str = ""
    source: str = ""
    extra: dict = field(default_factory=dict)  # recorded in the report as is


def _errors(reference: np.ndarray, out: np.ndarray, y: np.ndarray) -> dict:
    diff = np.abs(out.astype(np.float64) - reference.astype(np.float64))
    return {"accuracy": float((out.argmax(1) == y).mean()),
            "top1_agreement": float((out.argmax(1) == reference.argmax(1)).mean()),
            "max_abs_error": float(diff.max()), "mean_abs_error": float(diff.mean())}


def _float_parity_problem(report: dict, pt: np.ndarray) -> str | None:
    """A sentence if ONNX or the float TFLite model does not compute what PyTorch does."""
    bound = FLOAT_TOLERANCE * max(1.0, float(np.abs(pt).max()))
    for key, name in (("onnx", "ONNX"), ("float", "float TFLite")):
        if report[key]["max_abs_error"] > bound:
            return (f"the {name} model's logits differ from PyTorch by up to {report[key]['max_abs_error']:.3g} "
                    f"(allowed {bound:.3g}): a layer converts wrongly")
    return None


def _fold_record(fold, converted: bytes, arena: dict, accuracy: float, x_nhwc: np.ndarray, y: np.ndarray) -> dict:
    """report["concat_quantize"]: what the fold removed, and arena and int8 accuracy with and without it."""
    from .tflite_convert import TfliteRunner
    from .tflm_check import measure_arena
    after = {"arena_bytes": int(arena["total_bytes"]), "arena_head_bytes": int(arena["head_bytes"]),
             "int8_accuracy": accuracy}
    before = dict(after)
    if fold.folded:  # the converter's own model, for comparison
        unfolded = measure_arena(converted)
        before = {"arena_bytes": int(unfolded["total_bytes"]), "arena_head_bytes": int(unfolded["head_bytes"]),
                  "int8_accuracy": float((TfliteRunner(converted)(x_nhwc).argmax(1) == y).mean())}
    return {**fold.to_dict(), "before": before, "after": after}


def _print_table(report: dict) -> None:
    print(f"{'step':<14}{'accuracy':>10}{'top-1 agree':>13}{'max |err|':>12}{'mean |err|':>12}")
    for key, name in (("pytorch", "pytorch"), ("onnx", "onnx"), ("float", "tflite float"), ("int8", "tflite int8")):
        r = report.get(key)
        if not r:
            continue
        agree = f"{r['top1_agreement'] * 100:.2f} %" if "top1_agreement" in r else "-"
        err = (f"{r['max_abs_error']:.2e}", f"{r['mean_abs_error']:.2e}") if "max_abs_error" in r else ("-", "-")
        print(f"{name:<14}{r['accuracy'] * 100:>9.2f}%{agree:>13}{err[0]:>12}{err[1]:>12}")
    t = report.get("tflm")
    if t:
        print(f"{'tflm int8':<14} vs LiteRT reference kernels on {t['samples']} clips: "
              f"{t['bit_identical_share'] * 100:.2f} % bit-identical, max {t['max_lsb']} LSB; "
              f"arena {t['arena_bytes']:,} B (activations {t['arena']['head_bytes']:,} B, "
              f"{t['arena_head_over_bound']}x the largest single layer's {t['activation_lower_bound_bytes']:,} B); "
              f"ops {', '.join(t['ops'])}")


def export_model(inputs: ExportInputs, out: RunDir, options: ExportOptions, log=print) -> dict:
    """Convert and verify; write the artifacts under out.export and return the report."""
    from .inference import build_inference_model, leftover_batchnorms
    from .onnx_export import OPSET, export_onnx, onnx_op_types, run_onnx, run_torch
    from .tflite_convert import TfliteRunner, float_tflite, int8_tflite, onnx_to_saved_model
    from .tflite_graph import activation_lower_bound, int8_problems, op_counts, op_names, read_ops

    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    # A new export starts clean: an interrupted or failed one must not leave an older report, int8
    # model or firmware folder next to the new ONNX / float files, looking consistent.
    for stale in (out.export_report, out.tflite_int8):
        stale.unlink(missing_ok=True)
    if out.firmware.exists():
        shutil.rmtree(out.firmware)
    T, F = inputs.x_test.shape[1:]
    if options.streaming:   # refuse a network that cannot stream before the long whole-window export
        from .step_model import make_plan, time_stride
        make_plan(inputs.model, (T, F), options.frames_per_step or time_stride(inputs.model))
    x_nchw = inputs.x_test[:, None].astype(np.float32)
    x_nhwc = inputs.x_test[..., None].astype(np.float32)
    y = inputs.y_test
    report: dict = {"run": inputs.run_name, "source": inputs.source, "config": inputs.config,
                    "labels": list(inputs.labels), "test_samples": int(len(y)), **inputs.extra}

    # 1. Inference model: BN folded, export-friendly pools; must equal the trained network.
    inference = build_inference_model(inputs.model)
    trained_out = run_torch(inputs.model.eval(), x_nchw)
    pt = run_torch(inference, x_nchw)
    report["inference_model"] = {"max_abs_diff_vs_trained": float(np.abs(pt - trained_out).max()),
                                 "unfolded_batchnorms": leftover_batchnorms(inference)}
    report["pytorch"] = {"accuracy": float((pt.argmax(1) == y).mean())}
    timings["inference_model_s"] = time.perf_counter() - t0
    log(f"inference model: max |diff| to the trained network {report['inference_model']['max_abs_diff_vs_trained']:.1e}")

    # 2. ONNX, checked with onnxruntime.
    t = time.perf_counter()
    dense = export_onnx(inference, (T, F), out.onnx)
    report["onnx"] = {**_errors(pt, run_onnx(out.onnx, x_nchw), y), "opset": OPSET, "ops": onnx_op_types(out.onnx),
                      "dilated_convs_made_dense": dense}
    timings["onnx_s"] = time.perf_counter() - t
    log(f"onnx: {out.onnx} (max |err| {report['onnx']['max_abs_error']:.1e})")

    # 3. TFLite: float SavedModel by onnx2tf, then our own converter calls.
    t = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="dadarts-saved-") as tmp:
        saved = Path(tmp) / "saved_model"
        onnx_to_saved_model(out.onnx, saved)
        fmodel = float_tflite(saved)
        write_bytes_atomic(out.tflite_float, fmodel)
        report["float"] = {**_errors(pt, TfliteRunner(fmodel)(x_nhwc), y), "bytes": len(fmodel),
                           "ops": op_counts(read_ops(fmodel))}
        timings["tflite_float_s"] = time.perf_counter() - t
        log(f"tflite float: {out.tflite_float} ({len(fmodel):,} B, max |err| {report['float']['max_abs_error']:.1e})")
        report["model_bytes"] = len(fmodel)
        report["input"] = {"shape": [1, int(T), int(F), 1], "dtype": "float32"}
        if not options.int8:
            report["int8"] = None
        else:
            t = time.perf_counter()
            rng = np.random.default_rng(options.seed)
            calib = inputs.x_calibration
            if options.calibration_samples < len(calib):
                calib = calib[np.sort(rng.choice(len(calib), options.calibration_samples, replace=False))]
            qmodel = int8_tflite(saved, calib[..., None].astype(np.float32))
            timings["tflite_int8_s"] = time.perf_counter() - t
    parity = _float_parity_problem(report, pt)
    if not options.int8 or parity:
        report["timings"] = {**timings, "total_s": time.perf_counter() - t0}
        write_json_atomic(out.export_report, report, kind=REPORT_KIND)
        _print_table(report)
        if parity:
            raise UserError(f"Export verification failed: {parity}; the per-step errors are in {out.export_report}.")
        return report

    # The converter's requantising copies before concatenation inputs are folded away first, so every
    # check below, and every figure reported, is of the model the firmware gets (concat_quant.py).
    from .concat_quant import fold_concat_quantize
    converted, fold = qmodel, fold_concat_quantize(qmodel, shared=options.fold_concat == "all")
    qmodel = fold.model
    ops = read_ops(qmodel)
    problems = int8_problems(ops)
    if problems:
        raise UserError(f"The int8 graph is not fully integer / NHWC: {problems[0]}"
                        f"{f' and {len(problems) - 1} more' if len(problems) > 1 else ''}; it was not written.")
    write_bytes_atomic(out.tflite_int8, qmodel)
    runner = TfliteRunner(qmodel)
    report["int8"] = {**_errors(pt, runner(x_nhwc), y), "bytes": len(qmodel), "ops": op_counts(ops),
                      "calibration_samples": int(len(calib)), "transposes": 0, "float_ops": 0,
                      "quantizer": "legacy (experimental_new_quantizer=False), per-channel weights"}
    report["model_bytes"] = len(qmodel)
    (in_scale, in_zp), (out_scale, out_zp) = runner.input_quant, runner.output_quant
    report["input"] = {"shape": [1, int(T), int(F), 1], "dtype": "int8", "scale": float(in_scale), "zero_point": int(in_zp)}
    report["output"] = {"shape": [1, len(inputs.labels)], "dtype": "int8", "scale": float(out_scale),
                        "zero_point": int(out_zp)}
    log(f"tflite int8: {out.tflite_int8} ({len(qmodel):,} B, top-1 agreement {report['int8']['top1_agreement'] * 100:.2f} %)")

    # 5. TFLM: every op supported, outputs vs LiteRT reference kernels, arena measured.
    from .tflm_check import compare_lsb, measure_arena, run_tflm
    t = time.perf_counter()
    n = min(options.tflm_samples, len(x_nhwc))
    xq = runner.quantize(x_nhwc[:n])
    tflm_out = run_tflm(qmodel, xq)
    reference = TfliteRunner(qmodel, reference_kernels=True).raw(xq)
    arena = measure_arena(qmodel)
    report["concat_quantize"] = {"mode": options.fold_concat,
                                 **_fold_record(fold, converted, arena, report["int8"]["accuracy"], x_nhwc, y)}
    before, after = report["concat_quantize"]["before"], report["concat_quantize"]["after"]
    log(f"concat requantisation: {fold.folded} of {fold.folded + len(fold.kept)} QUANTIZE ops folded into their "
        f"producers{' (why the others stay: concat_quantize.kept_because in report.json)' if fold.kept else ''}; "
        f"arena {before['arena_bytes']:,} B -> {after['arena_bytes']:,} B, int8 accuracy "
        f"{before['int8_accuracy'] * 100:.2f} % -> {after['int8_accuracy'] * 100:.2f} %")
    bound, bound_op = activation_lower_bound(ops)
    report["tflm"] = {"samples": int(n), **compare_lsb(tflm_out, reference), "arena_bytes": int(arena["total_bytes"]),
                      "arena": arena, "ops": op_names(ops), "activation_lower_bound_bytes": bound,
                      "activation_lower_bound_op": bound_op,
                      "arena_head_over_bound": round(arena["head_bytes"] / bound, 3) if bound else None}
    timings["tflm_s"] = time.perf_counter() - t
    log(f"tflm: {report['tflm']['bit_identical_share'] * 100:.2f} % bit-identical to the reference kernels, "
        f"arena {report['tflm']['arena_bytes']:,} B")

    # 6. C artifacts.
    from .carrays import ModelSettings, write_firmware_files
    from .recognizer_settings import default_settings, write_recognizer_files
    settings = ModelSettings(run_name=inputs.run_name, source=inputs.source, input_shape=[1, int(T), int(F), 1],
                             input_scale=float(in_scale), input_zero_point=int(in_zp), output_scale=float(out_scale),
                             output_zero_point=int(out_zp), labels=list(inputs.labels), config=inputs.config,
                             arena_measured_bytes=report["tflm"]["arena_bytes"], ops=op_names(ops))
    files = write_firmware_files(out.firmware, qmodel, settings)
    files += write_recognizer_files(out.export, out.firmware, default_settings(out, inputs.config), inputs.config,
                                    float(out_scale), int(out_zp), inputs.run_name)
    report["tflm"]["arena_bytes_with_margin"] = settings.arena_bytes
    report["firmware"] = {"files": [str(p.relative_to(out.root)) for p in files], "frontend_tables": None}
    if inputs.frontend is not None:
        try:
            from ..frontend.ctables import write_frontend_tables
        except ImportError:
            report["firmware"]["frontend_tables"] = "missing: dadarts.frontend.ctables is not installed"
            log("firmware: dadarts.frontend.ctables is missing, front-end tables were not generated")
        else:
            tables = write_frontend_tables(out.firmware, inputs.frontend, float(in_scale), int(in_zp),
                                           source=f"{inputs.run_name} ({inputs.source})")
            report["firmware"]["files"] += [str(Path(p).relative_to(out.root)) for p in tables]
            report["firmware"]["frontend_tables"] = "written"
    if options.streaming:
        files = _export_streaming(inputs, out, options, calib, qmodel, report, log)
        report["firmware"]["files"] = sorted(set(report["firmware"]["files"]) | {str(p.relative_to(out.root)) for p in files})
        report["firmware"]["model"] = "step"
    log(f"firmware: {', '.join(Path(p).name for p in report['firmware']['files'])} in {out.firmware}")

    report["timings"] = {**timings, "total_s": time.perf_counter() - t0}
    write_json_atomic(out.export_report, report, kind=REPORT_KIND)
    _print_table(report)
    if report["tflm"]["max_lsb"] > TFLM_MAX_LSB:
        raise UserError(f"TFLite Micro's int8 outputs differ from the reference kernels by up to "
                        f"{report['tflm']['max_lsb']} LSB (ops: {', '.join(report['tflm']['ops'])}): the firmware "
                        f"would not compute what was verified; see {out.export_report}.")
    drop = (report["float"]["accuracy"] - report["int8"]["accuracy"]) * 100
    if options.max_int8_drop is not None and drop > options.max_int8_drop:
        raise UserError(f"int8 accuracy {report['int8']['accuracy'] * 100:.2f} % is {drop:.2f} points below float "
                        f"({report['float']['accuracy'] * 100:.2f} %), more than --max-int8-drop "
                        f"{options.max_int8_drop:g}: try more --calibration-samples (report kept in "
                        f"{out.export_report}).")
    return report


def _export_streaming(inputs: ExportInputs, out: RunDir, options: ExportOptions, calib: np.ndarray, whole_int8: bytes,
                      report: dict, log) -> list[Path]:
    """The step model (report["streaming"]) and export/firmware/'s model files and recogniser settings
    rewritten for it: one decision per step."""
    import dataclasses
    from ..frontend.spec import SAMPLE_RATE, MfccConfig
    from .carrays import ModelSettings, write_firmware_files
    from .recognizer_settings import default_settings, write_recognizer_files
    from .step_export import export_step
    from .tflite_graph import op_names, read_ops
    config = MfccConfig.parse(inputs.config)
    T, F = inputs.x_test.shape[1:]
    t = time.perf_counter()
    streaming = export_step(inputs.model, (T, F), options.frames_per_step, config.hop * 1000.0 / SAMPLE_RATE, calib,
                            inputs.x_test, whole_int8, out, log=log, head=options.step_head, y_test=inputs.y_test)
    report["streaming"] = streaming
    qstep = (out.root / streaming["files"]["int8"]).read_bytes()
    n = streaming["frames_per_step"]
    inp = streaming["input"]
    from .step_tflite import StepRunner
    scale, zp = StepRunner(qstep).outs[0]["quantization"]
    settings = ModelSettings(run_name=inputs.run_name, source=inputs.source, input_shape=[1, n, int(F), 1],
                             input_scale=inp["scale"], input_zero_point=inp["zero_point"], output_scale=float(scale),
                             output_zero_point=int(zp), labels=list(inputs.labels), config=inputs.config,
                             arena_measured_bytes=streaming["arena_bytes"], ops=op_names(read_ops(qstep)),
                             stream=streaming)
    files = write_firmware_files(out.firmware, qstep, settings)
    recognizer = dataclasses.replace(default_settings(out, inputs.config), inference_every_hops=n)
    files += write_recognizer_files(out.export, out.firmware, recognizer, inputs.config, float(scale), int(zp),
                                    inputs.run_name)
    report["streaming"]["arena_bytes_with_margin"] = settings.arena_bytes
    streaming["timing_s"] = time.perf_counter() - t
    return files


def _dataset_of(run: RunDir, ckpt: dict):
    """The dataset the run was trained on, as recorded by dadarts train."""
    from ..data.datasets import load_dataset
    info = read_json(run.run_json, "run") if run.run_json.exists() else {}
    stage = info.get("stages", {}).get("train", {})
    data = stage.get("data")
    if data is None and run.train_metrics.exists():
        data = read_json(run.train_metrics, "train_metrics").get("data")
    task = ckpt.get("task") or stage.get("task") or "gsc12"
    names = tuple(label for label in ckpt["labels"] if not label.startswith("_")) if task == "names" else None
    ds = load_dataset(data, task, names=names, quiet=True)
    recorded = info.get("dataset_fingerprint")
    if recorded and recorded != ds.fingerprint:
        raise UserError(f"The dataset at {ds.root} is not the one {run.root} was trained on (fingerprint differs): "
                        "restore that dataset or retrain.")
    if list(ds.labels) != list(ckpt["labels"]):
        raise UserError(f"The dataset's labels {ds.labels} differ from the model's {ckpt['labels']}: retrain the run.")
    return ds


def export_run(root: str | Path, options: ExportOptions, argv: list[str], device: str = "auto", log=print) -> dict:
    """`dadarts export RUN`: everything from the run directory's train/ artifacts."""
    from ..data.features import load_features
    from ..device import pick_device
    from ..frontend.spec import MfccConfig
    from ..train.models import load_checkpoint, rebuild_model

    run = RunDir.of(root)
    run.require(run.model, run.frontend, hint=f"train it first: dadarts train {run.root}")
    ckpt = load_checkpoint(run.model)
    frontend = read_json(run.frontend, "frontend")
    frontend = {k: frontend[k] for k in ("config", "frontend_version", "mean", "std") if k in frontend}
    config = MfccConfig.parse(ckpt.get("config") or frontend["config"])
    if frontend.get("config") != config.name:
        raise UserError(f"train/frontend.json describes {frontend.get('config')} but the model was trained on "
                        f"{config.name}: re-run dadarts train.")
    if list(ckpt["build"]["input_shape"]) != list(config.shape):
        raise UserError(f"The model takes {ckpt['build']['input_shape']} inputs but {config.name} features are "
                        f"{list(config.shape)}: re-run dadarts train.")
    model = rebuild_model(ckpt)
    pick_device(device)  # validates --device; conversion itself runs on the CPU
    ds = _dataset_of(run, ckpt)
    mean, std = np.asarray(frontend["mean"], np.float32), np.asarray(frontend["std"], np.float32)
    test = load_features(ds, "testing", config)
    train = load_features(ds, "train", config)
    if len(test.y) == 0 or len(train.y) == 0:
        raise UserError(f"The dataset at {ds.root} has an empty test or training split: export needs both.")
    norm = lambda x: ((x.float().numpy() - mean) / std).astype(np.float32)  # noqa: E731
    inputs = ExportInputs(model=model, labels=list(ckpt["labels"]), config=config.name, x_test=norm(test.x),
                          y_test=test.y.numpy(), x_calibration=norm(train.x), frontend=frontend,
                          run_name=run.root.resolve().name, source=str(run.root.resolve()),
                          extra={"model": ckpt["build"]["name"], "task": ckpt.get("task"),
                                 "dataset_fingerprint": ds.fingerprint})
    log(f"dadarts export: {ckpt['build']['name']} on {config.name} from {run.model} "
        f"({len(test.y)} test clips, int8 {'on' if options.int8 else 'off'})")
    report = export_model(inputs, run, options, log=log)
    if options.int8 and report.get("tflm", {}).get("arena_bytes"):
        from ..search.cost import describe_check
        from .budget import export_budget_check
        check = export_budget_check(run, run.tflite_int8.read_bytes(), report["tflm"]["arena_bytes"], config)
        if check:
            report["budget_check"] = check
            write_json_atomic(run.export_report, report, kind=REPORT_KIND)
            log("budget: " + describe_check(check, "the exported int8 model"))
    record_run(run, "export", argv, dataset_fingerprint=ds.fingerprint, int8=options.int8,
               calibration_samples=options.calibration_samples, max_int8_drop=options.max_int8_drop)
    return report
