"""What a run directory holds, read defensively for the report.

The report must work on a run that stopped after any stage, and on artifacts of older or newer
dadarts versions: a missing file is simply absent, and an unreadable or unexpected one becomes a
note on the page (what could not be read and why) instead of an error. Only the report reads
RUN/stream/metrics.json, RUN/firmware/bench.json and RUN/firmware/check.json, so their paths are spelled here.
"""
from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path

from ..rundir import SCHEMA_VERSION, RunDir


@dataclass
class RunArtifacts:
    """The artifacts of one run; None where a stage has not run (or its file could not be read)."""
    run: RunDir
    run_info: dict | None = None
    search_result: dict | None = None
    search_history: list[dict] | None = None
    architecture: dict | None = None        # α, β of the search checkpoint (numpy arrays), epoch, space
    train_metrics: dict | None = None
    train_history: list[dict] | None = None
    export_report: dict | None = None
    firmware_bench: dict | None = None
    firmware_check: dict | None = None      # `dadarts firmware check`: the model on the emulated chip
    estimates: dict | None = None
    stream_metrics: dict | None = None
    notes: list[str] = field(default_factory=list)   # what was found but could not be read

    @property
    def name(self) -> str:
        return self.run.root.resolve().name


def stream_metrics_path(run: RunDir) -> Path:
    return run.root / "stream" / "metrics.json"


def stream_calibration_path(run: RunDir) -> Path:
    return run.root / "stream" / "calibration.json"


def firmware_bench_path(run: RunDir) -> Path:
    return run.root / "firmware" / "bench.json"


def firmware_check_path(run: RunDir) -> Path:
    return run.root / "firmware" / "check.json"


def _json(path: Path, kind: str, notes: list[str]) -> dict | None:
    if not path.is_file():
        return None
    try:
        obj = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        notes.append(f"{path} is not readable JSON ({exc}); its section is left out.")
        return None
    if not isinstance(obj, dict) or obj.get("kind") != kind:
        notes.append(f"{path} is not a '{kind}' artifact; its section is left out.")
        return None
    if obj.get("schema") != SCHEMA_VERSION:
        notes.append(f"{path} has schema {obj.get('schema')}, this report reads {SCHEMA_VERSION}; shown as far as it matches.")
    return obj


def _csv(path: Path, notes: list[str]) -> list[dict] | None:
    """Rows of a history CSV with numbers converted; None when absent, empty or unreadable."""
    if not path.is_file():
        return None
    try:
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
    except (OSError, csv.Error, UnicodeDecodeError) as exc:
        notes.append(f"{path} is not a readable CSV ({exc}); its curves are left out.")
        return None
    return [{k: _number_or_text(v) for k, v in row.items()} for row in rows] or None


def _number_or_text(value):
    if value is None or value == "":
        return None
    try:
        return float(value)
    except ValueError:
        return value


def _architecture(path: Path, notes: list[str]) -> dict | None:
    """softmax inputs of the search: α (edges x primitives) and β (edges) per cell type, and γ."""
    if not path.is_file():
        return None
    import torch
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
        if (ckpt.get("settings") or {}).get("space") == "chain":
            return None          # no cells: the chain's choices are listed with the result
        state = ckpt["model"]
        arch = {key: state[f"net.{key}"].float().numpy()
                for key in ("alphas_normal", "alphas_reduce", "betas_normal", "betas_reduce")}
    except Exception as exc:  # noqa: BLE001 - any unreadable checkpoint only costs the α figures
        notes.append(f"{path} could not be read for α and β ({type(exc).__name__}: {exc}); "
                     "the α heat maps are left out.")
        return None
    arch["epoch"] = ckpt.get("epoch")
    arch["space"] = (ckpt.get("settings") or {}).get("space", "darts")   # which primitives α's columns are
    return arch


def load(path) -> RunArtifacts:
    """Every artifact the report can show, from the run directory `path`."""
    run = RunDir.of(path)
    notes: list[str] = []
    return RunArtifacts(
        run=run,
        run_info=_json(run.run_json, "run", notes),
        search_result=_json(run.search_result, "search_result", notes),
        search_history=_csv(run.search_history, notes),
        architecture=_architecture(run.search_checkpoint, notes),
        train_metrics=_json(run.train_metrics, "train_metrics", notes),
        train_history=_csv(run.train_history, notes),
        export_report=_json(run.export_report, "export_report", notes),
        firmware_bench=_json(firmware_bench_path(run), "firmware_bench", notes),
        firmware_check=_json(firmware_check_path(run), "firmware_check", notes),
        estimates=_json(run.estimates, "mcu_estimates", notes),
        stream_metrics=_json(stream_metrics_path(run), "stream_metrics", notes),
        notes=notes,
    )
