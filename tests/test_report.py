"""`dadarts report`: the page of a run that stopped after any stage, rendered in headless Chromium.

The run directories are made synthetically here (the artifacts every stage writes, with the keys
docs/contracts.md fixes), so the test runs in seconds; a real run's page is docs/report.png.
"""
from __future__ import annotations

import csv
import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
import torch

from dadarts.cli import main
from dadarts.errors import UserError
from dadarts.report import cells
from dadarts.report.build import build, write_report
from dadarts.rundir import RunDir, write_csv_atomic, write_json_atomic
from dadarts.costmodel.spaces import SPACE_FACTS
from dadarts.search.genotypes import PCDARTS, to_dict, to_str

SPACE = ["400/100/40", "400/200/40", "640/320/40"]
LABELS = ["yes", "no", "up", "down", "_silence_", "_unknown_"]
TARGETS = {"NUCLEO-L4R5ZI": (120, 640, 2048), "NUCLEO-F446RE": (180, 128, 512)}


def _search(run: RunDir, budget: bool, finished: bool = True, space: str = "darts") -> None:
    rng = np.random.default_rng(0)
    gamma = np.full(len(SPACE), 1 / len(SPACE))
    rows = []
    for epoch in range(1, 6):
        if epoch > 1:
            gamma = gamma * np.exp(rng.normal(0, 0.2, len(SPACE)) + [0.3, 0, 0])
            gamma /= gamma.sum()
        row = {"epoch": epoch, "phase": "warmup" if epoch == 1 else "search", "lr": 0.1,
               "train_loss": 2.5 - 0.2 * epoch, "train_acc": 0.1 * epoch,
               "arch_loss": "" if epoch == 1 else 2.6 - 0.2 * epoch, "arch_acc": "" if epoch == 1 else 0.09 * epoch,
               "val_loss": 2.6 - 0.2 * epoch, "val_acc": 0.09 * epoch,
               **{f"gamma_{n}": round(float(g), 6) for n, g in zip(SPACE, gamma)},
               "active": "all", "time_s": 10.0, "samples_per_s": 100.0}
        if budget:
            row.update(exp_latency_ms=90 - 8 * epoch, exp_ram_kb=300 - 10 * epoch, exp_flash_kb=500 - 5 * epoch,
                       cost_penalty=0.5 / epoch, cost_weight=0.1 * epoch)
        rows.append(row)
    write_csv_atomic(run.search_history, rows)
    facts = SPACE_FACTS[space]
    edges, ops = sum(2 + i for i in range(facts.steps)), len(facts.primitives)
    state = {"net.alphas_normal": torch.randn(edges, ops), "net.alphas_reduce": torch.randn(edges, ops),
             "net.betas_normal": torch.randn(edges), "net.betas_reduce": torch.randn(edges), "mixer.gamma": torch.zeros(3)}
    run.search.mkdir(parents=True, exist_ok=True)
    torch.save({"schema": 1, "kind": "search_checkpoint", "epoch": 5, "model": state, "settings": {"space": space}},
               run.search_checkpoint)
    if not finished:
        return
    result = {"task": "gsc12", "labels": LABELS, "config": SPACE[0], "genotype": to_dict(PCDARTS),
              "genotype_str": to_str(PCDARTS), "gamma": {n: float(g) for n, g in zip(SPACE, gamma)},
              "gamma_stop_epoch": 4, "align": "preprocess", "data_space": SPACE,
              "settings": {"channels": 8, "layers": 5, "epochs": 5, "warmup_epochs": 1},
              "dataset_fingerprint": "f", "search_val_accuracy": 0.45, "data": None, "names": None}
    if budget:
        result.update(space="darts", target="NUCLEO-L4R5ZI",
                      budget={"latency_ms": 60.0, "ram_kb": None, "flash_kb": 480.0},
                      predicted={"latency_ms": 52.0, "ram_kb": 251.0, "flash_kb": 470.0, "fits": True})
    write_json_atomic(run.search_result, result, kind="search_result")


