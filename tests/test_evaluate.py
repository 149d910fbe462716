"""`evaluate`, `stream` and `calibrate` end to end on a small run that really learned its words.

The words are tone patterns (two keywords, two other words, one of quiet noise), so DS-CNN-S trained
for a few seconds recognises them; the run is exported to int8 with the real export,
so the float, int8 and fixed-point paths and the streaming twin all run on one model.
"""
from __future__ import annotations

import json
import re
import struct

import numpy as np
import pytest
import torch

from dadarts.cli import main
from dadarts.data.wavio import read_wav, write_wav
from dadarts.evaluate import session
from dadarts.evaluate.longform import TRUTH_KIND, StreamRecipe, build_stream
from dadarts.evaluate.recognizer import Recognizer
from dadarts.evaluate.runmodels import load_run, load_step
from dadarts.evaluate.streaming import device_pcm
from dadarts.export.recognizer_settings import (RecognizerSettings, read_settings, score_exp_table,
                                                write_recognizer_files)
from dadarts.frontend import fixed
from dadarts.rundir import RunDir, read_json, write_json_atomic

pytestmark = pytest.mark.slow

CONFIG = "640/320/40"
KEYWORDS = ("alpha", "bravo")
WORDS = ("alpha", "bravo", "charlie", "delta", "quiet")
SPEAKERS = {"train": range(0, 10), "validation": range(10, 13), "testing": range(13, 16)}
LABELS = ["alpha", "bravo", "_unknown_"]


def tone_word(word: str, rng: np.random.Generator, n: int = 16000) -> np.ndarray:
    """A half-second 'word' (chirp, tone, AM tone, two tones, or nothing) at a random place and level."""
    t = np.arange(n) / 16000
    start, dur = rng.uniform(0.1, 0.45), rng.uniform(0.35, 0.5)
    env = np.clip(np.minimum(t - start, start + dur - t) / 0.03, 0, 1)
    f = {"alpha": 400 + 1000 * (t - start), "bravo": 2500 + 0 * t, "charlie": 1200 + 0 * t,
         "delta": 700 + 0 * t, "quiet": 0 * t}[word]
    x = np.sin(2 * np.pi * np.cumsum(f) / 16000)
    if word == "charlie":
        x *= 0.5 + 0.5 * np.sin(2 * np.pi * 8 * t)
    if word == "delta":
        x += np.sin(2 * np.pi * 3200 * t)
    level = 0 if word == "quiet" else rng.uniform(3000, 9000)
    return np.clip(level * env * x + rng.normal(0, 60, n), -32768, 32767).astype(np.int16)


def make_corpus(root) -> None:
    rng = np.random.default_rng(0)
    lists = {"validation": [], "testing": []}
    for word in WORDS:
        (root / word).mkdir(parents=True)
        for split, speakers in SPEAKERS.items():
            for s in speakers:
                for k in range(2):
                    name = f"{word}/spk{s:02d}_nohash_{k}.wav"
                    write_wav(root / name, tone_word(word, rng))
                    if split in lists:
                        lists[split].append(name)
    for split, names in lists.items():
        (root / f"{split}_list.txt").write_text("\n".join(names) + "\n")
    (root / "_background_noise_").mkdir()
    write_wav(root / "_background_noise_" / "white_noise.wav", rng.normal(0, 0.05, 16000 * 20))


