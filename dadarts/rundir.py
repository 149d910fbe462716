"""The run directory: paths of every stage's artifacts, atomic writes and versioned JSON.

Every stage reads the artifacts of the stage before it from one run directory and writes its own
next to them (see DESIGN.md). Writes go to a temporary file in the same folder and are renamed into
place, so an interrupted stage never leaves a half-written artifact behind.
"""
from __future__ import annotations

import contextlib
import csv
import json
import os
import platform
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .errors import UserError

SCHEMA_VERSION = 1


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike):
    """Yield a temporary path next to `path`; on success it is renamed over `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        # mkstemp creates the file 0600; an artifact gets the mode a plain open() would give it.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_bytes_atomic(path, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_text_atomic(path, text: str) -> None:
    write_bytes_atomic(path, text.encode("utf-8"))


def write_json_atomic(path, obj: dict, kind: str) -> None:
    """Write a JSON artifact with its `schema` and `kind` fields."""
    payload = {"schema": SCHEMA_VERSION, "kind": kind, **obj}
    write_text_atomic(path, json.dumps(payload, indent=2, sort_keys=False) + "\n")


def read_json(path, kind: str) -> dict:
    """Read a JSON artifact written by `write_json_atomic`, checking kind and schema."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path} does not exist: run the stage that produces it first.")
    try:
        obj = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise UserError(f"{path} is not readable JSON ({exc}): re-run the stage that produces it.") from None
    if obj.get("kind") != kind:
        raise UserError(f"{path} is a '{obj.get('kind')}' artifact, not '{kind}': check the run directory you gave.")
    if obj.get("schema") != SCHEMA_VERSION:
        raise UserError(f"{path} has schema {obj.get('schema')}, this dadarts reads {SCHEMA_VERSION}: re-run that stage.")
    return obj


def write_csv_atomic(path, rows: list[dict]) -> None:
    """Write rows (dicts sharing keys) as CSV atomically."""
    with atomic_path(path) as tmp:
        with open(tmp, "w", newline="") as f:
            if rows:
                writer = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
                writer.writeheader()
                writer.writerows(rows)


@dataclass(frozen=True)
class RunDir:
    """Paths of the artifacts in `runs/<name>/` (DESIGN.md, run directory)."""
    root: Path

    @classmethod
    def of(cls, path: str | os.PathLike) -> "RunDir":
        return cls(Path(path))

    def require(self, *paths: Path, hint: str) -> None:
        """Raise a UserError naming the first missing artifact."""
        if not self.root.is_dir():
            raise UserError(f"Run directory {self.root} does not exist: {hint}")
        for p in paths:
            if not p.exists():
                raise UserError(f"{p} is missing, so {self.root} is not ready for this stage: {hint}")

    run_json = property(lambda self: self.root / "run.json")
    search = property(lambda self: self.root / "search")
    search_result = property(lambda self: self.root / "search" / "result.json")
    search_history = property(lambda self: self.root / "search" / "history.csv")
    search_checkpoint = property(lambda self: self.root / "search" / "checkpoint.pt")
    train = property(lambda self: self.root / "train")
    model = property(lambda self: self.root / "train" / "model.pt")
    train_metrics = property(lambda self: self.root / "train" / "metrics.json")
    train_history = property(lambda self: self.root / "train" / "history.csv")
    train_checkpoint = property(lambda self: self.root / "train" / "checkpoint.pt")
    frontend = property(lambda self: self.root / "train" / "frontend.json")
    export = property(lambda self: self.root / "export")
    onnx = property(lambda self: self.root / "export" / "model.onnx")
    tflite_float = property(lambda self: self.root / "export" / "model_float.tflite")
    tflite_int8 = property(lambda self: self.root / "export" / "model_int8.tflite")
    firmware = property(lambda self: self.root / "export" / "firmware")
    export_report = property(lambda self: self.root / "export" / "report.json")
    mcu = property(lambda self: self.root / "mcu")
    estimates = property(lambda self: self.root / "mcu" / "estimates.json")


def versions() -> dict:
    """Versions of what produced an artifact."""
    from . import __version__
    out = {"dadarts": __version__, "python": platform.python_version(), "platform": platform.platform()}
    for mod in ("torch", "numpy", "onnx", "onnxruntime", "tensorflow"):
        m = sys.modules.get(mod)
        if m is not None:
            out[mod] = getattr(m, "__version__", "?")
    return out


def record_run(run: RunDir, stage: str, argv: list[str], dataset_fingerprint: str | None = None, **extra) -> None:
    """Add this stage's invocation to run.json (command, versions, dataset fingerprint)."""
    info = {}
    if run.run_json.exists():
        info = read_json(run.run_json, "run")
        info.pop("schema", None)
        info.pop("kind", None)
    stages = info.setdefault("stages", {})
    stages[stage] = {"command": " ".join(["dadarts", *argv]), "versions": versions(), **extra}
    if dataset_fingerprint:
        info["dataset_fingerprint"] = dataset_fingerprint
    write_json_atomic(run.run_json, info, kind="run")