def _train(run: RunDir, model: str = "searched", accuracy: float = 0.9, params: int = 60000) -> None:
    k = len(LABELS)
    confusion = (np.eye(k, dtype=int) * 18 + 1).tolist()
    support = {n: int(sum(row)) for n, row in zip(LABELS, confusion)}
    write_json_atomic(run.train_metrics, {
        "model": model, "config": SPACE[0], "task": "gsc12", "labels": LABELS, "accuracy": accuracy,
        "balanced_accuracy": accuracy, "per_class": {n: 18 / 23 for n in LABELS}, "support": support,
        "confusion": confusion, "n": sum(support.values()), "validation_accuracy": accuracy, "params": params,
        "params_with_buffers": params + 100, "macs": 20 * params, "seed": 0, "epochs": 3, "wall_time_s": 30.0,
        "settings": {"model_kwargs": {"channels": 8, "layers": 5} if model == "searched" else {}},
        "budget_check": {"target": "NUCLEO-L4R5ZI", "latency_ms": 55.0, "ram_kb": 240.0, "flash_kb": None,
                         "budget": {"latency_ms": 50.0, "ram_kb": None, "flash_kb": 480.0},
                         "fits": False, "over": ["latency_ms"]}}, kind="train_metrics")
    write_csv_atomic(run.train_history, [{"epoch": e, "lr": 1e-3, "train_loss": 2.0 / e, "train_acc": 0.3 * e,
                                          "val_loss": 1.8 / e, "val_acc": 0.3 * e, "drop_path": 0.0,
                                          "seconds": 10.0, "samples_per_s": 100.0} for e in (1, 2, 3)])


def _export(run: RunDir) -> None:
    step = {"accuracy": 0.9, "top1_agreement": 1.0, "max_abs_error": 2e-6, "mean_abs_error": 1e-7}
    write_json_atomic(run.export_report, {
        "pytorch": {"accuracy": 0.9}, "onnx": step, "float": {**step, "bytes": 240000},
        "int8": {**step, "accuracy": 0.89, "top1_agreement": 0.99, "bytes": 80000, "transposes": 0, "float_ops": 0},
        "tflm": {"samples": 64, "bit_identical_share": 0.998, "max_lsb": 1, "arena_bytes": 120000},
        "model_bytes": 80000}, kind="export_report")
    write_json_atomic(run.root / "firmware" / "bench.json", {
        "config": SPACE[0], "clips": 40, "c_vs_float": {"within_1lsb_share": 1.0, "exact_share": 0.93, "snr_db": 41.0},
        "c_vs_python_fixed_bit_exact_share": 1.0, "accuracy_c_features": 0.9, "accuracy_python_features": 0.9,
        "host_us_per_frame": 12.0, "m4": {"instructions_per_frame": 71600, "skipped": None}}, kind="firmware_bench")


def _mcu(run: RunDir, scale: float = 1.0) -> None:
    targets = {}
    for name, (mhz, sram, flash) in TARGETS.items():
        layers = [{"index": i, "op": "CONV_2D" if i % 2 else "DEPTHWISE_CONV_2D", "path": "cmsis-nn s8",
                   "macs": 1000 * i, "cycles": 5000.0 * (i + 1), "ms": scale * 0.05 * (i + 1) * 120 / mhz}
                  for i in range(20)]
        targets[name] = {"target": {"core": "M4F", "clock_mhz": mhz}, "library_label": "CMSIS-NN (DSP)",
                         "latency_ms": scale * 12000 / mhz, "invoke_ms": scale * 11000 / mhz, "hop_ms": 20.0,
                         "fits": sram >= 200, "flash_bytes": 450 * 1024, "ram_bytes": 200 * 1024,
                         "flash_capacity_bytes": flash * 1024, "ram_capacity_bytes": sram * 1024,
                         "flash_terms": {"model": 300 * 1024, "tflm_core": 140 * 1024, "libc": 10 * 1024},
                         "ram_terms": {"tflm_arena": 180 * 1024, "stack": 20 * 1024}, "layers": layers}
    write_json_atomic(run.estimates, {"config": SPACE[0], "model": {"model_bytes": 80000, "total_macs": 1.2e6,
                                                                    "arena_bytes": 120000},
                                      "targets": targets}, kind="mcu_estimates")


