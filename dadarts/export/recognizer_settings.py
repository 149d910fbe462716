"""The recogniser's settings: export/recognizer.json (kind "recognizer_settings") and the firmware's
generated export/firmware/recognizer_settings.h.

`dadarts export` writes both with the defaults below; `dadarts calibrate` rewrites them with settings
chosen for a false-accept target. The header carries everything the firmware's recogniser needs:
averaging window, threshold, suppression, minimum count, the inference stride in hops, the history
that holds a whole averaging window at that stride, and the exp table of the integer softmax that
turns the model's int8 outputs into scores (firmware/app/recognizer.h, kws_recognizer_scores).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..errors import UserError
from ..frontend.spec import SAMPLE_RATE, MfccConfig
from ..rundir import RunDir, read_json, write_json_atomic, write_text_atomic

KIND = "recognizer_settings"
JSON_NAME = "recognizer.json"
HEADER_NAME = "recognizer_settings.h"
SOFTMAX_QUANT = (1.0 / 256.0, -128)      # TFLite's int8 softmax output: already a probability


@dataclass(frozen=True)
class RecognizerSettings:
    """TFLM micro_speech's recogniser (1 s average, 1.5 s suppression, threshold 200 of 255, 3 results);
    the stride here is only the dataclass's: export sets it from the run's decision period (`default_settings`)."""
    average_window_ms: int = 1000
    detection_threshold: int = 200       # on scores 0..255
    suppression_ms: int = 1500
    minimum_count: int = 3
    inference_every_hops: int = 2

    def __post_init__(self):
        problems = [f"{name} {value}" for name, value, ok in (
            ("average window", self.average_window_ms, self.average_window_ms >= 1),
            ("detection threshold", self.detection_threshold, 0 <= self.detection_threshold <= 255),
            ("suppression", self.suppression_ms, self.suppression_ms >= 0),
            ("minimum count", self.minimum_count, self.minimum_count >= 1),
            ("inference stride", self.inference_every_hops, self.inference_every_hops >= 1)) if not ok]
        if problems:
            raise UserError(f"Recogniser setting out of range ({', '.join(problems)}): the window and stride "
                            f"must be at least 1, the threshold 0..255, the suppression 0 or more.")

    def history(self, hop: int) -> int:
        """Results the recogniser keeps: enough for the averaging window at every inference.

        Results arrive every hop * stride samples; their millisecond time stamps are floored, so a
        window of W ms holds at most ceil(W / period) of them. One more is a margin for ports whose
        time stamps jitter."""
        period = hop * self.inference_every_hops
        return max(self.minimum_count, math.ceil(self.average_window_ms * SAMPLE_RATE / (1000 * period)) + 1)

    def to_dict(self) -> dict:
        return asdict(self)


def _decision_ms(run: RunDir) -> float | None:
    """The decision period the run's search was budgeted for; a run fine-tuned with `train --init RUN2`
    trains RUN2's network, so without a search of its own it takes RUN2's."""
    seen = set()
    while run.root.resolve() not in seen:
        seen.add(run.root.resolve())
        if run.search_result.is_file():
            return read_json(run.search_result, "search_result").get("decision_ms")
        init = (read_json(run.train_metrics, "train_metrics").get("settings") or {}).get("init") \
            if run.train_metrics.is_file() else None
        if not init or not Path(init).is_dir():
            return None
        run = RunDir.of(init)
    return None


def decision_period(run: RunDir) -> float:
    """The milliseconds between two decisions of the run's model: the period its search was budgeted for
    (search/result.json "decision_ms", or that of the run `train --init` started from), else
    costmodel.estimate.DEFAULT_DECISION_MS. Export's recogniser runs the model at it, mcu-eval prices it."""
    from ..costmodel.estimate import DEFAULT_DECISION_MS
    return _decision_ms(run) or DEFAULT_DECISION_MS


