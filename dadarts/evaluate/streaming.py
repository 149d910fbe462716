"""The firmware's streaming path in Python: the keyword application (firmware/app/kws_main.c) on a
recording, with the device's features, schedule and decisions.

Per hop of audio the device computes one frame of the fixed-point front-end, keeps the last T frames
in a ring, runs the int8 model once the ring is full and then every `inference_every_hops` frames,
turns the outputs into scores (integer softmax) and feeds the recogniser with the time in ms. Here
the same happens in bulk: the front-end's frames are exactly `fixed.stream_frames` of the
recording (computed in chunks in numpy), the schedule is the firmware's per-hop loop, the model
inputs are slices of the frame array batched through LiteRT, and the recogniser is the vectorised
twin of recognizer.c. The decisions equal a per-hop loop's (tests compare them). A step model
(`dadarts export --streaming`, `run_step_model`) instead takes the frames N at a time from the
front-end's first, its states fed back, one decision per step after its warm-up. The model's outputs
are LiteRT's: with its reference kernels (`exact`) the ones TFLite Micro computes, with the default
optimised kernels a few LSB off them (see runmodels.Int8Model).
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

import numpy as np

from ..export.recognizer_settings import RecognizerSettings, score_exp_table
from ..frontend import fixed
from ..frontend.spec import CLIP_SAMPLES, SAMPLE_RATE
from .recognizer import Averages, recognise, scores_from_output
from .runmodels import RunModels

FEATURE_CHUNK = 2048       # frames per numpy front-end call (bounds the int64 FFT work arrays)


@dataclass
class StreamOutput:
    seconds: float                 # audio the device consumed
    times_ms: np.ndarray           # (N,) time of each inference, ms (int)
    output: np.ndarray             # (N, K) int8 raw model outputs
    scores: np.ndarray             # (N, K) int8 recogniser inputs (probabilities - 128)
    timings: dict = field(default_factory=dict)


def device_pcm(pcm: np.ndarray, hop: int, clip_samples: int = CLIP_SAMPLES) -> np.ndarray:
    """The samples kws_main.c consumes from a file: whole hops only, a file under one clip (the model's
    window, KWS_MODEL_CLIP_SAMPLES) padded with silence to a clip (a last, partial hop of such a file is
    replaced by silence too)."""
    pcm = np.asarray(pcm, np.int16)
    whole = len(pcm) // hop * hop
    if whole >= clip_samples:
        return pcm[:whole]
    out = np.zeros(-(-clip_samples // hop) * hop, np.int16)
    out[:whole] = pcm[:whole]
    return out


def stream_features(pcm: np.ndarray, tables: fixed.FixedTables) -> np.ndarray:
    """(n_frames, F) int8: every frame the streaming front-end emits for `pcm`, in order."""
    config = tables.config
    n = 0 if len(pcm) < config.window else 1 + (len(pcm) - config.window) // config.hop
    out = np.empty((n, config.n_mfcc), np.int8)
    for start in range(0, n, FEATURE_CHUNK):
        stop = min(n, start + FEATURE_CHUNK)
        chunk = pcm[start * config.hop: (stop - 1) * config.hop + config.window]
        out[start:stop] = fixed.features_from_frames(fixed.stream_frames(chunk, config), tables)
    return out


def schedule(n_hops: int, n_live: int, window: int, hop: int, n_input_frames: int,
             every_hops: int, clip_samples: int = CLIP_SAMPLES) -> tuple[np.ndarray, np.ndarray]:
    """(index of the newest frame, time in ms) of each inference: kws_main.c's loop, hop by hop.

    `n_live` hops come from the file; the rest is the silence that pads a file under one clip. The
    model runs once the ring is full every `every_hops` new frames, on the padding's hop that reaches
    one clip (`clip_samples`), and once more at the end of the file if the last hop had no inference."""
    ends, times = [], []
    filled = since = frames = samples = 0
    inferred_last = False
    for h in range(n_hops):
        samples += hop
        new = 1
        if filled < window:                      # kws_frontend_process: no frame until a window is full
            filled += hop
            new = int(filled >= window)
        since += new
        frames += new
        at_padded_end = h >= n_live and samples >= clip_samples
        inferred_last = frames >= n_input_frames and (since >= every_hops or at_padded_end)
        if inferred_last:
            since = 0
            ends.append(frames - 1)
            times.append(samples * 1000 // SAMPLE_RATE)
    if not inferred_last and frames >= n_input_frames:
        ends.append(frames - 1)
        times.append(samples * 1000 // SAMPLE_RATE)
    return np.asarray(ends, np.int64), np.asarray(times, np.int64)


def _timed(models: RunModels, pcm: np.ndarray, infer, output_quant) -> StreamOutput:
    """The fixed-point front-end over a recording, then `infer(feats, n_hops, n_live)` -> (times ms, int8
    outputs, inferences), scored; wall and CPU time of both parts with the load they ran under."""
    config = models.config
    load = os.getloadavg()[0]                    # wall times mean little on a shared machine without it
    t0, c0 = time.perf_counter(), time.process_time()
    n_live = len(pcm) // config.hop
    pcm = device_pcm(pcm, config.hop, config.clip_samples)
    feats = stream_features(pcm, models.tables)
    t1, c1 = time.perf_counter(), time.process_time()
    times, output, inferences = infer(feats, len(pcm) // config.hop, n_live)
    t2, c2 = time.perf_counter(), time.process_time()
    scores = scores_from_output(output, score_exp_table(*output_quant))
    return StreamOutput(len(pcm) / SAMPLE_RATE, times, output, scores,
                        {"frontend_s": t1 - t0, "inference_s": t2 - t1, "frontend_cpu_s": c1 - c0,
                         "inference_cpu_s": c2 - c1, "inferences": int(inferences), "load_average": load,
                         "measured": time.strftime("%Y-%m-%d %H:%M:%S")})


def run_model(models: RunModels, pcm: np.ndarray, every_hops: int, progress: bool = False) -> StreamOutput:
    """Front-end, schedule and int8 model over a recording (the recogniser's inputs)."""
    from tqdm import tqdm
    config, t_frames = models.config, models.config.n_frames

    def infer(feats, n_hops, n_live):
        ends, times = schedule(n_hops, n_live, config.window, config.hop, t_frames, every_hops, config.clip_samples)
        output = np.empty((len(ends), models.int8.n_labels), np.int8)
        step = 16 * models.int8.batch
        offsets = np.arange(t_frames) - (t_frames - 1)
        # disable=None: silent when stderr is not a terminal.
        with tqdm(total=len(ends), unit="inference", disable=None if progress else True, leave=False) as bar:
            for i in range(0, len(ends), step):
                output[i:i + step] = models.int8(feats[ends[i:i + step, None] + offsets])
                bar.update(len(output[i:i + step]))
        return times, output, len(ends)

    return _timed(models, pcm, infer, models.int8.output_quant)


def step_schedule(n_frames: int, frames_per_step: int, warmup_steps: int, window: int, hop: int) -> tuple[np.ndarray, np.ndarray]:
    """(index of the step, time in ms) of each decision of a step model (the stream contract's schedule):
    frames f0 .. f(N-1) are step 0, fN .. f(2N-1) step 1, ... from the front-end's first frame; steps
    0 .. warmup_steps - 1 only fill the states; every later step is one decision, at the time of the
    hop that produced its last frame (frame f comes with the samples up to f * hop + window)."""
    steps = np.arange(warmup_steps, n_frames // frames_per_step, dtype=np.int64)
    last = (steps + 1) * frames_per_step - 1
    return steps, (last * hop + window) * 1000 // SAMPLE_RATE


def run_step_model(models: RunModels, pcm: np.ndarray, progress: bool = False) -> StreamOutput:
    """Front-end, step model (states fed back) and scores over a recording: one decision per step after
    the warm-up; the twin of a step build of the firmware (the recogniser's inputs)."""
    from tqdm import tqdm
    config, step, meta = models.config, models.step, models.step_meta
    n = meta["frames_per_step"]

    def infer(feats, n_hops, n_live):
        steps, times = step_schedule(len(feats), n, meta["warmup_steps"], config.window, config.hop)
        chunk = 4096 * n      # frames per runner call: states carry over between calls
        outs, states = [], None
        with tqdm(total=len(feats) // n, unit="step", disable=None if progress else True, leave=False) as bar:
            for i in range(0, len(feats) // n * n, chunk):
                y, states = step.run(feats[i:i + chunk], states)
                outs.append(y)
                bar.update(len(y))
        output = np.concatenate(outs)[steps] if outs else np.zeros((0, len(models.labels)), np.int8)
        return times, output, len(feats) // n

    return _timed(models, pcm, infer, step.output_quant)


@dataclass
class Detection:
    time_s: float
    label: str
    score: int


def detections(models: RunModels, out: StreamOutput, settings: RecognizerSettings) -> tuple[Averages, list[Detection]]:
    """The recogniser over a stream's scores: what it saw per inference and the keyword detections."""
    is_keyword = [not name.startswith("_") for name in models.labels]
    avg, found = recognise(out.scores, out.times_ms, settings, is_keyword, settings.history(models.config.hop))
    return avg, [Detection(float(avg.times[i]) / 1000.0, models.labels[int(avg.label[i])], int(avg.score[i]))
                 for i in found]
