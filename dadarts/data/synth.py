"""The synthetic keyword corpus: offline TTS clips written in Google Speech Commands layout.

Every clip is seeded from (seed, word, voice, repeat), so the corpus is identical whatever the number
of workers. Splits are voice-disjoint: each voice's clips all land in one of train / validation /
testing, so accuracy on the test list is accuracy on voices never heard in training.
"""
from __future__ import annotations

import hashlib
import multiprocessing
import os
import shutil
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import UserError
from ..frontend.spec import CLIP_SAMPLES, SAMPLE_RATE
from .tts import Engines, Voice, all_voices
from .wavio import write_wav

GSC35_WORDS = ("backward", "bed", "bird", "cat", "dog", "down", "eight", "five", "follow", "forward", "four",
               "go", "happy", "house", "learn", "left", "marvin", "nine", "no", "off", "on", "one", "right",
               "seven", "sheila", "six", "stop", "three", "tree", "two", "up", "visual", "wow", "yes", "zero")
# Words for the babble background: not keywords, so babble never carries a label.
_BABBLE_WORDS = ("water", "table", "morning", "people", "window", "garden", "yellow", "summer", "little",
                 "coffee", "paper", "number", "because", "after", "music", "kitchen", "travel", "market")
NOISE_SECONDS = 30
CORPUS_VERSION = 1


@dataclass(frozen=True)
class SynthSettings:
    words: tuple[str, ...] = GSC35_WORDS
    voices: int = 200
    repeats: int = 2
    seed: int = 0
    validation_share: float = 0.1
    testing_share: float = 0.1


def voice_id(voice: Voice) -> str:
    return hashlib.sha1(voice.key.encode()).hexdigest()[:8]