def default_settings(run: RunDir, config: str | MfccConfig) -> RecognizerSettings:
    """The defaults, with the model run once per decision period (`decision_period`)."""
    from ..costmodel.estimate import frames_per_decision
    config = MfccConfig.parse(config) if isinstance(config, str) else config
    return RecognizerSettings(inference_every_hops=frames_per_decision(config, decision_period(run)))


def score_exp_table(output_scale: float, output_zero_point: int) -> np.ndarray:
    """uint16 Q15 exp(-scale * d) for int8 distances d to the largest output, cut where it rounds to 0;
    empty for a softmax output (which kws_recognizer_scores copies)."""
    if (float(output_scale), int(output_zero_point)) == SOFTMAX_QUANT:
        return np.zeros(0, np.uint16)
    table = np.round(32768.0 * np.exp(-float(output_scale) * np.arange(256)))
    return table[table > 0].astype(np.uint16)


def read_settings(path: str | Path) -> RecognizerSettings:
    obj = read_json(path, KIND)
    try:
        return RecognizerSettings(**{k: int(obj[k]) for k in RecognizerSettings.__dataclass_fields__})
    except (KeyError, TypeError, ValueError) as exc:
        raise UserError(f"{path} is not a valid recogniser settings file ({exc}): re-run dadarts export.") from None


def _header(settings: RecognizerSettings, hop: int, exp: np.ndarray, run_name: str, origin: str) -> str:
    rows = [", ".join(str(int(v)) for v in exp[i:i + 12]) for i in range(0, len(exp), 12)]
    table = "{ \\\n    " + ", \\\n    ".join(rows) + " }" if len(exp) else "{ 0 }"
    safe = lambda s: str(s).replace("*/", "* /").replace("\n", " ")  # noqa: E731
    return f"""// Recogniser settings. Generated by `dadarts {origin}` for run '{safe(run_name)}'. Do not edit: re-run
// `dadarts calibrate RUN --max-fa-per-hour X` (or the export, for the defaults).
#ifndef KWS_RECOGNIZER_SETTINGS_H
#define KWS_RECOGNIZER_SETTINGS_H

#define KWS_AVERAGE_WINDOW_MS {settings.average_window_ms}
#define KWS_DETECTION_THRESHOLD {settings.detection_threshold}
#define KWS_SUPPRESSION_MS {settings.suppression_ms}
#define KWS_MINIMUM_COUNT {settings.minimum_count}
// Run the model once the feature window is full, then every this many hops ({hop} samples each).
#define KWS_INFERENCE_EVERY_HOPS {settings.inference_every_hops}
// Results that hold a whole averaging window at that rate (times and scores memory of the recogniser).
#define KWS_RECOGNIZER_HISTORY {settings.history(hop)}

// kws_recognizer_scores: Q15 exp(-output_scale * d); length 0 means the output is a softmax already.
#define KWS_SCORE_EXP_LEN {len(exp)}
#define KWS_SCORE_EXP_Q15 {table}

#endif  // KWS_RECOGNIZER_SETTINGS_H
"""


def write_recognizer_files(export_dir: str | Path, firmware_dir: str | Path, settings: RecognizerSettings,
                           config: str | MfccConfig, output_scale: float, output_zero_point: int, run_name: str,
                           origin: str = "export", provenance: dict | None = None) -> list[Path]:
    """Write export_dir/recognizer.json and firmware_dir/recognizer_settings.h atomically."""
    hop = (MfccConfig.parse(config) if isinstance(config, str) else config).hop
    exp = score_exp_table(output_scale, output_zero_point)
    json_path, header_path = Path(export_dir) / JSON_NAME, Path(firmware_dir) / HEADER_NAME
    write_text_atomic(header_path, _header(settings, hop, exp, run_name, origin))
    write_json_atomic(json_path, {**settings.to_dict(), "history": settings.history(hop), "hop_samples": int(hop),
                                  "output_scale": float(output_scale), "output_zero_point": int(output_zero_point),
                                  "written_by": origin, "provenance": provenance or {}}, kind=KIND)
    return [json_path, header_path]
