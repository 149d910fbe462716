"""The Python recogniser is bit-exact with firmware/app/recognizer.c: both are fed the same int8 scores and
times (random streams and crafted edge cases) and must give the same label, score and detection at every
step; the integer softmax (kws_recognizer_scores) likewise."""
from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest

from dadarts.evaluate.recognizer import Recognizer, recognise, scores_from_output
from dadarts.export.recognizer_settings import RecognizerSettings, score_exp_table

FIRMWARE_APP = Path(__file__).resolve().parents[1] / "firmware" / "app"

# Reads a stream of results (or of model outputs) from stdin, prints what recognizer.c makes of them.
DRIVER = r"""
#include <stdio.h>
#include <stdlib.h>
#include "recognizer.h"

static void get(void *p, size_t n) { if (fread(p, 1, n, stdin) != n) exit(3); }

int main(void)
{
    int32_t h[9];
    get(h, sizeof(int32_t));
    if (h[0] == 2) {   /* scores: n_labels, exp_len, rows, table, outputs */
        get(h + 1, 3 * sizeof(int32_t));
        uint16_t *table = malloc(((size_t)h[2] + 1) * 2);
        int8_t *out = malloc((size_t)h[1] * (size_t)h[3]), *p = malloc((size_t)h[1]);
        get(table, (size_t)h[2] * 2);
        get(out, (size_t)h[1] * (size_t)h[3]);
        for (int r = 0; r < h[3]; r++) {
            if (kws_recognizer_scores(out + (long)r * h[1], h[1], h[2] ? table : NULL, h[2], p) != 0) return 4;
            fwrite(p, 1, (size_t)h[1], stdout);
        }
        return 0;
    }
    get(h + 1, 8 * sizeof(int32_t));  /* n, window, suppression, threshold, min count, zp, history, steps */
    uint8_t *kw = malloc((size_t)h[1]);
    get(kw, (size_t)h[1]);
    kws_recognizer_config_t cfg = {h[1], h[2], h[3], h[4], h[5], h[6], kw};
    kws_recognizer_t r;
    uint32_t *times = malloc((size_t)h[7] * 4);
    uint8_t *ring = malloc((size_t)h[7] * (size_t)h[1]);
    if (kws_recognizer_init(&r, &cfg, times, ring, h[7]) != 0) return 5;
    int8_t s[64];
    for (int i = 0; i < h[8]; i++) {
        uint32_t t;
        kws_detection_t d;
        get(&t, 4);
        get(s, (size_t)h[1]);
        if (kws_recognizer_process(&r, s, t, &d) != 0) return 6;
        int32_t o[3] = {d.label, d.score, d.is_new};
        fwrite(o, 4, 3, stdout);
    }
    return 0;
}
"""


