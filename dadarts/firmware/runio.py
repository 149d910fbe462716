"""What the firmware commands read from a run directory: generated C, front-end statistics, the int8
model's input quantisation, and the run's test clips."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import UserError
from ..frontend import ctables
from ..frontend.artifact import read_frontend
from ..frontend.fixed import FixedTables
from ..rundir import RunDir, read_json

EXPORT_HINT = "run `dadarts export RUN --int8` first"


@dataclass
class FirmwareInputs:
    run: RunDir
    tables_dir: Path                 # RUN/export/firmware
    tables: FixedTables              # the Python twin of the generated frontend_tables.c
    mean: np.ndarray
    std: np.ndarray
    input_scale: float
    input_zero_point: int

    @property
    def config(self):
        return self.tables.config

    @property
    def streaming(self) -> bool:
        """export/firmware holds a step model's build (`dadarts export --int8 --streaming`)."""
        return step_build(self.tables_dir)

    @property
    def firmware_tflite(self) -> Path:
        """The .tflite export/firmware was built from: the step model's for a streaming export."""
        from ..export.step_export import step_paths
        return step_paths(self.run)["int8"] if self.streaming else self.run.tflite_int8

    def refuse_streaming(self, what: str) -> None:
        """A UserError when export/firmware is a step build, which `what` does not run."""
        if self.streaming:
            raise UserError(f"{self.tables_dir} holds a step model's build (dadarts export --streaming), which {what} "
                            f"does not run: use `dadarts firmware check {self.run.root} --streaming`, or re-export "
                            "without --streaming.")


def model_input_quantisation(tflite_path: Path) -> tuple[float, int, tuple[int, ...]]:
    """(scale, zero point, shape) of the int8 model's input tensor."""
    from ai_edge_litert.interpreter import Interpreter
    try:
        detail = Interpreter(model_path=str(tflite_path)).get_input_details()[0]
    except (ValueError, RuntimeError) as exc:
        raise UserError(f"{tflite_path} is not a readable TFLite model ({exc}): {EXPORT_HINT}.") from None
    scale, zp = detail["quantization"]
    if detail["dtype"] != np.int8 or not scale:
        raise UserError(f"{tflite_path} does not take int8 input: {EXPORT_HINT}.")
    return float(scale), int(zp), tuple(int(v) for v in detail["shape"])


def step_build(tables_dir: Path) -> bool:
    """Whether a run's export/firmware holds a step model's build (`dadarts export --int8 --streaming`)."""
    header = tables_dir / "model_settings.h"
    return header.is_file() and _header_define(header, "KWS_STREAMING") == "1"


def _header_define(header: Path, name: str) -> str | None:
    m = re.search(rf"^#define {name} (.+)$", header.read_text(), re.MULTILINE)
    return m.group(1).strip() if m else None


def load_inputs(run_path) -> FirmwareInputs:
    """Check that the run has everything the firmware needs and rebuild the front-end tables in Python."""
    run = RunDir.of(run_path)
    tables_dir = run.firmware
    run.require(run.frontend, run.tflite_int8, tables_dir / ctables.SOURCE_NAME, tables_dir / ctables.HEADER_NAME,
                hint=EXPORT_HINT + " (the firmware is built from its export/firmware folder).")
    fe = read_frontend(run.frontend)
    scale, zp, shape = model_input_quantisation(run.tflite_int8)
    if tuple(shape[1:3]) != fe.config.shape:
        raise UserError(f"The int8 model takes {tuple(shape)} but the run's front-end {fe.config} makes "
                        f"{fe.config.shape}: re-run the export for this run.")
    header = tables_dir / ctables.HEADER_NAME
    config, c_zp = _header_define(header, "KWS_FRONTEND_CONFIG"), _header_define(header, "KWS_FRONTEND_INPUT_ZERO_POINT")
    if config != f'"{fe.config.name}"' or c_zp != str(zp):
        raise UserError(f"{header} was generated for front-end {config} / zero point {c_zp}, the run has "
                        f"{fe.config} / {zp}: re-run the export for this run.")
    frontend = {"config": fe.config.name, "frontend_version": fe.frontend_version,
                "mean": fe.mean.tolist(), "std": fe.std.tolist()}
    tables = ctables.tables_from_frontend(frontend, scale, zp)
    return FirmwareInputs(run, tables_dir, tables, fe.mean.astype(np.float64), fe.std.astype(np.float64), scale, zp)


def run_dataset_args(run: RunDir) -> dict:
    """The dataset and task the run was trained on, as recorded in run.json (None where unknown)."""
    out = {"data": None, "task": None, "names": None}
    if run.run_json.exists():
        stages = read_json(run.run_json, "run").get("stages", {})
        for stage in ("train", "search"):
            for key in out:
                if out[key] is None and stages.get(stage, {}).get(key) is not None:
                    out[key] = stages[stage][key]
    return out


def test_clips(run: RunDir, data=None, task=None, limit: int | None = None, samples: int = 16000):
    """(pcm (n, samples) int16, labels (n,) int64, label names) of the run's test split, first `limit`
    clips, each padded or trimmed to `samples` (the run's clip)."""
    from ..data.datasets import load_dataset
    recorded = run_dataset_args(run)
    data = data or recorded["data"]
    task = task or recorded["task"] or "gsc12"
    names = recorded["names"]
    if isinstance(names, str):
        names = tuple(n.strip() for n in names.split(",") if n.strip())
    ds = load_dataset(data, task, names=tuple(names) if names else None, quiet=True)
    clips = ds.splits["testing"]
    if not clips:
        raise UserError(f"The dataset {ds.root} has an empty test split: give --data with testing_list.txt.")
    if limit:
        # Every k-th clip keeps all classes represented when the split is sorted by word.
        step = max(1, len(clips) // limit)
        clips = clips[::step][:limit]
    pcm = np.stack([np.asarray(ds.load_audio(c, samples), np.int16) for c in clips])
    labels = np.array([c.label for c in clips], np.int64)
    return pcm, labels, list(ds.labels)