def _stream(run: RunDir) -> None:
    """The keys `dadarts stream` / `dadarts calibrate` write (stream helper, COORD notes)."""
    def curve(scale):
        return [{"threshold": t, "false_accepts_per_hour": scale * 40 * (1 - t / 255) ** 2,
                 "false_reject_rate": 0.02 + 0.3 * (t / 255) ** 2} for t in range(60, 250, 20)]
    write_json_atomic(run.root / "stream" / "metrics.json", {
        "hours": 1.5, "curve": curve(1.0),
        "settings": {"average_window_ms": 1000, "detection_threshold": 180, "suppression_ms": 1500},
        "operating_point": {"threshold": 180, "false_accepts_per_hour": 3.6, "false_reject_rate": 0.17,
                            "false_accepts": 5, "misses": 7, "keyword_events": 41},
        "per_keyword": {"yes": {"events": 20, "misses": 3, "false_reject_rate": 0.15, "false_accepts": 2,
                                "false_accepts_per_hour": 1.3, "frr_at_1_fa_per_hour": 0.2, "curve": curve(0.5)}}},
        kind="stream_metrics")
    write_json_atomic(run.root / "stream" / "calibration.json", {
        "target_fa_per_hour": 2.0, "chosen": {"detection_threshold": 180}, "curve": curve(0.8)},
        kind="stream_calibration")


def full_run(root: Path, budget: bool = True) -> RunDir:
    run = RunDir.of(root)
    _search(run, budget)
    _train(run)
    _export(run)
    _mcu(run)
    _stream(run)
    write_json_atomic(run.run_json, {"stages": {"search": {"command": "dadarts search --run r", "versions": {}},
                                                "train": {"command": "dadarts train r", "versions": {"dadarts": "0"}}}},
                      kind="run")
    return run


class _Dom(HTMLParser):
    """Sections of the page, with the figures, tables and images inside each."""

    def __init__(self):
        super().__init__()
        self.sections: dict[str, dict] = {}
        self.current = None
        self.images: list[dict] = []
        self.checked = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "body" and a.get("data-checked") == "1":
            self.checked = True
        if tag == "section":
            self.current = self.sections.setdefault(a["data-section"], {"figures": [], "tables": [], "svgs": 0})
        elif self.current is not None and tag == "figure":
            self.current["figures"].append(a["data-figure"])
        elif self.current is not None and tag == "table":
            self.current["tables"].append(a.get("data-table"))
        elif self.current is not None and tag == "svg":
            self.current["svgs"] += 1
        if tag == "img":
            self.images.append(a)


def parse(html: str) -> _Dom:
    dom = _Dom()
    dom.feed(html)
    return dom


# Marks every image once the page has loaded: data-ok="1" when the browser decoded it.
CHECK_IMAGES = """<script>window.addEventListener("load", () => {
  for (const img of document.images) img.setAttribute("data-ok", img.complete && img.naturalWidth > 0 ? "1" : "0");
  document.body.setAttribute("data-checked", "1");
});</script>"""


def render_in_chromium(page: Path, tmp_path: Path) -> str:
    """The DOM of `page` after Chromium loaded it (with CHECK_IMAGES added to a copy)."""
    browser = next((shutil.which(b) for b in ("chromium", "chromium-browser", "google-chrome") if shutil.which(b)), None)
    if browser is None:
        pytest.skip("headless Chromium is not installed (scripts/setup.sh installs Debian's 'chromium' as root)")
    probe = tmp_path / "probe.html"
    probe.write_text(page.read_text().replace("</body>", CHECK_IMAGES + "</body>"))
    profile = tmp_path / "chromium-profile"
    profile.mkdir()
    done = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={profile}", "--dump-dom", probe.as_uri()],
        capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


EXPECTED = {
    "search": {"gamma", "budget", "search_curves", "alpha", "cell_normal", "cell_reduce"},
    "train": {"train_curves", "confusion", "per_class"},
    "mcu": {"memory", "latency", *(f"layers_{t}" for t in TARGETS)},
    "compare": {"comparison"},
    "stream": {"stream"},
}