@pytest.fixture(scope="module")
def driver(tmp_path_factory) -> Path:
    if shutil.which("gcc") is None:
        pytest.skip("no C compiler (gcc) to build firmware/app/recognizer.c")
    d = tmp_path_factory.mktemp("recognizer")
    (d / "driver.c").write_text(DRIVER)
    exe = d / "driver"
    r = subprocess.run(["gcc", "-std=c99", "-O2", "-Wall", "-Werror", f"-I{FIRMWARE_APP}", str(d / "driver.c"),
                        str(FIRMWARE_APP / "recognizer.c"), "-o", str(exe)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return exe


def c_recognise(exe, scores, times, s: RecognizerSettings, is_keyword, history, zp) -> np.ndarray:
    n = scores.shape[1]
    head = struct.pack("<9i", 1, n, s.average_window_ms, s.suppression_ms, s.detection_threshold,
                       s.minimum_count, zp, history, len(times))
    body = b"".join(struct.pack("<i", int(t)) + row.astype(np.int8).tobytes() for t, row in zip(times, scores))
    r = subprocess.run([str(exe)], input=head + np.asarray(is_keyword, np.uint8).tobytes() + body,
                       capture_output=True, timeout=60)
    assert r.returncode == 0, r.returncode
    return np.frombuffer(r.stdout, np.int32).reshape(-1, 3)


def c_scores(exe, out: np.ndarray, table: np.ndarray) -> np.ndarray:
    head = struct.pack("<4i", 2, out.shape[1], len(table), len(out))
    r = subprocess.run([str(exe)], input=head + table.astype("<u2").tobytes() + out.astype(np.int8).tobytes(),
                       capture_output=True, timeout=60)
    assert r.returncode == 0, r.returncode
    return np.frombuffer(r.stdout, np.int8).reshape(out.shape)


def python_both(scores, times, s, is_keyword, history, zp) -> tuple[np.ndarray, np.ndarray]:
    """(per-step mirror, vectorised) results as (label, score, is_new) rows."""
    rec = Recognizer(s, is_keyword, history, zp)
    stepwise = np.array([rec.process(row, int(t)) for row, t in zip(scores, times)], np.int64).reshape(-1, 3)
    avg, det = recognise(scores, times, s, is_keyword, history, zp)
    new = np.zeros(len(times), np.int64)
    new[det] = 1
    return stepwise, np.stack([avg.label, avg.score, new], axis=1)


def random_case(rng):
    n = int(rng.integers(2, 13))
    steps = int(rng.integers(50, 400))
    # Mostly regular inference periods, sometimes jittery or repeated time stamps.
    period = int(rng.choice([10, 20, 25, 40, 64]))
    times = np.cumsum(rng.choice([0, period, period, period, period + 1, 2 * period], size=steps))
    label = rng.integers(0, n, steps)
    label = np.repeat(label[::8], 8)[:steps]                       # runs of the same word
    scores = rng.integers(-128, 128, (steps, n))
    loud = rng.integers(0, 256, steps) - 128
    scores[np.arange(steps), label] = np.maximum(scores[np.arange(steps), label], loud)
    s = RecognizerSettings(average_window_ms=int(rng.integers(1, 1500)), detection_threshold=int(rng.integers(0, 256)),
                           suppression_ms=int(rng.integers(0, 2000)), minimum_count=int(rng.integers(1, 6)))
    history = int(rng.integers(s.minimum_count, 80))             # some too short: the ring then forgets
    is_keyword = rng.random(n) < 0.7
    zp = int(rng.choice([-128, -128, 0, 17]))
    return scores.astype(np.int8), times, s, is_keyword, history, zp


def test_python_recogniser_equals_c_on_random_streams(driver):
    rng = np.random.default_rng(0)
    detections = 0
    for _ in range(40):
        scores, times, s, kw, history, zp = random_case(rng)
        c = c_recognise(driver, scores, times, s, kw, history, zp)
        stepwise, vectorised = python_both(scores, times, s, kw, history, zp)
        np.testing.assert_array_equal(stepwise, c)
        np.testing.assert_array_equal(vectorised, c)
        detections += int(c[:, 2].sum())
    assert detections > 20, "the random streams must exercise detections, not only silence"


def test_python_recogniser_equals_c_on_crafted_streams(driver):
    n = 4
    kw = np.array([0, 1, 1, 1], bool)
    cases = []
    # A keyword burst between silences, at the firmware's defaults, 20 ms per result.
    times = np.arange(0, 6000, 20)
    scores = np.full((len(times), n), -128, np.int64)
    scores[:, 0] = 127
    burst = (times > 1000) & (times < 2300)
    scores[burst, 0], scores[burst, 2] = -128, 127
    cases.append((scores, times, RecognizerSettings(), 51))
    # Ties between labels (the first wins), scores at both ends of the range, threshold 0 and 255.
    tie = np.tile([[0, 0, 0, 0], [127, 127, -128, 127], [-128, -128, -128, -128]], (40, 1))
    cases.append((tie, np.arange(len(tie)) * 30, RecognizerSettings(detection_threshold=0, suppression_ms=0,
                                                                       minimum_count=1), 40))
    cases.append((tie, np.arange(len(tie)) * 30, RecognizerSettings(detection_threshold=255, minimum_count=1), 40))
    # Equal time stamps and a window of 1 ms: only results of the same millisecond are averaged.
    same = np.repeat(np.arange(30) * 7, 3)
    cases.append((np.resize(np.array([[-128, 127, 0, -5], [-128, -5, 127, 0]]), (len(same), n)), same,
                  RecognizerSettings(average_window_ms=1, detection_threshold=100, suppression_ms=14,
                                     minimum_count=2), 4))
    for scores, times, s, history in cases:
        scores = np.asarray(scores).astype(np.int8)
        c = c_recognise(driver, scores, times, s, kw, history, -128)
        stepwise, vectorised = python_both(scores, times, s, kw, history, -128)
        np.testing.assert_array_equal(stepwise, c)
        np.testing.assert_array_equal(vectorised, c)
    # The burst case detects its keyword exactly once.
    c = c_recognise(driver, cases[0][0].astype(np.int8), cases[0][1], cases[0][2], kw, 51, -128)
    assert c[:, 2].sum() == 1 and c[c[:, 2] == 1, 0][0] == 2


def test_integer_softmax_equals_c(driver):
    rng = np.random.default_rng(1)
    for scale, zp in ((0.1, 3), (0.0431, -20), (0.5, -128), (1 / 256, -128), (2.0, 0)):
        table = score_exp_table(scale, zp)
        out = rng.integers(-128, 128, (300, 12)).astype(np.int8)
        out[:20] = out[:20, :1]                                  # all-equal rows
        ours = scores_from_output(out, table)
        np.testing.assert_array_equal(ours, c_scores(driver, out, table))
        if len(table):  # close to the float softmax the table stands for
            z = scale * out.astype(np.float64)
            p = np.exp(z - z.max(1, keepdims=True))
            p /= p.sum(1, keepdims=True)
            assert np.abs((ours.astype(np.int64) + 128) - p * 255).max() <= 1.5


def test_history_from_the_settings_holds_the_whole_window():
    """At every stride and hop of the data space, the default window is averaged in full."""
    for hop in (100, 160, 200, 320):
        for every in (1, 2, 3, 4):
            s = RecognizerSettings(inference_every_hops=every)
            history = s.history(hop)
            samples = np.arange(1, 400) * hop * every + 16000
            times = samples // 16                                 # the firmware's ms time stamps
            in_window = np.array([np.sum((t - times[:i + 1]) < s.average_window_ms) for i, t in enumerate(times)])
            rng = np.random.default_rng(hop + every)
            scores = rng.integers(-128, 128, (len(times), 3)).astype(np.int8)
            avg, _ = recognise(scores, times, s, [1, 1, 1], history)
            np.testing.assert_array_equal(avg.count, in_window)


def test_per_label_thresholds_gate_each_label_on_its_own():
    """detect() with one threshold per label (what bench_keyword_thresholds.py tries): the same value
    everywhere gives the single-threshold detections; a label at 256 never detects, the others keep theirs."""
    from dadarts.evaluate.recognizer import averages, detect
    rng = np.random.default_rng(3)
    scores = rng.integers(-128, 128, size=(400, 4)).astype(np.int8)
    times = np.arange(400, dtype=np.int64) * 100
    avg = averages(scores, times, 300, 4)
    is_keyword = [True, True, True, False]
    single = detect(avg, is_keyword, 150, 500, 2)
    assert len(single) > 0
    assert np.array_equal(detect(avg, is_keyword, np.full(4, 150), 500, 2), single)
    mixed = detect(avg, is_keyword, np.array([256, 150, 150, 150]), 500, 2)
    assert len(mixed) and not np.any(avg.label[mixed] == 0)


def test_a_fine_tuned_run_decides_at_its_init_runs_budgeted_rate(tmp_path):
    """export's default model rate: the search's decision period; a run trained with `--init RUN2` and no
    search of its own takes RUN2's (the same network, the same budget); a run without either decides every
    DEFAULT_DECISION_MS, the period mcu-eval prices it at, not the dataclass's every 2 hops."""
    from dadarts.export.recognizer_settings import default_settings
    from dadarts.rundir import RunDir, write_json_atomic
    base, tuned, plain = tmp_path / "base", tmp_path / "tuned", tmp_path / "plain"
    write_json_atomic(base / "search" / "result.json", {"decision_ms": 50.0}, kind="search_result")
    write_json_atomic(tuned / "train" / "metrics.json", {"settings": {"init": str(base)}}, kind="train_metrics")
    write_json_atomic(plain / "train" / "metrics.json", {"settings": {"init": None}}, kind="train_metrics")
    config = "400/200/40/10"                      # 12.5 ms hop: 50 ms = 4 hops, 100 ms = 8
    assert default_settings(RunDir.of(base), config).inference_every_hops == 4
    assert default_settings(RunDir.of(tuned), config).inference_every_hops == 4
    assert default_settings(RunDir.of(plain), config).inference_every_hops == 8