def _train(corpus, run: RunDir, name: str = "ds-cnn-s", kwargs: dict | None = None):
    """Train DS-CNN-S (or `name` with `kwargs`) on shifted copies of the clips; write what `dadarts train` writes."""
    from dadarts.data.datasets import load_dataset
    from dadarts.frontend.artifact import write_frontend
    from dadarts.frontend.mfcc import Mfcc
    from dadarts.frontend.spec import MfccConfig
    from dadarts.rundir import record_run
    from dadarts.train.models import build_model

    config = MfccConfig.parse(CONFIG)
    ds = load_dataset(corpus, "names", names=KEYWORDS, quiet=True, name_augment=None)
    rng = np.random.default_rng(1)
    audio, y = [], []
    for c in ds.splits["train"]:
        x = ds.load_audio(c)
        for shift in rng.integers(-5000, 5000, 4):            # the stream shows words at every position
            audio.append(np.roll(x, shift) * (np.arange(16000) - shift >= 0) * (np.arange(16000) - shift < 16000))
            y.append(c.label)
    mfcc = Mfcc(config)
    x = mfcc(torch.from_numpy(np.stack(audio).astype(np.int16)))
    mean, std = x.reshape(-1, 40).mean(0), x.reshape(-1, 40).std(0) + 1e-3
    xn, yt = ((x - mean) / std)[:, None], torch.tensor(y)
    torch.manual_seed(0)
    build = {"name": name, "input_shape": list(config.shape), "num_classes": len(LABELS), "kwargs": kwargs or {}}
    net = build_model(build["name"], config.shape, len(LABELS), **build["kwargs"])
    opt = torch.optim.Adam(net.parameters(), 3e-3)
    for step in range(150):
        i = torch.randint(0, len(yt), (32,))
        loss = torch.nn.functional.cross_entropy(net(xn[i]), yt[i])
        opt.zero_grad()
        loss.backward()
        opt.step()
    net.eval()
    run.train.mkdir(parents=True)
    torch.save({"schema": 1, "kind": "model", "build": build, "state_dict": net.state_dict(), "labels": LABELS,
                "config": CONFIG, "task": "names"}, run.model)
    write_frontend(run.frontend, config, mean.numpy(), std.numpy())
    record_run(run, "train", ["train"], dataset_fingerprint=ds.fingerprint, data=str(corpus), task="names",
               names=list(KEYWORDS))
    test = mfcc(torch.from_numpy(np.stack([ds.load_audio(c) for c in ds.splits["testing"]])))
    return net, ((test - mean) / std).detach().numpy(), np.array([c.label for c in ds.splits["testing"]]), \
        xn[:, 0].detach().numpy(), {"config": CONFIG, "frontend_version": 1, "mean": mean.tolist(), "std": std.tolist()}


@pytest.fixture(scope="module")
def tone_run(tmp_path_factory):
    from dadarts.export.pipeline import ExportInputs, ExportOptions, export_model
    root = tmp_path_factory.mktemp("tones")
    corpus, run = root / "corpus", RunDir.of(root / "run")
    make_corpus(corpus)
    net, x_test, y_test, x_train, frontend = _train(corpus, run)
    inputs = ExportInputs(model=net, labels=LABELS, config=CONFIG, x_test=x_test, y_test=y_test,
                          x_calibration=x_train, frontend=frontend, run_name="tones", source=str(run.root))
    report = export_model(inputs, run, ExportOptions(int8=True, calibration_samples=64, tflm_samples=4),
                          log=lambda *_: None)
    assert report["int8"]["accuracy"] > 0.9, "the tone model must have learned its words"
    return corpus, run


def write_wav_format(path, x: np.ndarray, rate: int, fmt: str) -> None:
    """A WAV in a format `wave` cannot write: 24-bit integer or 32-bit float (WAVE_FORMAT_EXTENSIBLE / 3)."""
    x = np.asarray(x, np.float64).reshape(len(x), -1)
    channels = x.shape[1]
    if fmt == "float32":
        data, tag, bits = x.astype("<f4").tobytes(), 3, 32
        fmt_chunk = struct.pack("<HHIIHH", tag, channels, rate, rate * channels * 4, channels * 4, bits)
    else:
        v = np.clip(np.round(x * 2 ** 23), -2 ** 23, 2 ** 23 - 1).astype("<i4").reshape(-1)
        data, bits = np.stack([v & 255, (v >> 8) & 255, (v >> 16) & 255], 1).astype(np.uint8).tobytes(), 24
        guid = struct.pack("<H", 1) + bytes.fromhex("000000001000800000aa00389b71")
        fmt_chunk = struct.pack("<HHIIHHHHI", 0xFFFE, channels, rate, rate * channels * 3, channels * 3, bits, 22,
                                bits, 0) + guid
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt_chunk)) + fmt_chunk + b"data" + struct.pack("<I", len(data)) + data
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)


