"""The MCU section, per target: flash and RAM as bars against the board's capacity, latency per
decision against the hop, and where the time goes layer by layer (RUN/mcu/estimates.json)."""
from __future__ import annotations

import numpy as np

from .artifacts import RunArtifacts
from .page import Details, Figure, Section, Table, png_of, pyplot

SLOWEST_LAYERS = 12
KB = 1024.0


def fmt_ms(v: float) -> str:
    """Milliseconds as a person reads them: 2,404 / 86.3 / 0.58."""
    return f"{v:,.0f}" if v >= 100 else f"{v:.1f}" if v >= 10 else f"{v:.2g}" if v < 0.1 else f"{v:.2f}"


def _targets(est: dict) -> dict[str, dict]:
    """The targets whose entry has the figures the plots need (others are listed in a note)."""
    need = ("latency_ms", "flash_bytes", "ram_bytes", "flash_capacity_bytes", "ram_capacity_bytes")
    return {name: t for name, t in (est.get("targets") or {}).items()
            if isinstance(t, dict) and all(isinstance(t.get(k), (int, float)) for k in need)}


def _stack_terms(targets: dict[str, dict], key: str) -> tuple[list[str], np.ndarray]:
    """Terms (e.g. flash_terms) as a (terms x targets) KB array; terms under 4 % everywhere merged as 'other'."""
    names = []
    for t in targets.values():
        names += [n for n in (t.get(key) or {}) if n not in names]
    values = np.array([[float((t.get(key) or {}).get(n, 0)) / KB for t in targets.values()] for n in names])
    if values.size == 0:
        return [], values
    share = values / np.maximum(values.sum(axis=0, keepdims=True), 1e-9)
    big = share.max(axis=1) >= 0.04
    if big.all():
        return names, values
    kept = [n for n, b in zip(names, big) if b]
    return kept + ["other"], np.vstack([values[big], values[~big].sum(axis=0, keepdims=True)])


def memory_figure(targets: dict[str, dict]) -> Figure:
    plt = pyplot()
    names = list(targets)
    y = np.arange(len(names))
    fig, axes = plt.subplots(1, 2, figsize=(12, 1.2 + 0.45 * len(names)), sharey=True)
    for ax, what in zip(axes, ("flash", "ram")):
        terms, values = _stack_terms(targets, f"{what}_terms")
        if not terms:   # no breakdown: one bar of the total
            terms, values = [what], np.array([[t[f"{what}_bytes"] / KB for t in targets.values()]])
        left = np.zeros(len(names))
        for term, row in zip(terms, values):
            ax.barh(y, row, left=left, label=term.replace("_", " "))
            left += row
        capacity = [t[f"{what}_capacity_bytes"] / KB for t in targets.values()]
        ax.scatter(capacity, y, marker="|", s=400, color="#c0392b", lw=2.5, zorder=4, label="board capacity")
        for yi, (used, cap) in enumerate(zip(left, capacity)):
            ax.text(max(used, cap) * 1.02, yi, f"{100 * used / cap:.0f} %", va="center", fontsize=8,
                    color="#1d2330" if used <= cap else "#c0392b")
        ax.set_xlim(0, max(max(left), max(capacity)) * 1.18)
        ax.set_xlabel("KB")
        ax.set_title("Flash (weights + code)" if what == "flash" else "RAM (arena + front-end + app)", fontsize=10)
        ax.grid(True, axis="x", alpha=0.3)
        ax.legend(fontsize=7, loc="lower right")
    axes[0].set_yticks(y, names, fontsize=9)
    axes[0].invert_yaxis()
    return Figure("memory", "Flash and RAM against each board's capacity", png=png_of(fig),
                  caption="stacked by what uses the memory; the red tick is the board's capacity, the "
                          "percentage the share of it used.")


