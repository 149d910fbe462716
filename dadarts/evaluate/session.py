"""What `stream` and `calibrate` share: the run's dataset, its long-form streams, the model's outputs
over a stream (cached in RUN/stream/cache/, since running the int8 model is the slow part) and the
metrics at a set of recogniser settings."""
from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from pathlib import Path

import numpy as np

from ..data.datasets import KwsDataset, load_dataset
from ..data.wavio import BadWav, check_header, read_wav
from ..errors import UserError
from ..export.recognizer_settings import JSON_NAME, RecognizerSettings, default_settings, read_settings, score_exp_table
from ..rundir import atomic_path
from . import scoring
from .longform import StreamRecipe, cached_stream
from .recognizer import averages, scores_from_output
from .runmodels import RunModels
from .streaming import StreamOutput, run_model, run_step_model
from .talk_streams import TalkRecipe

THRESHOLDS = range(256)
TWIN_VERSION = 2        # bump when the streaming twin's outputs change (2: an inference at a file's end)


def run_settings(models: RunModels) -> RecognizerSettings:
    """The run's recogniser settings (export/recognizer.json), or the defaults export would write."""
    path = models.run.export / JSON_NAME
    return read_settings(path) if path.is_file() else default_settings(models.run, models.config)


def at_model_rate(models: RunModels, settings: RecognizerSettings) -> RecognizerSettings:
    """`settings` at the rate the run's model decides: once per step for a step model (runmodels.load_step),
    whatever stride the settings name; unchanged for the whole-window model."""
    if models.step is None:
        return settings
    return dataclasses.replace(settings, inference_every_hops=int(models.step_meta["frames_per_step"]))


def stream_dataset(models: RunModels, data: str | None, measuring: bool = False) -> KwsDataset:
    """Every word of the run's dataset (or `data`) split by its lists: the source of the streams.
    `measuring` (the stream command) may read a measure-only folder; calibration, which tunes, may not."""
    from ..firmware.runio import run_dataset_args
    data = data or run_dataset_args(models.run)["data"]
    return load_dataset(data, "gsc35", quiet=True, name_augment=None, measuring=measuring)


RECIPES = ("talk", "v1")     # talk: talk_streams.py (default); v1: longform.py's first recipe, for comparison


def stream_recipe(name: str, split: str, minutes: float | None = None):
    """The recipe `name` for `split` (seed 0 for testing, 1 for validation) at its default length or `minutes`."""
    seed = 0 if split == "testing" else 1
    if name == "v1":
        return StreamRecipe(minutes=minutes or 60.0, seed=seed)
    if name == "talk":
        return TalkRecipe(seed=seed) if minutes is None else TalkRecipe(minutes=minutes, seed=seed)
    raise UserError(f"Unknown stream recipe '{name}': choose one of {', '.join(RECIPES)}.")


def run_stream(models: RunModels, ds: KwsDataset, split: str, minutes: float | None = None, recipe: str = "talk",
               log=print) -> tuple[Path, dict]:
    """The cached long-form stream of `split` for the run's keywords under `recipe`."""
    return cached_stream(ds, split, models.keywords, stream_recipe(recipe, split, minutes), log=log)


def wav_seconds(wav: Path) -> float:
    """A recording's length from its header (a file that cannot be read gets its sentence later)."""
    try:
        info = check_header(wav)
    except BadWav as exc:
        raise UserError(f"{exc}: give a WAV recording (any rate, mono or stereo).") from None
    return info.frames / info.rate


def _model_key(models: RunModels, wav: Path, every_hops: int) -> str:
    digest = hashlib.sha1(models.run.tflite_int8.read_bytes() + models.run.frontend.read_bytes())
    if models.step is not None:      # the step model's outputs (its bytes name it)
        from ..export.step_export import step_paths
        digest.update(b"step" + step_paths(models.run)["int8"].read_bytes())
    stat = wav.stat()
    digest.update(json.dumps([TWIN_VERSION, str(wav.resolve()), stat.st_size, stat.st_mtime_ns, every_hops,
                              models.int8.exact]).encode())
    return digest.hexdigest()[:16]