def messy_test_folder(corpus, dst) -> dict[str, int]:
    """The corpus's test clips, without list files, at other rates, in stereo, 24-bit and float."""
    import torchaudio.functional as AF
    counts = {}
    names = (corpus / "testing_list.txt").read_text().split()
    for i, name in enumerate(names):
        x = read_wav(corpus / name).astype(np.float32) / 32768
        (dst / name).parent.mkdir(parents=True, exist_ok=True)
        kind = ("8k", "44k-stereo", "24bit", "float", "48k")[i % 5]
        if kind == "8k":
            write_wav(dst / name, AF.resample(torch.from_numpy(x), 16000, 8000).numpy(), rate=8000)
        elif kind == "44k-stereo":
            y = AF.resample(torch.from_numpy(x), 16000, 44100).numpy()
            write_wav(dst / name, np.stack([y, 0.5 * y], 1), rate=44100)
        elif kind == "48k":
            write_wav_format(dst / name, AF.resample(torch.from_numpy(x), 16000, 48000).numpy(), 48000, "24bit")
        else:
            write_wav_format(dst / name, x, 16000, "24bit" if kind == "24bit" else "float32")
        counts[kind] = counts.get(kind, 0) + 1
    return counts


def test_evaluate_scores_a_test_only_folder_of_messy_wavs(tone_run, tmp_path, capsys):
    corpus, run = tone_run
    folder = tmp_path / "their-recordings"
    counts = messy_test_folder(corpus, folder)
    assert main(["evaluate", str(run.root), "--data", str(folder)]) == 0
    err = capsys.readouterr().err
    assert err.count("dadarts: note: converting") == 1, err
    assert f"converting {sum(counts.values())} WAV files" in err
    assert f"{counts['8k']} resampled from 8000 Hz" in err and f"{counts['44k-stereo']} downmixed from 2 channels" in err
    result = read_json(run.root / "evaluate" / "their-recordings" / "metrics.json", "evaluation")
    n_test = len((corpus / "testing_list.txt").read_text().split())
    assert result["clips"] == n_test, "a folder without lists is all test clips"
    # Words the run does not know (charlie, delta, quiet) are the names task's _unknown_.
    assert result["paths"]["fixed"]["support"] == {"alpha": 6, "bravo": 6, "_unknown_": 18}
    for path in ("float", "int8", "fixed"):
        assert result["paths"][path]["accuracy"] >= 0.9, (path, result["paths"][path])
        assert set(result["paths"][path]["detection"]) == set(KEYWORDS)
    assert result["top1_agreement"]["fixed_vs_int8"] >= 0.9
    assert np.array(result["paths"]["fixed"]["confusion"]).sum() == n_test


def test_evaluate_on_a_full_folder_uses_its_test_list(tone_run, capsys):
    corpus, run = tone_run
    assert main(["evaluate", str(run.root), "--data", str(corpus), "--name", "own"]) == 0
    result = read_json(run.root / "evaluate" / "own" / "metrics.json", "evaluation")
    assert result["clips"] == len((corpus / "testing_list.txt").read_text().split())
    assert "converting" not in capsys.readouterr().err
    assert set(result["paths"]) == {"float", "int8", "fixed"}      # DS-CNN-S does not stream: no streamed paths


def _recording(corpus, tmp_path):
    """30 s: keywords and other words at known places over faint noise, plus their truth file."""
    rng = np.random.default_rng(5)
    x = rng.normal(0, 40, 16000 * 30)
    events = []
    for start, word in ((2.0, "alpha"), (6.0, "charlie"), (9.5, "bravo"), (13.0, "quiet"), (16.0, "alpha"),
                        (19.5, "delta"), (23.0, "bravo"), (26.5, "alpha")):
        clip = tone_word(word, rng).astype(np.float64)
        a = int(start * 16000)
        x[a:a + 16000] += clip
        loud = np.flatnonzero(np.abs(clip) > 0.02 * np.abs(clip).max())
        events.append({"start_s": start + loud[0] / 16000, "end_s": start + loud[-1] / 16000, "word": word,
                       "keyword": word in KEYWORDS})
    wav, truth = tmp_path / "rec.wav", tmp_path / "rec.json"
    write_wav(wav, np.clip(x, -32768, 32767).astype(np.int16))
    write_json_atomic(truth, {"seconds": 30.0, "events": events}, kind=TRUTH_KIND)
    return wav, truth, events


def use_settings(run: RunDir, **kw) -> RecognizerSettings:
    """Recogniser settings for a test: the words are short, so the average runs over half a second."""
    settings = RecognizerSettings(**{"average_window_ms": 500, "detection_threshold": 170, **kw})
    write_recognizer_files(run.export, run.firmware, settings, CONFIG, *load_run(run.root, True).int8.output_quant, "tones")
    return settings