def test_every_stage_renders_in_chromium_with_no_broken_image(tmp_path, capsys):
    run = full_run(tmp_path / "r")
    baseline = RunDir.of(tmp_path / "ds-cnn-s")
    _train(baseline, model="ds-cnn-s", accuracy=0.85, params=25000)
    _mcu(baseline, scale=0.4)
    assert main(["report", str(run.root), "--compare", str(baseline.root)]) == 0
    page = run.root / "report.html"
    assert f"-> {page}" in capsys.readouterr().out
    html = page.read_text()
    # Self-contained: no script, and nothing loaded from elsewhere (only data: URIs and in-page links).
    assert "<script" not in html and not re.findall(r'(?:src|href)="(?!data:|#)', html)

    dom = parse(render_in_chromium(page, tmp_path))
    assert dom.checked, "the page did not finish loading in Chromium"
    assert set(dom.sections) == {"overview", "search", "train", "export", "mcu", "compare", "stream"}
    for key, figures in EXPECTED.items():
        assert figures <= set(dom.sections[key]["figures"]), (key, dom.sections[key]["figures"])
    assert {"verification", "frontend_parity"} <= set(dom.sections["export"]["tables"])
    assert {"stream_point", "stream_keywords"} <= set(dom.sections["stream"]["tables"])
    assert "budget_check" in dom.sections["train"]["tables"]
    broken = [img.get("alt") for img in dom.images if img.get("data-ok") != "1"]
    assert not broken, f"broken images: {broken}"
    assert len(dom.images) >= sum(map(len, EXPECTED.values())) - 2   # the two cells may be inline SVG


def sections_of(run_root: Path, **kw) -> dict[str, dict]:
    html, _ = build(run_root, **kw)
    return parse(html).sections


def test_a_run_that_stopped_after_any_stage(tmp_path):
    run = RunDir.of(tmp_path / "r")
    run.root.mkdir()
    with pytest.raises(UserError, match="no dadarts artifacts"):
        build(run.root)
    with pytest.raises(UserError, match="does not exist"):
        build(tmp_path / "missing")

    _search(run, budget=False, finished=False)   # interrupted search: history + checkpoint only
    s = sections_of(run.root)
    assert set(s) == {"overview", "search"}
    assert {"gamma", "search_curves", "alpha", "cell_normal", "cell_reduce"} <= set(s["search"]["figures"])
    assert "budget" not in s["search"]["figures"]   # no budget columns, no budget figure
    assert "has not finished" in build(run.root)[0]

    _search(run, budget=False)
    _train(run)
    assert set(sections_of(run.root)) == {"overview", "search", "train"}
    _export(run)
    assert set(sections_of(run.root)) == {"overview", "search", "train", "export"}
    _mcu(run)
    assert set(sections_of(run.root)) == {"overview", "search", "train", "export", "mcu"}

    baseline_only = RunDir.of(tmp_path / "baseline")   # trained without a search
    _train(baseline_only, model="ds-cnn-s")
    assert set(sections_of(baseline_only.root)) == {"overview", "train"}


def test_an_interrupted_search_of_the_mcu_space(tmp_path):
    run = RunDir.of(tmp_path / "r")
    _search(run, budget=False, finished=False, space="mcu")   # 3 nodes per cell, the mcu primitives
    html, _ = build(run.root)
    assert {"alpha", "cell_normal", "cell_reduce"} <= set(parse(html).sections["search"]["figures"])
    assert "derived from α, β of the checkpoint after epoch 5" in html


def test_unreadable_artifact_is_a_note_not_an_error(tmp_path):
    run = RunDir.of(tmp_path / "r")
    _train(run)
    run.estimates.parent.mkdir()
    run.estimates.write_text("{ truncated")
    html, sections = build(run.root)
    assert "mcu" not in parse(html).sections
    assert any("estimates.json is not readable JSON" in n for n in sections[0].notes)
    # Valid JSON of the right kind but shaped unlike this dadarts writes: that section only is left out.
    write_json_atomic(run.train_metrics, {"per_class": "not a mapping", "confusion": 3}, kind="train_metrics")
    html, sections = build(run.root)
    assert "train" not in parse(html).sections
    assert any("train section could not be drawn" in n for n in sections[0].notes)