def latency_figure(targets: dict[str, dict]) -> Figure:
    plt = pyplot()
    names = list(targets)
    ms = np.array([t["latency_ms"] for t in targets.values()])
    fig, ax = plt.subplots(figsize=(8, 1.2 + 0.45 * len(names)))
    colours = ["#2e86c1" if t.get("fits") else "#aab7c4" for t in targets.values()]
    ax.barh(range(len(names)), ms, color=colours)
    # Real time: a decision every decision period (every estimate now carries one), else every hop (estimates
    # that mcu-eval wrote before 2026-12-07 for a run without a search).
    periods = {round(float(t.get("decision_ms") or t["hop_ms"]), 3) for t in targets.values()
               if isinstance(t.get("decision_ms") or t.get("hop_ms"), (int, float))}
    per_period = any(t.get("decision_ms") for t in targets.values())
    for period in periods:
        ax.axvline(period, color="#c0392b", ls="--", lw=1.2,
                   label=f"{period:g} ms: real time at one decision " + ("per period" if per_period else "per hop"))
    for i, v in enumerate(ms):
        ax.text(v * 1.05, i, f"{fmt_ms(v)} ms", va="center", fontsize=8)
    if ms.max() / max(ms.min(), 1e-9) > 20 or (periods and ms.max() / min(periods) > 20):
        ax.set_xscale("log")
    ax.set_yticks(range(len(names)), names, fontsize=9)
    ax.invert_yaxis()
    frames = {t.get("frames_per_decision", 1) for t in targets.values()}
    ax.set_xlabel("ms per decision (one Invoke + " + (f"{frames.pop()} MFCC frame(s))" if len(frames) == 1 else
                                                     "the MFCC frames of a decision period)"))
    ax.margins(x=0.15)
    ax.grid(True, axis="x", alpha=0.3)
    if periods:
        ax.legend(fontsize=8, loc="lower right")
    ax.set_title("Latency per decision", fontsize=10)
    return Figure("latency", "Latency per decision", png=png_of(fig),
                  caption="grey: the model does not fit that board's memory.")


def layers_figure(name: str, t: dict) -> Figure | None:
    layers = [layer for layer in t.get("layers") or [] if isinstance(layer.get("ms"), (int, float))]
    if not layers:
        return None
    total = sum(layer["ms"] for layer in layers)
    slow = sorted(layers, key=lambda layer: -layer["ms"])[:SLOWEST_LAYERS]
    rest = total - sum(layer["ms"] for layer in slow)
    labels = [f"#{layer.get('index')} {layer.get('op')} ({layer.get('path', '')})" for layer in slow]
    values = [layer["ms"] for layer in slow]
    if len(layers) > len(slow):
        labels.append(f"{len(layers) - len(slow)} other layers")
        values.append(rest)
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8, 1.0 + 0.32 * len(values)))
    ax.barh(range(len(values)), values, color=["#2e86c1"] * len(slow) + ["#aab7c4"] * (len(values) - len(slow)))
    for i, v in enumerate(values):
        ax.text(v, i, f" {fmt_ms(v)} ms ({100 * v / total:.0f} %)", va="center", fontsize=8)
    ax.set_yticks(range(len(values)), labels, fontsize=8)
    ax.invert_yaxis()
    ax.margins(x=0.25)
    ax.set_xlabel("ms per Invoke")
    ax.grid(True, axis="x", alpha=0.3)
    ax.set_title(f"{name}: slowest layers ({t.get('library_label', t.get('library', ''))})", fontsize=10)
    return Figure(f"layers_{name}", f"Per-layer time on {name}", png=png_of(fig),
                  caption=f"the {len(slow)} slowest of {len(layers)} layers; one Invoke takes {fmt_ms(total)} ms.")


def targets_table(targets: dict[str, dict]) -> Table:
    rows = []
    for name, t in targets.items():
        tg = t.get("target") or {}
        mhz = tg.get("clock_mhz")
        rows.append([name, str(tg.get("core", "")), f"{mhz:g}" if isinstance(mhz, (int, float)) else "-",
                     str(t.get("library_label", "")),
                     fmt_ms(t["latency_ms"]),
                     f"{t['flash_bytes'] / KB:.0f} / {t['flash_capacity_bytes'] / KB:.0f}",
                     f"{t['ram_bytes'] / KB:.0f} / {t['ram_capacity_bytes'] / KB:.0f}",
                     "fits" if t.get("fits") else "does not fit"])
    return Table("targets", "Estimates per board",
                 ["board", "core", "MHz", "kernels", "ms/decision", "flash KB used / board", "RAM KB used / board",
                  "verdict"], rows)


