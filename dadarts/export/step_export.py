"""`dadarts export RUN --int8 --streaming`: the step model of a chain network valid or causal in time, through the
same path as the whole-window model (PyTorch -> ONNX -> onnx2tf -> float / int8 TFLite), checked
against the whole-window models, and the firmware files of a step build.

Written next to the whole-window export (which runs first and is the reference):
  export/model_step.onnx, model_step_float.tflite, model_step_int8.tflite
  export/stream_step.json     (kind "stream_step"): frames_per_step, time_stride, warmup_steps,
                              tail_frames, window_frames, head (step_model.HEADS) and the states
                              (step_tflite.order_states)
  export/firmware/            model data, model_settings.h (with the stream defines) and the
                              recogniser's settings for one decision per step, all of the step model
and report.json "streaming": float and int8 parity, TFLM's arena for the step model, and for a causal
network "clips": the test split's accuracy as its stream decides it (streamed_clips.streamed_accuracy).

Calibration: the calibration clips of the whole-window model, end to end as one stream of frames,
stepped by the float step model to record the states each step sees. The frames input then sees
exactly the calibration features' range, so it gets the whole-window model's input scale and zero
point (the front-end contract; asserted).

TFLite Micro steps the int8 step model from a reset over the first TFLM_STEPS steps, states fed back,
against the reference kernels (it must be within TFLM_MAX_LSB, as the whole-window model).
The check runs both int8 models under LiteRT's reference kernels (TFLM's arithmetic) on a stream of
test clips end to end: after the warm-up every step's logits against the whole-window int8 model on
the window that step covers (step_model.StepPlan.window_of; for a causal network its step has also heard
the audio before that window, where the whole-window model reads zeros). They are not bit-identical: each model
has its own calibrated activation ranges, so the figures are top-1 agreement and the largest logit
difference, like the int8-vs-float figures of the whole-window export. Float: the step .tflite against
PyTorch's whole-window model on the same windows, or for a causal network against the network run over
the whole stream (step_model.whole_stream_logits); either is exact up to float rounding.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import torch

from ..errors import UserError
from ..rundir import RunDir, write_bytes_atomic, write_json_atomic

STEP_KIND = "stream_step"
CHECK_STEPS = 256            # steps compared after the warm-up (reference kernels are slow)
TFLM_STEPS = 64              # steps TFLite Micro runs from a reset for its check against the reference kernels
FLOAT_TOLERANCE = 1e-3       # float step .tflite vs PyTorch, relative to the largest logit


def step_paths(run: RunDir) -> dict:
    e = run.export
    return {"onnx": e / "model_step.onnx", "float": e / "model_step_float.tflite",
            "int8": e / "model_step_int8.tflite", "json": e / "stream_step.json"}


def _nhwc(t: torch.Tensor) -> np.ndarray:
    return t.permute(0, 2, 3, 1).contiguous().numpy()


def _stream(clips: np.ndarray, n: int) -> torch.Tensor:
    """(M, T, F) clips end to end, cut to whole steps of n frames by repeating the first frames."""
    frames = torch.from_numpy(np.ascontiguousarray(clips.reshape(-1, clips.shape[-1]), dtype=np.float32))
    short = (-len(frames)) % n
    return torch.cat([frames, frames[:short]]) if short else frames


def calibration_steps(step, clips: np.ndarray) -> list[dict]:
    """One {input name: NHWC array} per step of the float step model over the clips end to end."""
    n, names = step.plan.frames_per_step, ["frames"] + [s.name for s in step.plan.states]
    frames, states, out = _stream(clips, n), step.zero_states(), []
    with torch.no_grad():
        for s in range(len(frames) // n):
            x = frames[s * n:(s + 1) * n][None, None]
            out.append(dict(zip(names, (_nhwc(x), *(_nhwc(t) for t in states)))))
            _, *states = step(x, *states)
    return out


def checked_windows(plan, n_frames: int, limit: int = CHECK_STEPS) -> list[tuple[int, int]]:
    """(step, window start) of the steps after the warm-up whose whole window lies in the stream."""
    out = []
    for s in range(plan.warmup_steps, n_frames // plan.frames_per_step):
        start, end = plan.window_of(s)
        if end > n_frames or len(out) >= limit:
            break
        out.append((s, start))
    return out


def stream_check(step_int8: bytes, whole_int8: bytes, step_float: bytes, whole_torch, step, clips: np.ndarray) -> dict:
    """report["streaming"]["check"]: step models against the whole-window models on the same stream (a causal
    network's float step model against the network over the whole stream, whole_stream_logits: what it
    equals; its agreement with the whole-window model on each step's window is a figure)."""
    from .onnx_export import run_torch
    from .step_model import whole_stream_logits
    from .step_tflite import StepRunner
    from .tflite_convert import TfliteRunner
    plan = step.plan
    n, T = plan.frames_per_step, plan.window_frames
    clips = clips[:-(-((plan.warmup_steps + CHECK_STEPS + 2) * n + T) // T)]      # enough for CHECK_STEPS steps
    frames = _stream(clips, n).numpy()
    windows = checked_windows(plan, len(frames))
    if not windows:
        raise UserError(f"The export check needs more than {plan.window_frames + plan.frames_per_step} test frames "
                        "for the step model: the test split is too small.")
    x = np.stack([frames[a:a + plan.window_frames] for _, a in windows])
    steps = [s for s, _ in windows]
    out = {"steps": len(windows), "warmup_steps": plan.warmup_steps, "stream_frames": int(len(frames))}
    # float: the step .tflite vs PyTorch's whole-window model (causal: vs the network over the whole stream)
    fr = StepRunner(step_float, reference_kernels=False)
    got = fr.run(frames)[0][steps]
    window = run_torch(whole_torch, x[:, None])
    ref = whole_stream_logits(step, torch.from_numpy(frames)).numpy()[steps] if plan.causal else window
    diff = float(np.abs(got - ref).max())
    out["float"] = {"max_abs_error": diff, "relative": diff / max(1e-12, float(np.abs(ref).max())),
                    "top1_agreement": float((got.argmax(1) == ref.argmax(1)).mean()),
                    "reference": "the network over the whole stream" if plan.causal else "the whole-window model",
                    "window_top1_agreement": float((got.argmax(1) == window.argmax(1)).mean())}
    if out["float"]["relative"] > FLOAT_TOLERANCE:
        raise UserError(f"The float step model's logits differ from those of {out['float']['reference']} by up to {diff:.3g} "
                        f"({out['float']['relative']:.2g} of the largest): a state is wired wrongly; nothing "
                        "streaming was written.")
    # int8: the step model vs the whole-window int8 model, both on the reference kernels
    qr = StepRunner(step_int8)
    got = qr.dequantize_logits(qr.run(qr.quantize_frames(frames))[0][steps])
    whole = TfliteRunner(whole_int8, reference_kernels=True)
    ref = whole.dequantize(whole.raw(whole.quantize(x[..., None])))
    diff = np.abs(got - ref)
    out["int8"] = {"top1_agreement": float((got.argmax(1) == ref.argmax(1)).mean()),
                   "max_abs_logit_diff": float(diff.max()), "mean_abs_logit_diff": float(diff.mean()),
                   "max_abs_logit": float(np.abs(ref).max()),
                   "output_lsb": float(qr.outs[0]["quantization"][0])}
    return out


def tflm_step_check(step_int8: bytes, clips: np.ndarray, n: int, steps: int = TFLM_STEPS) -> dict:
    """TFLite Micro stepping the int8 step model (states fed back) against the reference kernels: the
    firmware's interpreter computes what the check verified."""
    from .step_tflite import StepRunner
    from .tflm_check import compare_lsb, run_tflm
    ref = StepRunner(step_int8)
    frames = ref.quantize_frames(_stream(clips, n).numpy())[:steps * n]
    expected, _ = ref.run(frames)
    got = run_tflm(step_int8, frames.reshape(-1, n, frames.shape[1], 1), states=ref.reset_states())
    return {"steps": int(len(expected)), **compare_lsb(got, expected)}


def export_step(model, input_shape: tuple[int, int], frames_per_step: int, hop_ms: float, calib: np.ndarray,
                x_test: np.ndarray, whole_int8: bytes, out: RunDir, log=print, head: str | None = None,
                y_test: np.ndarray | None = None) -> dict:
    """Convert, check and write the step model (see module doc); returns report["streaming"]. A causal
    network's test clips (`y_test` given) are also scored as its stream decides them ("clips")."""
    from .concat_quant import fold_concat_quantize
    from .inference import build_inference_model
    from .onnx_export import export_onnx_graph
    from .step_model import HEADS, StepModel, default_frames_per_step, time_stride
    from .step_tflite import StepRunner, order_states
    from .tflite_convert import TfliteRunner, float_tflite, int8_tflite, onnx_to_saved_model
    from .tflite_graph import int8_problems, op_counts, op_names, read_ops
    from .tflm_check import measure_arena

    inference = build_inference_model(model)
    frames_per_step = frames_per_step or default_frames_per_step(time_stride(inference), hop_ms)
    step = StepModel(inference, input_shape, frames_per_step, head or HEADS[0]).eval()
    plan = step.plan
    paths = step_paths(out)
    names = ["frames"] + [s.name for s in plan.states]
    example = (torch.zeros(1, 1, plan.frames_per_step, input_shape[1]), *step.zero_states())
    export_onnx_graph(step, example, names, ["logits"] + [f"next_{n}" for n in names[1:]], paths["onnx"])
    with tempfile.TemporaryDirectory(prefix="dadarts-step-") as tmp:
        saved = Path(tmp) / "saved_model"
        onnx_to_saved_model(paths["onnx"], saved)
        fmodel = float_tflite(saved)
        qmodel = int8_tflite(saved, calibration_steps(step, calib))
    shapes = [tuple(int(v) for v in (s.shape[0], s.shape[2], s.shape[3], s.shape[1])) for s in plan.states]
    fmodel, _ = order_states(fmodel, names, shapes, int8=False)
    folded = fold_concat_quantize(qmodel)
    qmodel, states = order_states(folded.model, names, shapes)
    ops = read_ops(qmodel)
    problems = int8_problems(ops)
    if problems:
        raise UserError(f"The int8 step graph is not fully integer / NHWC: {problems[0]}; it was not written.")
    step_in = tuple(StepRunner(qmodel).ins[0]["quantization"])
    whole_in = TfliteRunner(whole_int8).input_quant
    if (np.float32(step_in[0]), step_in[1]) != (np.float32(whole_in[0]), whole_in[1]):
        raise UserError(f"The step model's frames are quantised at {step_in}, the whole-window model's input at "
                        f"{whole_in}: the front-end could not feed both; the step model was not written.")
    check = stream_check(qmodel, whole_int8, fmodel, inference, step, x_test)
    check["tflm"] = tflm_step_check(qmodel, x_test, plan.frames_per_step)
    from .pipeline import TFLM_MAX_LSB
    if check["tflm"]["max_lsb"] > TFLM_MAX_LSB:
        raise UserError(f"TFLite Micro's step model outputs differ from the reference kernels by up to "
                        f"{check['tflm']['max_lsb']} LSB over {check['tflm']['steps']} steps: the firmware would not "
                        "compute what was verified; nothing streaming was written.")
    clips = None
    if plan.causal and y_test is not None:     # each test clip after the clips before it (streamed_clips)
        from .streamed_clips import streamed_accuracy
        clips = streamed_accuracy(step, x_test, y_test, StepRunner(qmodel, reference_kernels=False))
    write_bytes_atomic(paths["float"], fmodel)
    write_bytes_atomic(paths["int8"], qmodel)
    arena = measure_arena(qmodel)
    meta = {"frames_per_step": plan.frames_per_step, "time_stride": plan.time_stride,
            "warmup_steps": plan.warmup_steps, "tail_frames": plan.tail_frames,
            "window_frames": plan.window_frames, "map_frames": plan.map_frames, "head": step.head, "states": states,
            "state_bytes": sum(s["bytes"] for s in states),
            "input": {"shape": [1, plan.frames_per_step, int(input_shape[1]), 1], "scale": float(step_in[0]),
                      "zero_point": int(step_in[1])},
            "reset": "every state input set to its zero point"}
    write_json_atomic(paths["json"], meta, kind=STEP_KIND)
    report = {**meta, "files": {k: str(v.relative_to(out.root)) for k, v in paths.items()},
              "bytes": len(qmodel), "ops": op_counts(ops), "op_names": op_names(ops),
              "concat_quantize_folded": folded.folded, "arena_bytes": int(arena["total_bytes"]), "arena": arena,
              "check": check, **({"clips": clips} if clips else {})}
    log(f"step model: {plan.frames_per_step} frames per step (time stride {plan.time_stride}), "
        f"{len(states)} states ({meta['state_bytes']:,} B), warm-up {plan.warmup_steps} steps; "
        f"{check['steps']} steps vs the whole-window int8 model: top-1 agreement "
        f"{check['int8']['top1_agreement'] * 100:.2f} %, max |logit diff| {check['int8']['max_abs_logit_diff']:.3g} "
        f"(float: {check['float']['max_abs_error']:.1e}); TFLM over {check['tflm']['steps']} steps "
        f"{check['tflm']['bit_identical_share'] * 100:.2f} % bit-identical to the reference kernels; "
        f"arena {report['arena_bytes']:,} B")
    if clips:
        log(f"test split as the stream decides it (each clip after the clips before it): float step "
            f"{clips['float'] * 100:.2f} %, int8 step {clips['int8'] * 100:.2f} % ({clips['clips']} clips)")
    return report


def read_step(run: RunDir) -> dict:
    """stream_step.json of a run exported with --streaming (its step .tflite checked present), or a UserError
    that says how to make one."""
    from ..rundir import read_json
    paths = step_paths(run)
    if not (paths["json"].is_file() and paths["int8"].is_file()):
        raise UserError(f"{run.root} has no step model ({paths['int8']} or {paths['json'].name} is missing): run "
                        f"`dadarts export {run.root} --int8 --streaming` first.")
    return read_json(paths["json"], STEP_KIND)