def _rng(*parts) -> np.random.Generator:
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def choose_voices(settings: SynthSettings) -> dict[str, list[Voice]]:
    """Pick `voices` voices (all Pico personas, the rest espeak) and split them voice-disjointly."""
    pool = all_voices()
    pico = [v for v in pool if v.engine == "pico"]
    espeak = [v for v in pool if v.engine == "espeak"]
    n = settings.voices
    if n < 3:
        raise UserError(f"--voices {n} is too few: at least 3 voices are needed (one per split).")
    if n > len(pool):
        raise UserError(f"--voices {n} is more than the {len(pool)} voices available: ask for fewer.")
    rng = _rng(settings.seed, "voices")
    n_pico = min(len(pico), max(1, n // 16))
    chosen = [pico[i] for i in rng.permutation(len(pico))[:n_pico]]
    chosen += [espeak[i] for i in rng.permutation(len(espeak))[: n - n_pico]]
    chosen = [chosen[i] for i in rng.permutation(len(chosen))]
    n_test = max(1, round(settings.testing_share * n))
    n_val = max(1, round(settings.validation_share * n))
    return {"testing": chosen[:n_test], "validation": chosen[n_test:n_test + n_val],
            "train": chosen[n_test + n_val:]}


def _trim(audio: np.ndarray, threshold: float = 0.02) -> np.ndarray:
    loud = np.flatnonzero(np.abs(audio) > threshold * max(1e-9, np.abs(audio).max()))
    return audio[loud[0]: loud[-1] + 1] if loud.size else audio[:0]


def make_noise(kind: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """Locally generated background noise, unit RMS."""
    white = rng.standard_normal(n)
    if kind == "white":
        x = white
    elif kind in ("pink", "brown"):
        spec = np.fft.rfft(white)
        f = np.maximum(np.fft.rfftfreq(n, 1 / SAMPLE_RATE), 1.0)
        x = np.fft.irfft(spec / (np.sqrt(f) if kind == "pink" else f), n)
    elif kind == "hum":
        t = np.arange(n) / SAMPLE_RATE
        mains = rng.choice([50.0, 60.0])
        x = sum(rng.uniform(0.2, 1.0) / k * np.sin(2 * np.pi * mains * k * t + rng.uniform(0, 6.3))
                for k in range(1, 8)) + 0.05 * white
    elif kind == "tap":  # running water: band-passed noise with a slow random envelope
        spec = np.fft.rfft(white)
        f = np.fft.rfftfreq(n, 1 / SAMPLE_RATE)
        spec *= np.exp(-0.5 * ((f - 2500.0) / 1200.0) ** 2)
        env = np.interp(np.arange(n), np.linspace(0, n, 40), rng.uniform(0.5, 1.0, 40))
        x = np.fft.irfft(spec, n) * env
    else:
        raise ValueError(kind)
    return (x / (np.sqrt(np.mean(x ** 2)) + 1e-12)).astype(np.float32)


_ENGINES: Engines | None = None


def _engines() -> Engines:
    global _ENGINES
    if _ENGINES is None:
        _ENGINES = Engines()
    return _ENGINES


def render_clip(voice: Voice, word: str, repeat: int, seed: int) -> np.ndarray:
    """One 1 s clip: the word at a random place, random level, light generated noise. int16."""
    rng = _rng(seed, word, voice.key, repeat)
    tempo = 1.0
    for _ in range(4):  # speak faster until the word fits comfortably in the second
        speech = _trim(_engines().say(voice, word, rng, tempo))
        if 0 < speech.size <= int(0.9 * CLIP_SAMPLES):
            break
        tempo *= 1.3
    speech = speech[: int(0.9 * CLIP_SAMPLES)]
    clip = np.zeros(CLIP_SAMPLES, np.float32)
    if speech.size:
        start = int(rng.integers(0, CLIP_SAMPLES - speech.size + 1))
        clip[start:start + speech.size] = speech / (np.abs(speech).max() + 1e-9)
    peak = 10 ** (rng.uniform(-20, -1) / 20)
    clip *= peak
    speech_rms = np.sqrt(np.mean(clip[clip != 0] ** 2)) if np.any(clip) else peak
    snr_db = rng.uniform(15, 40)
    kind = rng.choice(["white", "pink", "brown", "hum"])
    clip += make_noise(kind, CLIP_SAMPLES, rng) * speech_rms * 10 ** (-snr_db / 20)
    return np.clip(np.round(clip * 32767), -32768, 32767).astype(np.int16)


def _write_job(job) -> int:
    """All clips of one word, in a fixed order (runs in a fresh process: see tts.py)."""
    out, word, voices, repeats, seed = job
    for voice in voices:
        vid = voice_id(voice)
        for k in range(repeats):
            write_wav(out / word / f"{vid}_nohash_{k}.wav", render_clip(voice, word, k, seed))
    return len(voices) * repeats


def _write_background(out: Path, settings: SynthSettings, babble_voices: list[Voice]) -> None:
    bg = out / "_background_noise_"
    bg.mkdir(parents=True, exist_ok=True)
    n = NOISE_SECONDS * SAMPLE_RATE
    for kind in ("white", "pink", "brown", "hum", "tap"):
        rng = _rng(settings.seed, "noise", kind)
        write_wav(bg / f"{kind}_noise.wav", 0.3 * make_noise(kind, n, rng) / 3.0)
    rng = _rng(settings.seed, "noise", "babble")
    babble = np.zeros(n, np.float32)
    for i in range(int(NOISE_SECONDS * 6)):  # ~6 overlapping words per second
        voice = babble_voices[int(rng.integers(len(babble_voices)))]
        word = _BABBLE_WORDS[int(rng.integers(len(_BABBLE_WORDS)))]
        speech = _engines().say(voice, word, rng, 1.0)[: SAMPLE_RATE]
        start = int(rng.integers(0, n - speech.size))
        babble[start:start + speech.size] += speech * rng.uniform(0.2, 1.0)
    write_wav(bg / "babble_noise.wav", 0.3 * babble / (np.abs(babble).max() + 1e-9))
    (bg / "README.md").write_text("Background noise generated locally by dadarts (white, pink, brown, mains hum,\n"
                                  "running tap, babble of non-keyword TTS words). 16 kHz mono 16-bit.\n")


def synthesize(out: str | Path, settings: SynthSettings = SynthSettings(), jobs: int | None = None,
               progress: bool = True) -> dict:
    """Write the corpus into `out` (created; must be empty or absent). Returns a summary dict."""
    from tqdm import tqdm

    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise UserError(f"{out} is not empty: give a new folder for the corpus (nothing was overwritten).")
    unknown = [w for w in settings.words if not w.isascii() or not w.replace("_", "").isalpha()]
    if unknown or not settings.words:
        raise UserError(f"--words must be plain ASCII words separated by commas (got {', '.join(unknown) or 'none'}).")
    splits = choose_voices(settings)
    out.mkdir(parents=True, exist_ok=True)
    for word in settings.words:
        (out / word).mkdir(exist_ok=True)
    voices = [v for split in ("train", "validation", "testing") for v in splits[split]]
    job_list = [(out, w, voices, settings.repeats, settings.seed) for w in settings.words]
    jobs = jobs or min(len(os.sched_getaffinity(0)), 8)
    total = len(job_list) * len(voices) * settings.repeats
    start = time.perf_counter()
    bar = tqdm(total=total, unit="clip", desc="synth", disable=not progress)
    # One fresh process per word: espeak-ng's output depends on what its process spoke before.
    fresh = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(jobs, mp_context=fresh, max_tasks_per_child=1) as pool:
        background = pool.submit(_write_background, out, settings, splits["train"])
        for n in pool.map(_write_job, job_list):
            bar.update(n)
        background.result()
    bar.close()
    seconds = time.perf_counter() - start
    for split, name in (("validation", "validation_list.txt"), ("testing", "testing_list.txt")):
        ids = {voice_id(v) for v in splits[split]}
        lines = sorted(f"{w}/{vid}_nohash_{k}.wav" for w in settings.words for vid in ids
                       for k in range(settings.repeats))
        (out / name).write_text("\n".join(lines) + "\n")
    summary = {"clips": total, "seconds": round(seconds, 2), "clips_per_s": round(total / max(seconds, 1e-9), 1),
               "voices": {k: len(v) for k, v in splits.items()}, "words": len(settings.words)}
    (out / "SYNTH.txt").write_text(
        f"dadarts synthetic corpus v{CORPUS_VERSION}: seed {settings.seed}, {settings.voices} voices "
        f"x {len(settings.words)} words x {settings.repeats} repeats; voice-disjoint splits "
        f"{summary['voices']}.\nVoices by split:\n" +
        "".join(f"{s} {voice_id(v)} {v.key}\n" for s in splits for v in splits[s]))
    return summary


def cache_dir() -> Path:
    return Path(os.environ.get("DADARTS_CACHE", Path.home() / ".cache" / "dadarts"))


def default_corpus(progress: bool = True) -> Path:
    """The built-in corpus, generated once into the cache directory and reused afterwards.

    A lock file makes concurrent first runs wait for one generator instead of racing."""
    import fcntl

    settings = SynthSettings()
    path = cache_dir() / f"synth-v{CORPUS_VERSION}-seed{settings.seed}-{settings.voices}v{settings.repeats}r"
    if (path / "SYNTH.txt").is_file():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (path / "SYNTH.txt").is_file():
            return path
        tmp = path.with_name(path.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        print(f"dadarts: generating the built-in synthetic corpus once into {path} ...")
        summary = synthesize(tmp, settings, progress=progress)
        print(f"dadarts: {summary['clips']} clips at {summary['clips_per_s']} clips/s")
        os.replace(tmp, path)
    return path