def test_stream_finds_keywords_at_known_times(tone_run, tmp_path, capsys):
    corpus, run = tone_run
    wav, truth, events = _recording(corpus, tmp_path)
    use_settings(run)
    assert main(["stream", str(run.root), str(wav), "--truth", str(truth)]) == 0
    out = read_json(run.root / "stream" / "rec.detections.json", "stream_detections")
    said = [e for e in events if e["keyword"]]
    assert [d["label"] for d in out["detections"]] == [e["word"] for e in said]
    for d, e in zip(out["detections"], said):
        assert e["start_s"] <= d["time_s"] <= e["end_s"] + 1.0, (d, e)
    m = out["metrics"]
    assert m["operating_point"]["misses"] == 0 and m["operating_point"]["false_accepts"] == 0
    assert len(m["curve"]) == 256 and m["curve"][0]["false_accepts_per_hour"] >= m["curve"][-1]["false_accepts_per_hour"]
    assert "alpha" in capsys.readouterr().out


def test_stream_twin_makes_the_decisions_of_a_per_hop_loop(tone_run, tmp_path):
    """The bulk twin (numpy front-end, batched LiteRT, vectorised recogniser) against a loop that does
    what kws_main.c does hop by hop, on the same recording."""
    from dadarts.evaluate.recognizer import scores_from_output
    from dadarts.evaluate.runmodels import Int8Model
    from dadarts.evaluate.streaming import detections
    corpus, run = tone_run
    wav, _, _ = _recording(corpus, tmp_path)
    models = load_run(run.root, need_int8=True)
    settings = use_settings(run, inference_every_hops=3, suppression_ms=700)
    out = session.model_outputs(models, wav, settings.inference_every_hops)
    _, bulk = detections(models, out, settings)

    t, one = models.tables, Int8Model(run.tflite_int8, batch=1)
    cfg = t.config
    pcm = device_pcm(read_wav(wav), cfg.hop)
    rec = Recognizer(settings, [True, True, False], settings.history(cfg.hop))
    exp = score_exp_table(*one.output_quant)
    window, ring, since, loop = np.zeros(cfg.window, np.int16), [], 0, []

    def infer(samples):
        scores = scores_from_output(one(np.stack(ring)[None]), exp)[0]
        label, score, new = rec.process(scores, samples // 16)
        if new:
            loop.append((samples / 16000, models.labels[label], score))

    inferred = False
    for h in range(len(pcm) // cfg.hop):
        window = np.concatenate([window[cfg.hop:], pcm[h * cfg.hop:(h + 1) * cfg.hop]])
        inferred = False
        if (h + 1) * cfg.hop < cfg.window:
            continue
        ring = (ring + [fixed.features_from_frames(window[None], t)[0]])[-cfg.n_frames:]
        since += 1
        if len(ring) == cfg.n_frames and since >= settings.inference_every_hops:
            since, inferred = 0, True
            infer((h + 1) * cfg.hop)
    if not inferred:
        infer(len(pcm) // cfg.hop * cfg.hop)          # the file's end gets an inference
    assert [(d.time_s, d.label, d.score) for d in bulk] == loop
    assert len(loop) >= 5


def test_long_form_streams_draw_on_their_split_only(tone_run):
    from dadarts.data.datasets import load_dataset
    corpus, _ = tone_run
    ds = load_dataset(corpus, "gsc35", quiet=True, name_augment=None)
    lists = {s: set((corpus / f"{s}_list.txt").read_text().split()) for s in ("testing", "validation")}
    recipe = StreamRecipe(minutes=1.0, gap_s=(0.3, 1.0), block_s=10.0)
    sources = {}
    for split in ("testing", "validation"):
        pcm, truth = build_stream(ds, split, list(KEYWORDS), recipe)
        assert pcm.dtype == np.int16 and len(pcm) == 60 * 16000 and truth["seconds"] == 60
        events = truth["events"]
        sources[split] = {e["source"] for e in events}
        assert sources[split] <= lists[split]
        assert all(a["end_s"] < b["start_s"] for a, b in zip(events, events[1:]))
        assert {e["word"] for e in events if e["keyword"]} == set(KEYWORDS)
        assert {e["snr_db"] for e in events} > {None} and {e["rt60_s"] for e in events} > {0.0}
    assert not sources["testing"] & sources["validation"]
    again, _ = build_stream(ds, "testing", list(KEYWORDS), recipe)
    assert np.array_equal(again, build_stream(ds, "testing", list(KEYWORDS), recipe)[0])


def test_talk_streams_hold_unseen_words_and_voices_over_a_noise_floor(tone_run):
    from dadarts.data.datasets import load_dataset
    from dadarts.data.negatives import STREAM_WORDS, TRAINING_WORDS
    from dadarts.evaluate.stream_noise import KINDS
    from dadarts.evaluate.talk_streams import TalkRecipe
    corpus, _ = tone_run
    ds = load_dataset(corpus, "gsc35", quiet=True, name_augment=None)
    testing = set((corpus / "testing_list.txt").read_text().split())
    recipe = TalkRecipe(minutes=2.0, block_s=20.0)
    pcm, truth = recipe.build(ds, "testing", list(KEYWORDS))
    assert len(pcm) == 120 * 16000 and truth["recipe"]["recipe"] == "talk-1"
    events = truth["events"]
    assert all(a["end_s"] < b["start_s"] for a, b in zip(events, events[1:]))
    corpus_words = [e for e in events if not e["source"].startswith("negatives:")]
    assert {e["source"] for e in corpus_words} <= testing and {e["word"] for e in events if e["keyword"]} == set(KEYWORDS)
    unseen = {e["word"] for e in events if e["source"].startswith("negatives:testing:")}
    assert unseen and unseen <= set(STREAM_WORDS) and not unseen & set(TRAINING_WORDS)
    assert {b["noise"] for b in truth["blocks"]} <= set(KINDS) | {None}
    quietest = np.abs(pcm[: len(pcm) // 1600 * 1600].reshape(-1, 1600).astype(np.int64)).max(axis=1).min()
    assert quietest > 0                                   # a room tone everywhere: no digital silence
    assert np.array_equal(pcm, recipe.build(ds, "testing", list(KEYWORDS))[0])


def test_calibration_meets_its_false_accept_target(tone_run, capsys):
    corpus, run = tone_run
    before = (run.firmware / "recognizer_settings.h").read_text()
    assert main(["calibrate", str(run.root), "--max-fa-per-hour", "0", "--minutes", "3", "--windows", "250,500,1000",
                 "--suppressions", "500,1500"]) == 0
    cal = read_json(run.root / "stream" / "calibration.json", "stream_calibration")
    assert cal["chosen"]["false_accepts_per_hour"] <= 0 and cal["chosen"]["false_reject_rate"] < 0.5
    assert len(cal["grid"]) == 6 and cal["stream"]["split"] == "validation"
    # The written settings give that rate again on the calibration stream.
    models = load_run(run.root, need_int8=True)
    settings = read_settings(run.export / "recognizer.json")
    wav, truth = session.run_stream(models, session.stream_dataset(models, None), "validation", 3.0)
    again = session.metrics(models, session.model_outputs(models, wav, settings.inference_every_hops), truth, settings)
    assert again["operating_point"]["false_accepts_per_hour"] <= 0
    assert again["operating_point"]["false_reject_rate"] == cal["chosen"]["false_reject_rate"]
    header = (run.firmware / "recognizer_settings.h").read_text()
    assert header != before and "dadarts calibrate" in header
    macros = dict(re.findall(r"^#define (KWS_\w+) (\d+)$", header, re.MULTILINE))
    assert macros["KWS_AVERAGE_WINDOW_MS"] == str(settings.average_window_ms)
    assert macros["KWS_DETECTION_THRESHOLD"] == str(settings.detection_threshold)
    assert macros["KWS_SUPPRESSION_MS"] == str(settings.suppression_ms)
    assert macros["KWS_RECOGNIZER_HISTORY"] == str(settings.history(320))
    # The held-out test stream at the calibrated settings.
    assert main(["stream", str(run.root), "--minutes", "3"]) == 0
    metrics = read_json(run.root / "stream" / "metrics.json", "stream_metrics")
    assert metrics["stream"]["split"] == "testing" and metrics["settings"]["detection_threshold"] == settings.detection_threshold
    assert set(metrics["per_keyword"]) == set(KEYWORDS) and metrics["throughput"]["audio_hours_per_minute"] > 0
    json.dumps(metrics)


CAUSAL_CHAIN = {"stem": "conv_10x4_s2x1", "stem_channels": 32, "time_padding": "causal",
                "blocks": [{"op": "dw_3x3", "channels": 32, "stride": 2}, {"op": "dw_3x3", "channels": 32, "stride": 1},
                           {"op": "skip"}, {"op": "skip"}, {"op": "skip"}, {"op": "skip"}]}


def test_a_streaming_run_is_calibrated_on_its_step_model(tone_run, tmp_path, capsys):
    """calibrate --streaming: the step model's scores, one decision per step (4 frames, 80 ms), and the step
    model's output quantisation in the header the step build compiles; the flag must match the build."""
    from dadarts.export.pipeline import ExportInputs, ExportOptions, export_model
    corpus, _ = tone_run
    run = RunDir.of(tmp_path / "run")
    net, x_test, y_test, x_train, frontend = _train(corpus, run, "chain", {"arch": CAUSAL_CHAIN})
    inputs = ExportInputs(model=net, labels=LABELS, config=CONFIG, x_test=x_test, y_test=y_test,
                          x_calibration=x_train, frontend=frontend, run_name="tones-step", source=str(run.root))
    report = export_model(inputs, run, ExportOptions(int8=True, calibration_samples=64, tflm_samples=4, streaming=True),
                          log=lambda *_: None)
    assert report["int8"]["accuracy"] > 0.9 and report["streaming"]["frames_per_step"] == 4
    capsys.readouterr()
    args = ["calibrate", str(run.root), "--max-fa-per-hour", "0", "--minutes", "3", "--windows", "250,500",
            "--suppressions", "500"]
    assert main(args) == 2
    assert "holds the step model's build: add --streaming" in capsys.readouterr().err
    assert main([*args, "--streaming"]) == 0
    models = load_step(load_run(run.root, need_int8=True))
    settings = read_settings(run.export / "recognizer.json")
    assert settings.inference_every_hops == 4
    cal = read_json(run.root / "stream" / "calibration.json", "stream_calibration")
    assert cal["chosen"]["false_accepts_per_hour"] <= 0 and cal["chosen"]["false_reject_rate"] < 0.5
    wav, truth = session.run_stream(models, session.stream_dataset(models, None), "validation", 3.0)
    again = session.metrics(models, session.model_outputs(models, wav, 4), truth, settings)
    assert again["operating_point"]["false_reject_rate"] == cal["chosen"]["false_reject_rate"]
    # evaluate: a causal network's clips also as its stream step decides them, after the clips before each.
    assert main(["evaluate", str(run.root), "--data", str(corpus), "--name", "tones"]) == 0
    paths = read_json(run.root / "evaluate" / "tones" / "metrics.json", "evaluation")["paths"]
    assert paths["streamed_float"]["accuracy"] > 0.8 and paths["streamed_fixed"]["accuracy"] > 0.8
    assert "int8 step + fixed, streamed" in capsys.readouterr().out
    header = (run.firmware / "recognizer_settings.h").read_text()
    assert "#define KWS_INFERENCE_EVERY_HOPS 4" in header and "dadarts calibrate" in header
    exp = score_exp_table(*models.step.output_quant)       # the step model's scores, not the whole-window model's
    assert f"#define KWS_SCORE_EXP_LEN {len(exp)}" in header
    assert ", ".join(str(int(v)) for v in exp[:12]) in header


def test_schedule_follows_the_firmware_loop():
    from dadarts.evaluate.streaming import schedule
    # 640/320: a frame per 20 ms hop from the second hop, the ring of 49 frames full at one second.
    ends, times = schedule(100, 100, 640, 320, 49, 3)
    assert list(ends[:3]) == [48, 51, 54] and list(times[:3]) == [1000, 1060, 1120]
    assert times[-1] == 2000 and ends[-1] == 98                 # the file's end gets one more inference
    assert list(schedule(98, 98, 640, 320, 49, 3)[1][-2:]) == [1900, 1960]   # ... unless its last hop had one
    # A half-second file is padded to one second and gets exactly one inference there.
    pcm = device_pcm(np.ones(8000 + 100, np.int16), 320)
    assert len(pcm) == 16000 and pcm[8000:].max() == 0            # the partial last hop is silence too
    ends, times = schedule(len(pcm) // 320, 8100 // 320, 640, 320, 49, 3)
    assert list(times) == [1000] and list(ends) == [48]
