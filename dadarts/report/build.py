"""Assemble the report of one run: an overview, then one section per stage that has run, in the
order of the pipeline, written atomically to RUN/report.html."""
from __future__ import annotations

from pathlib import Path

from ..errors import UserError
from ..rundir import RunDir, write_text_atomic
from . import compare_section, export_section, mcu_section, search_section, stream_section, train_section
from .artifacts import RunArtifacts, load
from .page import Section, Table, render

STAGE_ORDER = ("search", "train", "export", "firmware_build", "firmware_bench", "mcu-eval", "stream", "calibrate")


def overview(a: RunArtifacts, shown: list[Section]) -> Section:
    s = Section("overview", "Run")
    stages = (a.run_info or {}).get("stages") or {}
    order = sorted(stages, key=lambda n: STAGE_ORDER.index(n) if n in STAGE_ORDER else len(STAGE_ORDER))
    rows = [[name, str(stages[name].get("command", "")) if isinstance(stages[name], dict) else ""] for name in order]
    if rows:
        s.items.append(Table("stages", "Stages that ran (run.json)", ["stage", "command"], rows))
    versions = next((st.get("versions") for st in reversed(list(stages.values()))
                     if isinstance(st, dict) and isinstance(st.get("versions"), dict)), None)
    if versions:
        s.summary = "Versions of the last stage: " + ", ".join(f"{k} {v}" for k, v in versions.items()
                                                               if k != "platform") + "."
    missing = [title for key, title in (("search", "search"), ("train", "training"), ("export", "export"),
                                        ("mcu", "MCU estimates")) if key not in {x.key for x in shown}]
    if missing:
        s.notes.append("Not in this run yet: " + ", ".join(missing) + " (each appears once its stage has run).")
    s.notes += a.notes
    return s


def _drawn(module, a: RunArtifacts) -> Section | None:
    """One stage's section; an artifact shaped unlike this dadarts expects costs that section only."""
    try:
        return module.section(a)
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        stage = module.__name__.rsplit(".", 1)[-1].removesuffix("_section")
        a.notes.append(f"The {stage} section could not be drawn from this run's artifacts "
                       f"({type(exc).__name__}: {exc}); re-run that stage with this dadarts to see it.")
        return None


def build(run_path, compare: list[str] | None = None, target: str | None = None) -> tuple[str, list[Section]]:
    """The page's HTML and its sections (overview first) for the run directory `run_path`."""
    run = RunDir.of(run_path)
    if not run.root.is_dir():
        raise UserError(f"Run directory {run.root} does not exist: give the --run directory of a search or train.")
    a = load(run.root)
    # The comparison first: a wrong --compare or --target is reported before anything is drawn.
    comparison = compare_section.section(a, compare or [], target)
    sections = [sec for sec in (_drawn(search_section, a), _drawn(train_section, a), _drawn(export_section, a),
                                _drawn(mcu_section, a), comparison, _drawn(stream_section, a)) if sec is not None]
    if not sections and not a.run_info and not a.notes:
        raise UserError(f"{run.root} holds no dadarts artifacts (no run.json, search/, train/, export/ or mcu/): "
                        "give a run directory a stage has written.")
    sections.insert(0, overview(a, sections))
    title = f"dadarts report: {a.name}"
    subtitle = str(run.root.resolve())
    return render(title, subtitle, sections), sections


def write_report(run_path, out: Path | None = None, compare: list[str] | None = None,
                 target: str | None = None) -> tuple[Path, list[Section]]:
    out = Path(out) if out else RunDir.of(run_path).root / "report.html"
    if out.is_dir():   # --out FOLDER: the page goes inside it
        out = out / "report.html"
    page, sections = build(run_path, compare, target)
    write_text_atomic(out, page)
    return out, sections