def check_table(c: dict) -> Table | None:
    """The model measured on the emulated chip (RUN/firmware/check.json) next to the estimate."""
    need = ("invoke_instructions", "invoke_instructions_predicted", "invoke_ms", "invoke_ms_predicted", "flash_bytes",
            "flash_bytes_estimate", "ram_bytes", "ram_bytes_estimate", "device_detections", "python_detections")
    if not all(k in c for k in need):
        return None
    same = sum(d in c["python_detections"] for d in c["device_detections"])
    total = max(len(c["python_detections"]), len(c["device_detections"]))
    rows = [["Invoke, instructions", f"{c['invoke_instructions']:,}", f"{c['invoke_instructions_predicted']:,}",
             f"{100 * (c['invoke_instructions'] / max(c['invoke_instructions_predicted'], 1) - 1):+.1f} %"],
            [f"Invoke at {c.get('clock_mhz', 0):g} MHz, ms", fmt_ms(c["invoke_ms"]), fmt_ms(c["invoke_ms_predicted"]),
             f"{c.get('cycles_per_instruction', 0):.3f} cycles per instruction"],
            ["flash, KB", f"{c['flash_bytes'] / KB:.1f}", f"{c['flash_bytes_estimate'] / KB:.1f}", "linker map"],
            ["RAM, KB", f"{c['ram_bytes'] / KB:.1f}", f"{c['ram_bytes_estimate'] / KB:.1f}", "linker map"],
            ["detections", f"{len(c['device_detections'])}", f"{len(c['python_detections'])} (Python)",
             f"same as Python: {same} of {total}"]]
    return Table("onchip", f"Measured on the emulated chip, linked as {c.get('board', '?')}",
                 ["", "emulated STM32F405", "estimate", ""], rows,
                 caption=f"`dadarts firmware check`: TFLite Micro {str(c.get('tflm_commit', ''))[:7]} + CMSIS-NN under QEMU "
                         f"netduinoplus2, {c.get('seconds', 0):.0f} s of the test stream; Python = fixed-point front-end, "
                         f"int8 model in the reference kernels, recogniser twin (RUN/firmware/check.json).")


def section(a: RunArtifacts) -> Section | None:
    est = a.estimates
    if est is None:
        return None
    targets = _targets(est)
    model = est.get("model") or {}
    summary = f"MFCC {est.get('config')}"
    if isinstance(model.get("model_bytes"), int):
        summary += f", model {model['model_bytes'] / KB:.0f} KB"
    if isinstance(model.get("total_macs"), (int, float)):
        summary += f", {model['total_macs'] / 1e6:.2f} M MACs"
    if isinstance(model.get("arena_bytes"), int):
        summary += f", TFLM arena {model['arena_bytes'] / KB:.0f} KB"
    fitting = [n for n, t in targets.items() if t.get("fits")]
    summary += f"; fits {len(fitting)} of {len(targets)} boards" + (f" ({', '.join(fitting)})." if fitting else ".")
    s = Section("mcu", "Microcontrollers", summary=summary)
    skipped = [n for n in (est.get("targets") or {}) if n not in targets]
    if skipped:
        s.notes.append(f"Left out (their estimate lacks latency or memory figures): {', '.join(skipped)}.")
    if not targets:
        return s
    s.items += [targets_table(targets), memory_figure(targets), latency_figure(targets)]
    onchip = check_table(a.firmware_check) if a.firmware_check else None
    if onchip is not None:
        s.items.insert(1, onchip)
    for i, (name, t) in enumerate(targets.items()):
        fig = layers_figure(name, t)
        if fig is not None:
            s.items.append(Details(f"Per-layer time on {name}", [fig], open=i == 0))
    return s