def outputs_cache(models: RunModels, wav: Path, every_hops: int) -> Path:
    return models.run.root / "stream" / "cache" / f"{wav.stem}-{_model_key(models, wav, every_hops)}.npz"


def save_outputs(path: Path, out: StreamOutput) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, seconds=out.seconds, times_ms=out.times_ms, output=out.output, timings=json.dumps(out.timings))


def model_outputs(models: RunModels, wav: Path, every_hops: int, log=print) -> StreamOutput:
    """The int8 model's outputs over a recording at the given stride (the step model's, one per step, when
    `models` has one: runmodels.load_step); cached per (model, file, stride)."""
    cache = outputs_cache(models, wav, every_hops)
    if cache.is_file():
        z = np.load(cache)
        out = z["output"]
        return StreamOutput(float(z["seconds"]), z["times_ms"], out,
                            scores_from_output(out, score_exp_table(*(models.step or models.int8).output_quant)),
                            json.loads(str(z["timings"])))
    try:
        pcm = read_wav(wav)
    except BadWav as exc:
        raise UserError(f"{exc}: give a WAV recording (any rate, mono or stereo).") from None
    log(f"running the firmware's streaming path over {wav} ({len(pcm) / 16000 / 60:.1f} min, "
        f"{'step model, ' if models.step is not None else ''}model every {every_hops} hops)")
    out = (run_step_model(models, pcm, progress=True) if models.step is not None
           else run_model(models, pcm, every_hops, progress=True))
    out.timings["threads"] = models.int8.threads
    save_outputs(cache, out)
    return out


def metrics(models: RunModels, out: StreamOutput, truth: dict, settings: RecognizerSettings) -> dict:
    """False rejects and false accepts per hour at `settings`, and their curves over the threshold."""
    t0 = time.perf_counter()
    history = settings.history(models.config.hop)
    avg = averages(out.scores, out.times_ms, settings.average_window_ms, history)
    points = scoring.sweep(avg, models.labels, truth, THRESHOLDS, settings.suppression_ms,
                           min(settings.minimum_count, history))
    at = points[settings.detection_threshold]
    per_keyword = {}
    for k in models.keywords:
        curve = scoring.curve_points(points, k)
        frr1, thr1 = scoring.frr_at(curve, 1.0)
        per_keyword[k] = {**at["per_keyword"][k], "frr_at_1_fa_per_hour": frr1, "threshold_at_1_fa_per_hour": thr1,
                          "curve": curve}
    curve = scoring.curve_points(points)
    frr1, thr1 = scoring.frr_at(curve, 1.0)
    hours = truth["seconds"] / 3600.0
    interval = scoring.poisson_interval(at["overall"]["false_accepts"], hours)
    return {"hours": hours, "settings": {**settings.to_dict(), "history": history},
            "operating_point": {"threshold": settings.detection_threshold, **at["overall"],
                                "false_accepts_per_hour_95": list(interval)},
            "frr_at_1_fa_per_hour": frr1, "threshold_at_1_fa_per_hour": thr1,
            "curve": curve, "per_keyword": per_keyword, "scoring_s": time.perf_counter() - t0,
            "latency_s": scoring.LATENCY_S}


def throughput(out: StreamOutput) -> dict:
    """Hours of audio per minute of the streaming path (front-end + model): per minute of wall time,
    which other jobs on the machine slow down, and per minute of this process's CPU time."""
    hours = out.seconds / 3600.0
    wall = out.timings["frontend_s"] + out.timings["inference_s"]
    cpu = out.timings["frontend_cpu_s"] + out.timings["inference_cpu_s"]
    return {**out.timings, "audio_hours": hours,
            "audio_hours_per_minute": hours / (wall / 60.0) if wall > 0 else None,
            "audio_hours_per_cpu_minute": hours / (cpu / 60.0) if cpu > 0 else None}
