"""The streaming section: false accepts per hour against miss rate on long recordings
(RUN/stream/metrics.json, written by `dadarts stream`), with the recogniser's operating point, the
keywords one by one, and the calibration sweep (RUN/stream/calibration.json, `dadarts calibrate`)."""
from __future__ import annotations

from .artifacts import RunArtifacts, stream_calibration_path
from .page import Figure, Section, Table, png_of, pyplot

# What `dadarts stream` writes first; the other names are read too, so that a renamed key costs nothing.
FA_KEYS = ("false_accepts_per_hour", "fa_per_hour", "false_alarms_per_hour")
MISS_KEYS = ("false_reject_rate", "miss_rate", "frr")


def _first(d: dict, keys) -> float | None:
    for k in keys:
        if isinstance(d.get(k), (int, float)) and not isinstance(d.get(k), bool):
            return float(d[k])
    return None


def curve_points(curve) -> list[tuple[float, float]]:
    """(false accepts per hour, miss rate) pairs of a sweep: a list of points or a dict of lists."""
    if isinstance(curve, dict):
        fa = next((curve[k] for k in FA_KEYS if isinstance(curve.get(k), list)), None)
        miss = next((curve[k] for k in MISS_KEYS if isinstance(curve.get(k), list)), None)
        if fa is None or miss is None:
            return []
        curve = [{FA_KEYS[0]: f, MISS_KEYS[0]: m} for f, m in zip(fa, miss)]
    if not isinstance(curve, list):
        return []
    points = [(_first(p, FA_KEYS), _first(p, MISS_KEYS)) for p in curve if isinstance(p, dict)]
    return sorted((f, m) for f, m in points if f is not None and m is not None)


def curves(m: dict) -> dict[str, list[tuple[float, float]]]:
    """Every sweep in the metrics: the overall one and one per keyword, where present."""
    out = {}
    overall = curve_points(m.get("curve"))
    if overall:
        out["all keywords"] = overall
    for name, d in (m.get("per_keyword") or {}).items():
        pts = curve_points(d.get("curve")) if isinstance(d, dict) else []
        if pts:
            out[name] = pts
    return out


def operating_point(m: dict) -> dict | None:
    for key in ("operating_point", "chosen"):
        if isinstance(m.get(key), dict) and _first(m[key], FA_KEYS) is not None and _first(m[key], MISS_KEYS) is not None:
            return m[key]
    return None


def stream_figure(sweeps: dict[str, list[tuple[float, float]]], point: dict | None,
                  calibration: dict | None) -> Figure:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 4.4))
    for name, pts in sweeps.items():
        ax.plot([p[0] for p in pts], [100 * p[1] for p in pts], marker="o", ms=2.5, label=name)
    if point is not None:
        ax.scatter([_first(point, FA_KEYS)], [100 * _first(point, MISS_KEYS)], marker="*", s=180, color="#c0392b",
                   zorder=4, label="recogniser settings")
    if calibration is not None:
        pts = curve_points(calibration.get("curve"))
        if pts:
            ax.plot([p[0] for p in pts], [100 * p[1] for p in pts], ls="--", color="#777777",
                    label="calibration stream")
        target = calibration.get("target_fa_per_hour")
        if isinstance(target, (int, float)):
            ax.axvline(target, color="#c0392b", ls=":", lw=1.2, label=f"calibration target {target:g} FA/h")
    ax.set_xscale("symlog", linthresh=0.1)   # linear near zero false accepts, logarithmic above
    ax.set_xlim(left=0)
    ax.set_xlabel("false accepts per hour")
    ax.set_ylabel("miss rate (%)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title("Streaming: false accepts against misses", fontsize=10)
    return Figure("stream", "False accepts per hour against miss rate", png=png_of(fig),
                  caption="each point one detection threshold on the long recordings, the other recogniser "
                          "settings fixed; the star is the setting in use.")


def _value(v) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def keyword_table(per_keyword: dict) -> Table | None:
    columns = [("events", "events"), ("misses", "misses"), ("false_reject_rate", "miss rate"),
               ("false_accepts", "false accepts"), ("false_accepts_per_hour", "FA per hour"),
               ("frr_at_1_fa_per_hour", "miss rate at 1 FA/h")]
    rows = [[word] + [_value(d.get(k, "-")) for k, _ in columns] for word, d in per_keyword.items()
            if isinstance(d, dict)]
    return Table("stream_keywords", "Per keyword", ["keyword"] + [title for _, title in columns], rows) if rows else None


def point_table(point: dict, settings: dict | None) -> Table:
    rows = [[k.replace("_", " "), _value(v)] for k, v in point.items() if isinstance(v, (int, float, str))]
    rows += [[f"setting: {k.replace('_', ' ')}", _value(v)] for k, v in (settings or {}).items()
             if isinstance(v, (int, float, str))]
    return Table("stream_point", "Operating point", ["", "value"], rows)


def _calibration(a: RunArtifacts) -> dict | None:
    """stream/calibration.json when `dadarts calibrate` ran (read as loosely as the metrics)."""
    import json
    path = stream_calibration_path(a.run)
    try:
        obj = json.loads(path.read_text()) if path.is_file() else None
    except (OSError, ValueError):
        a.notes.append(f"{path} is not readable JSON; the calibration sweep is not drawn.")
        return None
    return obj if isinstance(obj, dict) and obj.get("kind") == "stream_calibration" else None


def section(a: RunArtifacts) -> Section | None:
    m = a.stream_metrics
    if m is None:
        return None
    sweeps, point = curves(m), operating_point(m)
    s = Section("stream", "Streaming")
    hours = m.get("hours")
    if point is not None:
        s.summary = (f"{_first(point, FA_KEYS):.2f} false accepts per hour, {100 * _first(point, MISS_KEYS):.1f} % "
                     "misses" + (f" over {hours:.2f} h of audio." if isinstance(hours, (int, float)) else "."))
    calibration = _calibration(a)
    if sweeps or point is not None:
        s.items.append(stream_figure(sweeps, point, calibration))
    if point is not None:
        s.items.append(point_table(point, m.get("settings") if isinstance(m.get("settings"), dict) else None))
    keywords = keyword_table(m.get("per_keyword") or {})
    if keywords is not None:
        s.items.append(keywords)
    if not s.items:
        s.notes.append(f"{a.run.root / 'stream' / 'metrics.json'} has no false-accept / miss figures this "
                       "report knows how to draw.")
    return s
