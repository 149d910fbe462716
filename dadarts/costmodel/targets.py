"""Cortex-M targets as data: the board presets in targets.json, a user's own file, and selection by name.

A target is what the estimator needs to know about a board: its core (which sets the cost model),
clock, on-chip SRAM and flash, and which CMSIS-NN kernel family its core can run (DSP extension for
the SIMD paths, Helium/MVE on M55). Keeping this in JSON lets a user add a board without code.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path

from ..errors import UserError

CORES = ("M0+", "M4F", "M7", "M33", "M55")
KERNELS = ("cmsis-nn", "reference")


@dataclass(frozen=True)
class Target:
    name: str
    core: str
    clock_mhz: float
    sram_kb: float
    flash_kb: float
    dsp: bool
    mve: bool
    kernels: str = "cmsis-nn"
    mcu: str = ""
    source: str = ""

    @property
    def sram_bytes(self) -> int:
        return int(self.sram_kb * 1024)

    @property
    def flash_bytes(self) -> int:
        return int(self.flash_kb * 1024)

    def with_kernels(self, kernels: str | None) -> "Target":
        if kernels is None:
            return self
        return Target(**{**asdict(self), "kernels": kernels})

    def to_dict(self) -> dict:
        return asdict(self)


def _target_from_dict(name: str, d: dict, origin: str) -> Target:
    if not isinstance(d, dict):
        raise UserError(f"Target '{name}' in {origin} is not an object: give core, clock_mhz, sram_kb, flash_kb.")
    missing = [k for k in ("core", "clock_mhz", "sram_kb", "flash_kb") if k not in d]
    if missing:
        raise UserError(f"Target '{name}' in {origin} lacks {', '.join(missing)}: add them (see docs/mcu_eval.md).")
    core = str(d["core"])
    if core not in CORES:
        raise UserError(f"Target '{name}' in {origin} has core '{core}': use one of {', '.join(CORES)}.")
    kernels = str(d.get("kernels", "cmsis-nn"))
    if kernels not in KERNELS:
        raise UserError(f"Target '{name}' in {origin} has kernels '{kernels}': use one of {', '.join(KERNELS)}.")
    try:
        clock, sram, flash = float(d["clock_mhz"]), float(d["sram_kb"]), float(d["flash_kb"])
    except (TypeError, ValueError):
        raise UserError(f"Target '{name}' in {origin}: clock_mhz, sram_kb and flash_kb must be numbers.") from None
    if min(clock, sram, flash) <= 0:
        raise UserError(f"Target '{name}' in {origin}: clock_mhz, sram_kb and flash_kb must be positive.")
    # Cores whose architecture fixes the extensions: an M0+ has neither, an M55 always has the DSP ops.
    dsp = bool(d.get("dsp", core in ("M4F", "M7", "M33", "M55")))
    mve = bool(d.get("mve", core == "M55"))
    if core == "M0+" and (dsp or mve):
        raise UserError(f"Target '{name}' in {origin}: an M0+ core has no DSP or MVE extension; set both false.")
    if mve and core != "M55":
        raise UserError(f"Target '{name}' in {origin}: only the M55 core has MVE (Helium); set mve false.")
    return Target(name=name, core=core, clock_mhz=clock, sram_kb=sram, flash_kb=flash, dsp=dsp, mve=mve,
                  kernels=kernels, mcu=str(d.get("mcu", "")), source=str(d.get("source", "")))


def _parse_targets(obj, origin: str) -> dict[str, Target]:
    table = obj.get("targets") if isinstance(obj, dict) else None
    if not isinstance(table, dict) or not table:
        raise UserError(f"{origin} has no 'targets' object: write {{\"targets\": {{\"NAME\": {{...}}}}}}.")
    return {name: _target_from_dict(name, d, origin) for name, d in table.items()}


def preset_targets() -> dict[str, Target]:
    """The shipped board presets, by name."""
    text = resources.files(__package__).joinpath("targets.json").read_text()
    return _parse_targets(json.loads(text), "the built-in targets.json")


def load_targets_file(path: str | Path) -> dict[str, Target]:
    path = Path(path)
    if not path.is_file():
        raise UserError(f"Targets file {path} does not exist: give the path of a JSON file like targets.json.")
    try:
        obj = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise UserError(f"Targets file {path} is not readable JSON ({exc}): fix it.") from None
    return _parse_targets(obj, str(path))


def get_target(name: str) -> Target:
    """A preset by name (case-insensitive)."""
    return select_targets([name])[0]


def select_targets(names: list[str] | None = None, targets_file: str | Path | None = None,
                   kernels: str | None = None) -> list[Target]:
    """Targets chosen by name from the presets plus an optional user file (the file wins on a clash).

    No names: every target of the user file if one is given, else every preset.
    """
    pool = preset_targets()
    user = load_targets_file(targets_file) if targets_file else {}
    pool.update(user)
    if not names:
        chosen = list(user.values()) if user else list(pool.values())
    else:
        by_lower = {k.lower(): v for k, v in pool.items()}
        chosen = []
        for n in names:
            t = by_lower.get(n.lower())
            if t is None:
                raise UserError(f"Unknown target '{n}': choose from {', '.join(pool)} or add it with --targets-file.")
            chosen.append(t)
    if kernels is not None and kernels not in KERNELS:
        raise UserError(f"Unknown kernel library '{kernels}': use one of {', '.join(KERNELS)}.")
    return [t.with_kernels(kernels) for t in chosen]