def test_compare_reads_a_compare_folder_and_checks_the_target(tmp_path):
    run = RunDir.of(tmp_path / "r")
    _train(run)
    _mcu(run)
    out = tmp_path / "cmp"
    out.mkdir()
    with open(out / "compare.csv", "w", newline="") as f:
        w = csv.DictWriter(f, ["run", "model", "config", "params", "macs", "accuracy", "balanced_accuracy",
                               "int8_accuracy", "seed", "epochs", "latency_ms_NUCLEO-F446RE"])
        w.writeheader()
        w.writerow({"run": "mobilenet", "model": "mobilenet-v2", "config": SPACE[0], "params": 200000, "macs": 1e7,
                     "accuracy": 0.93, "int8_accuracy": 0.92, "latency_ms_NUCLEO-F446RE": 150.0})
    html, _ = build(run.root, compare=[str(out)], target="NUCLEO-F446RE")
    assert parse(html).sections["compare"]["figures"] == ["comparison"]
    assert "mobilenet-v2" in html and "NUCLEO-F446RE ms" in html
    with pytest.raises(UserError, match="--target NOPE"):
        build(run.root, compare=[str(out)], target="NOPE")
    alone = parse(build(run.root, compare=[str(run.root)])[0]).sections["compare"]   # itself: nothing to compare
    assert alone["figures"] == []
    with pytest.raises(UserError, match="neither a trained run"):
        build(run.root, compare=[str(tmp_path / "nothing")])


def test_stream_metrics_as_lists_and_without_a_curve(tmp_path):
    run = RunDir.of(tmp_path / "r")
    _train(run)
    stream = run.root / "stream" / "metrics.json"
    write_json_atomic(stream, {"curve": {"false_accepts_per_hour": [10.0, 2.0, 0.5],
                                         "false_reject_rate": [0.01, 0.05, 0.2]}}, kind="stream_metrics")
    assert sections_of(run.root)["stream"]["figures"] == ["stream"]
    write_json_atomic(stream, {"something_else": 1}, kind="stream_metrics")
    html, _ = build(run.root)
    assert parse(html).sections["stream"]["figures"] == [] and "no false-accept / miss figures" in html


def test_cells_without_graphviz_fall_back_on_matplotlib(monkeypatch):
    monkeypatch.setattr(cells, "_graphviz_svg", lambda *a: None)
    fig = cells.cell_figure(to_dict(PCDARTS), "reduce")
    assert fig.svg is None and fig.png.startswith(b"\x89PNG")


def test_cells_with_graphviz_are_inline_svg():
    pytest.importorskip("graphviz")
    if shutil.which("dot") is None:
        pytest.skip("graphviz's dot is not installed (scripts/setup.sh installs Debian's 'graphviz' as root)")
    fig = cells.cell_figure(to_dict(PCDARTS), "normal")
    assert fig.svg.startswith("<svg") and "sep_conv_3x3" in fig.svg and "<?xml" not in fig.svg
    # every edge of the genotype and every concatenated node reaches the output
    assert fig.svg.count('class="edge"') == len(PCDARTS.normal) + len(PCDARTS.normal_concat)


def test_report_written_atomically_where_asked(tmp_path):
    run = full_run(tmp_path / "r", budget=False)
    out, sections = write_report(run.root, tmp_path / "elsewhere" / "page.html")
    assert out.is_file() and not (run.root / "report.html").exists()
    assert [s.key for s in sections] == ["overview", "search", "train", "export", "mcu", "stream"]
    assert not list(out.parent.glob(".page.html.*"))   # no temporary left behind
    assert json.loads(run.run_json.read_text())["kind"] == "run"


def test_the_model_measured_on_the_emulated_chip_is_shown_next_to_the_estimate(tmp_path):
    """`dadarts firmware check` writes RUN/firmware/check.json; the MCU section shows it as a table."""
    run = full_run(tmp_path / "r", budget=False)
    assert "Measured on the emulated chip" not in build(run.root)[0]
    write_json_atomic(run.root / "firmware" / "check.json", {
        "board": "NUCLEO-F446RE", "clock_mhz": 180, "cycles_per_instruction": 1.555, "tflm_commit": "90b983c2b3",
        "seconds": 120.0, "invoke_instructions": 10_680_000, "invoke_instructions_predicted": 10_570_000,
        "invoke_ms": 92.3, "invoke_ms_predicted": 91.3, "flash_bytes": 318 * 1024, "flash_bytes_estimate": 322 * 1024,
        "ram_bytes": 88 * 1024, "ram_bytes_estimate": 88 * 1024,
        "device_detections": [[1200, "yes", 220], [5300, "no", 210]],
        "python_detections": [[1200, "yes", 220], [5300, "no", 210]]}, kind="firmware_check")
    html = build(run.root)[0]
    assert "Measured on the emulated chip, linked as NUCLEO-F446RE" in html
    assert "+1.0 %" in html and "same as Python: 2 of 2" in html
