"""The synthetic keyword corpus: offline TTS utterances written in Google Speech Commands layout.

Voices come from five engine families (tts.py) so that a model can be tested on a family it never
heard (`--holdout-engine`), and from as many base voices (speaker identities) as this machine has;
each base voice speaks through several voices (espeak-ng accents, personas of their own pitch, rate,
vocal-tract length and speed). Each utterance is perturbed (speed by resampling, vocal-tract-length warp
of the spectrum, pitch contour and rate from the engine) and placed at a random time in the second.

Dry speech once, conditions every epoch: the training voices' utterances are stored dry, and training
applies a new room, microphone, noise at a drawn SNR, level and time shift to each example at every
epoch (conditions.py). The validation and test voices' clips carry conditions drawn once from their own
seed, rooms and noise (`_heldout_noise_/`, disjoint from the training noise in `_background_noise_/`),
so figures on them stay comparable. CONDITIONS.json says so to the loader.

Every clip is seeded from (seed, word, voice, repeat), so the corpus is identical whatever the number
of workers. Splits are disjoint by base voice and stratified by engine family: a base voice's clips all
land in one of train / validation / testing, so accuracy on the test list is accuracy on speakers never
heard in training, under any accent or persona.
"""
from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import re
import shutil
import unicodedata
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import UserError
from ..frontend.spec import CLIP_SAMPLES, SAMPLE_RATE, check_clip, ms_to_samples
from .tts import (ENGINE_FAMILIES, Engines, Persona, Voice, base_voices, missing_engines, resample_to_16k,
                  voice_of)
from .wavio import read_wav, write_wav

GSC35_WORDS = ("backward", "bed", "bird", "cat", "dog", "down", "eight", "five", "follow", "forward", "four",
               "go", "happy", "house", "learn", "left", "marvin", "nine", "no", "off", "on", "one", "right",
               "seven", "sheila", "six", "stop", "three", "tree", "two", "up", "visual", "wow", "yes", "zero")
# Words for the babble background: not keywords, so babble never carries a label.
_BABBLE_WORDS = ("water", "table", "morning", "people", "window", "garden", "yellow", "summer", "little",
                 "coffee", "paper", "number", "because", "after", "music", "kitchen", "travel", "market")
NOISE_SECONDS = 30
# 3: dry training speech (conditions on the fly), splits disjoint by base voice, foreign MBROLA voices.
CORPUS_VERSION = 3
# Voices per engine family (a missing family's share goes to espeak).
# Shares follow the base voices a family has and what a clip costs (ms per dry clip on one core here:
# espeak 7.5, pico 10, mbrola 26, rhvoice 47, piper 74): Piper's one speaker gets no more than 8 %.
FAMILY_SHARE = {"espeak": 0.45, "mbrola": 0.25, "pico": 0.07, "rhvoice": 0.15, "piper": 0.08}
NOISE_KINDS = ("white", "pink", "brown", "hum", "tap", "fan", "traffic", "babble")
WORDS_PER_JOB = 3
# At --scale 1: 1 000 voices x 1 rendition = 1 000 utterances per word, ~820 of them dry (training voices).
# Sized so that the README's main job stays within 20 minutes with the corpus cached (its search and
# training epochs grow with the training split); --scale 1.9 gives >= 1 500 dry utterances per word.
# One rendition per voice: at equal training steps, halving the renditions cost nothing on real speech,
# halving the voices 3 points (docs/data.md, learning curve).
DEFAULT_VOICES = 1000
HELDOUT_NOISE = "_heldout_noise_"
CONDITIONS_FILE = "CONDITIONS.json"


@dataclass(frozen=True)
class SynthSettings:
    """`words` are texts the engines say (a phrase of several words too), each in the folder `label_of`
    names; every voice says each of them. `sparse_words` are said by every `sparse_every`-th voice of each
    split only (many negatives at a fraction of the cost). `engines` limits the families (empty: all);
    `measure_only` puts every voice in the testing split and marks the folder MEASURE_ONLY (datasets.py)."""
    words: tuple[str, ...] = GSC35_WORDS
    voices: int = DEFAULT_VOICES
    repeats: int = 1
    seed: int = 0
    validation_share: float = 0.1
    testing_share: float = 0.1
    sparse_words: tuple[str, ...] = ()
    sparse_every: int = 1
    engines: tuple[str, ...] = ()
    measure_only: bool = False
    clip_ms: int = 1000               # clip length: a phrase longer than a word needs a longer window

    @classmethod
    def scaled(cls, scale: float, **kw) -> "SynthSettings":
        """The default corpus with `scale` times its voices (more speech per word, longer to build)."""
        if scale <= 0:
            raise UserError(f"--scale {scale} must be positive (1 is the default corpus).")
        return cls(voices=max(10, int(round(DEFAULT_VOICES * scale))), **kw)


def label_of(text: str) -> str:
    """The folder (label) name of a text: ASCII letters and digits, words joined by '_' ("Hey Kettle!" ->
    "hey_kettle"); a text with no Latin letter gets a digest ("w" + 8 hex digits)."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    label = re.sub(r"[^a-z0-9]+", "_", folded).strip("_")
    return label or "w" + hashlib.sha1(text.encode()).hexdigest()[:8]


def check_words(texts) -> None:
    """One sentence for texts the corpus cannot hold: none, one without a letter, two with one label."""
    bad = [t for t in texts if not any(ch.isalpha() for ch in t)]
    if bad or not texts:
        raise UserError(f"Words must be texts with at least one letter, separated by commas (got "
                        f"{', '.join(repr(t) for t in bad) or 'none'}).")
    seen: dict[str, str] = {}
    for t in texts:
        if label_of(t) in seen and seen[label_of(t)] != t:
            raise UserError(f"'{seen[label_of(t)]}' and '{t}' would share the folder {label_of(t)}: give one of them.")
        seen[label_of(t)] = t


def voice_id(voice: Voice) -> str:
    return hashlib.sha1(voice.key.encode()).hexdigest()[:8]


def _rng(*parts) -> np.random.Generator:
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def split_bases(bases: list[str], settings: SynthSettings, rng: np.random.Generator) -> dict[str, list[str]]:
    """A family's base voices split disjointly: ~10 % each to testing and validation (at least one each
    from 3 base voices on), the rest to training; 2 base voices: one trains, one tests; 1: it trains."""
    order = [bases[i] for i in rng.permutation(len(bases))]
    n = len(order)
    if settings.measure_only:
        return {"testing": order, "validation": [], "train": []}
    if n >= 3:
        n_test = max(1, round(settings.testing_share * n))
        n_val = max(1, round(settings.validation_share * n))
    else:
        n_test, n_val = (1, 0) if n == 2 else (0, 0)
    return {"testing": order[:n_test], "validation": order[n_test:n_test + n_val], "train": order[n_test + n_val:]}


def choose_voices(settings: SynthSettings, quiet: bool = False) -> dict[str, list[Voice]]:
    """`voices` voices spread over the engine families, split disjointly by base voice (tts.Voice.base).
    Within a family, testing and validation get ~10 % of its voices each when they have base voices,
    spread over them (accents, personas). A family whose engine is missing is left out with a warning."""
    bases = base_voices()
    if not quiet:
        for family, why in missing_engines().items():
            print(f"dadarts: warning: the corpus is built without {family} voices: {why}.")
    n = settings.voices
    if n < 3:
        raise UserError(f"--voices {n} is too few: at least 3 voices are needed (one per split).")
    unknown = sorted(set(settings.engines) - set(ENGINE_FAMILIES))
    if unknown:
        raise UserError(f"No speech engine '{unknown[0]}': choose among {', '.join(ENGINE_FAMILIES)}.")
    families = [f for f in ENGINE_FAMILIES if bases.get(f) and (not settings.engines or f in settings.engines)]
    if not families:
        raise UserError(f"None of the engines {', '.join(settings.engines)} is installed on this machine.")
    # The first family (espeak, with the most voices) takes what the others' shares leave.
    quota = {f: int(round(FAMILY_SHARE[f] * n)) for f in families[1:]}
    quota[families[0]] = n - sum(quota.values())
    rng = _rng(settings.seed, "voices")
    splits: dict[str, list[Voice]] = {"testing": [], "validation": [], "train": []}
    for family in families:
        parts = split_bases(bases[family], settings, rng)
        q = quota[family]
        count = {s: (max(1, round(share * q)) if parts[s] and q >= 3 else 0)
                 for s, share in (("testing", settings.testing_share), ("validation", settings.validation_share))}
        if settings.measure_only:
            count["testing"] = q
        count["train"] = q - sum(count.values()) if parts["train"] else 0
        for split, names in parts.items():
            splits[split] += [voice_of(family, names[j % len(names)], j // len(names)) for j in range(count[split])]
    for split in ("testing",) if settings.measure_only else ("testing", "validation", "train"):
        if not splits[split]:
            raise UserError(f"--voices {n} leaves the {split} split without a voice: ask for more voices.")
    return splits


def word_voices(settings: SynthSettings, splits: dict[str, list[Voice]]) -> list[tuple[str, list[Voice]]]:
    """(text, the voices that say it) for every word: all voices for `words`, every `sparse_every`-th voice
    of each split for `sparse_words` (shifted per word, so that the sparse words spread over the voices)."""
    voices = [v for split in ("train", "validation", "testing") for v in splits[split]]
    plan = [(w, voices) for w in settings.words]
    for j, word in enumerate(settings.sparse_words):
        plan.append((word, [v for split in ("train", "validation", "testing") for i, v in enumerate(splits[split])
                            if (i + j) % settings.sparse_every == 0]))
    return plan


def _trim(audio: np.ndarray, threshold: float = 0.02, fade: int = 80) -> np.ndarray:
    """The audio between the first and last sample above `threshold` x peak, with 5 ms fades."""
    loud = np.flatnonzero(np.abs(audio) > threshold * max(1e-9, np.abs(audio).max()))
    if not loud.size:
        return audio[:0]
    out = audio[loud[0]: loud[-1] + 1].copy()
    ramp = np.linspace(0.0, 1.0, min(fade, out.size // 2))
    if ramp.size:
        out[:ramp.size] *= ramp
        out[-ramp.size:] *= ramp[::-1]
    return out


def _shaped(white: np.ndarray, gain_of_f) -> np.ndarray:
    """White noise through a zero-phase filter whose gain is `gain_of_f(frequency in Hz)`."""
    f = np.fft.rfftfreq(white.size, 1 / SAMPLE_RATE)
    return np.fft.irfft(np.fft.rfft(white) * gain_of_f(np.maximum(f, 1.0)), white.size)


def _envelope(n: int, points: int, low: float, rng: np.random.Generator) -> np.ndarray:
    return np.interp(np.arange(n), np.linspace(0, n, points), rng.uniform(low, 1.0, points))


def make_noise(kind: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """Locally generated background noise, unit RMS: the colours, mains hum, running tap, a fan
    (broadband whoosh plus blade tones), traffic (rumble swelling as vehicles pass) and babble-shaped
    noise (speech spectrum with a syllable-rate envelope)."""
    white = rng.standard_normal(n)
    t = np.arange(n) / SAMPLE_RATE
    if kind == "white":
        x = white
    elif kind in ("pink", "brown"):
        x = _shaped(white, (lambda f: 1 / np.sqrt(f)) if kind == "pink" else (lambda f: 1 / f))
    elif kind == "hum":
        mains = rng.choice([50.0, 60.0])
        x = sum(rng.uniform(0.2, 1.0) / k * np.sin(2 * np.pi * mains * k * t + rng.uniform(0, 6.3))
                for k in range(1, 8)) + 0.05 * white
    elif kind == "tap":  # running water: band-passed noise with a slow random envelope
        x = _shaped(white, lambda f: np.exp(-0.5 * ((f - 2500.0) / 1200.0) ** 2)) * _envelope(n, 40, 0.5, rng)
    elif kind == "fan":
        blade = rng.uniform(60, 200)
        whoosh = _shaped(white, lambda f: 1 / np.sqrt(f) * np.exp(-f / 3000))
        x = whoosh / whoosh.std() + sum(0.5 / k * np.sin(2 * np.pi * blade * k * t + rng.uniform(0, 6.3))
                                        for k in range(1, 4))
    elif kind == "traffic":
        x = _shaped(white, lambda f: 1 / f * (f > 20)) * _envelope(n, max(2, n // SAMPLE_RATE // 3), 0.1, rng)
    elif kind == "babble":
        x = _shaped(white, lambda f: np.exp(-0.5 * (np.log(f / 500.0) / 0.8) ** 2))
        x *= 0.4 + _envelope(n, max(2, 4 * n // SAMPLE_RATE), 0.0, rng)
    else:
        raise ValueError(kind)
    return (x / (np.sqrt(np.mean(x ** 2)) + 1e-12)).astype(np.float32)


def speed(audio: np.ndarray, factor: float) -> np.ndarray:
    """Speed perturbation: play `factor` times faster by resampling (pitch and formants move too)."""
    return resample_to_16k(audio, int(round(SAMPLE_RATE * factor)))


def vtl_warp(audio: np.ndarray, alpha: float, n_fft: int = 512, hop: int = 128) -> np.ndarray:
    """Vocal-tract-length perturbation: scale the spectral envelope's frequency axis by `alpha` (> 1
    raises formants, as a shorter vocal tract) with a short-time Fourier transform, keeping the timing."""
    if abs(alpha - 1.0) < 1e-3 or audio.size < n_fft:
        return audio
    window = np.hanning(n_fft + 1)[:-1]
    padded = np.pad(audio, (n_fft, 2 * n_fft))        # every real sample under full window overlap
    frames = 1 + (padded.size - n_fft) // hop
    idx = np.arange(n_fft)[None, :] + hop * np.arange(frames)[:, None]
    spec = np.fft.rfft(padded[idx] * window, axis=1)
    bins = np.arange(spec.shape[1])
    source = np.clip(bins / alpha, 0, bins[-1])
    lo = np.floor(source).astype(int)
    hi, w = np.minimum(lo + 1, bins[-1]), source - lo
    magnitude = (1 - w) * np.abs(spec[:, lo]) + w * np.abs(spec[:, hi])
    warped = np.fft.irfft(magnitude * np.exp(1j * np.angle(spec)), n_fft, axis=1) * window
    out = np.zeros(padded.size)
    norm = np.zeros(padded.size)
    np.add.at(out, idx, warped)
    np.add.at(norm, idx, np.broadcast_to(window ** 2, idx.shape))
    return (out / np.maximum(norm, 1e-3))[n_fft: n_fft + audio.size].astype(np.float32)


_ENGINES: Engines | None = None


def _engines() -> Engines:
    global _ENGINES
    if _ENGINES is None:
        _ENGINES = Engines()
    return _ENGINES


def dry_clip(voice: Voice, word: str, repeat: int, seed: int, samples: int = CLIP_SAMPLES) -> np.ndarray:
    """One dry clip of `samples` (1 s by default) of `word` by `voice` (module docstring), peak at -3 dBFS,
    placed anywhere in the clip. int16."""
    rng = _rng(seed, word, voice.key, repeat)
    persona = Persona.of(voice, _rng(seed, "persona", voice.key))
    tempo = 1.0
    fits = int(0.85 * samples)
    for _ in range(4):  # speak faster until the word fits comfortably in the clip
        speech = _engines().say(voice, word, rng, tempo, persona)
        speech = _trim(speed(speech, persona.speed * rng.uniform(0.96, 1.04)))
        if 0 < speech.size <= fits:
            break
        tempo *= 1.3
    speech = vtl_warp(speech[:fits], persona.vtl * rng.uniform(0.97, 1.03))
    clip = np.zeros(samples, np.float32)
    if speech.size:
        start = int(rng.integers(0, samples - speech.size + 1))
        clip[start:start + speech.size] = 0.7 * speech / (np.abs(speech).max() + 1e-9)
    return np.clip(np.round(clip * 32767), -32768, 32767).astype(np.int16)


def natural_length(voice: Voice, text: str, seed: int = 0) -> int:
    """Samples `voice` takes to say `text` at its own pace (before dry_clip speeds a long text up to fit)."""
    rng = _rng(seed, text, voice.key, 0)
    persona = Persona.of(voice, _rng(seed, "persona", voice.key))
    return int(_trim(speed(_engines().say(voice, text, rng, 1.0, persona), persona.speed)).size)


def _median_seconds(job) -> list[float]:
    texts, voices, seed = job
    return [float(np.median([natural_length(v, t, seed) for v in voices])) / SAMPLE_RATE for t in texts]


def spoken_seconds(texts, settings: SynthSettings = SynthSettings(), sample: int = 24) -> dict[str, float]:
    """How long each text lasts said at the voices' own pace: the median over `sample` voices of every
    engine of `settings`' corpus. Measured in a fresh process (see tts.py: espeak-ng's output depends on
    what its process said before, and this one's later clips must not)."""
    splits = choose_voices(settings, quiet=True)
    voices = [v for split in ("train", "validation", "testing") for v in splits[split]]
    voices = voices[::max(1, len(voices) // sample)][:sample]
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        seconds = pool.submit(_median_seconds, (list(texts), voices, settings.seed)).result()
    return dict(zip(texts, seconds))


def _write_job(job) -> int:
    """All clips of a few words, in a fixed order (runs in a fresh process: see tts.py)."""
    out, plan, repeats, seed, samples = job
    for word, voices in plan:
        for voice in voices:
            vid = voice_id(voice)
            for k in range(repeats):
                write_wav(out / label_of(word) / f"{vid}_nohash_{k}.wav", dry_clip(voice, word, k, seed, samples))
    return sum(len(voices) for _, voices in plan) * repeats


def _write_noise(folder: Path, settings: SynthSettings, name: str, babble_voices: list[Voice]) -> None:
    """30 s of each noise kind into `folder`; the babble is non-keyword words of `babble_voices`."""
    folder.mkdir(parents=True, exist_ok=True)
    n = NOISE_SECONDS * SAMPLE_RATE
    for kind in NOISE_KINDS[:-1]:   # the babble file is real (TTS) babble, below
        rng = _rng(settings.seed, name, kind)
        write_wav(folder / f"{kind}_noise.wav", 0.3 * make_noise(kind, n, rng) / 3.0)
    rng = _rng(settings.seed, name, "babble")
    babble = np.zeros(n, np.float32)
    for i in range(int(NOISE_SECONDS * 6)):  # ~6 overlapping words per second
        voice = babble_voices[int(rng.integers(len(babble_voices)))]
        word = _BABBLE_WORDS[int(rng.integers(len(_BABBLE_WORDS)))]
        speech = _engines().say(voice, word, rng, 1.0)[: SAMPLE_RATE]
        start = int(rng.integers(0, n - speech.size))
        babble[start:start + speech.size] += speech * rng.uniform(0.2, 1.0)
    write_wav(folder / "babble_noise.wav", 0.3 * babble / (np.abs(babble).max() + 1e-9))


def _write_background(out: Path, settings: SynthSettings, splits: dict[str, list[Voice]]) -> None:
    """Training noise (`_background_noise_`, babble of training voices) and held-out noise for the frozen
    validation and test conditions (`_heldout_noise_`, other seeds, babble of held-out voices).
    Babble comes from espeak voices only: the other families stay unheard when one is held out."""
    def espeak_of(voices):
        return [v for v in voices if v.engine == "espeak"] or voices
    _write_noise(out / "_background_noise_", settings, "noise", espeak_of(splits["train"] or splits["testing"]))
    _write_noise(out / HELDOUT_NOISE, settings, "heldout-noise", espeak_of(splits["validation"] + splits["testing"]))
    for folder, what in (("_background_noise_", "training"), (HELDOUT_NOISE, "the frozen validation and test conditions")):
        (out / folder / "README.md").write_text(
            f"Background noise for {what}, generated locally by dadarts (white, pink, brown, mains hum, running\n"
            f"tap, fan, traffic, babble of non-keyword espeak-ng words). 16 kHz mono 16-bit.\n")


def _freeze_heldout(out: Path, settings: SynthSettings, lists: dict[str, list[str]]) -> None:
    """Give the validation and test clips their conditions once (conditions.py), from their own seed,
    rooms and the held-out noise; the training clips stay dry."""
    from .conditions import ConditionSettings, render
    noises = [read_wav(p).astype(np.float32) / 32768.0 for p in sorted((out / HELDOUT_NOISE).glob("*.wav"))]
    for split, files in lists.items():
        if not files:
            continue
        audio = np.stack([read_wav(out / f) for f in files])
        seed = int.from_bytes(hashlib.sha256(f"{settings.seed}|frozen|{split}".encode()).digest()[:4], "little")
        for f, clip in zip(files, render(audio, ConditionSettings(), noises, seed)):
            write_wav(out / f, clip)


def synthesize(out: str | Path, settings: SynthSettings = SynthSettings(), jobs: int | None = None,
               progress: bool = True) -> dict:
    """Write the corpus into `out` (created; must be empty or absent). Returns a summary dict."""
    from tqdm import tqdm

    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise UserError(f"{out} is not empty: give a new folder for the corpus (nothing was overwritten).")
    check_words(settings.words + settings.sparse_words)
    try:
        check_clip(ms_to_samples(settings.clip_ms))
    except ValueError as exc:
        raise UserError(f"--clip-ms {settings.clip_ms}: {exc}") from None
    if settings.sparse_every < 1:
        raise UserError("sparse_every must be at least 1.")
    splits = choose_voices(settings)
    out.mkdir(parents=True, exist_ok=True)
    plan = word_voices(settings, splits)
    for word, _ in plan:
        (out / label_of(word)).mkdir(exist_ok=True)
    voices = [v for split in ("train", "validation", "testing") for v in splits[split]]
    # A job says about WORDS_PER_JOB words' worth of clips: the sparse words go many to a job.
    chunks, load = [[]], 0
    for item in plan:
        if load + len(item[1]) > WORDS_PER_JOB * len(voices):
            chunks.append([])
            load = 0
        chunks[-1].append(item)
        load += len(item[1])
    samples = ms_to_samples(settings.clip_ms)
    job_list = [(out, chunk, settings.repeats, settings.seed, samples) for chunk in chunks]
    jobs = jobs or min(len(os.sched_getaffinity(0)), 8)
    total = sum(len(v) for _, v in plan) * settings.repeats
    start = time.perf_counter()
    bar = tqdm(total=total, unit="clip", desc="synth", disable=not progress)
    # One fresh process per job: espeak-ng's output depends on what its process spoke before.
    fresh = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(jobs, mp_context=fresh, max_tasks_per_child=1) as pool:
        background = pool.submit(_write_background, out, settings, splits)
        for n in pool.map(_write_job, job_list):
            bar.update(n)
        background.result()
    bar.close()
    lists = {}
    for split, name in (("validation", "validation_list.txt"), ("testing", "testing_list.txt")):
        ids = {voice_id(v) for v in splits[split]}
        lists[split] = sorted(f"{label_of(w)}/{voice_id(v)}_nohash_{k}.wav" for w, said_by in plan
                              for v in said_by if voice_id(v) in ids for k in range(settings.repeats))
        (out / name).write_text("\n".join(lists[split]) + "\n")
    _freeze_heldout(out, settings, lists)
    seconds = time.perf_counter() - start
    engines = {f: sum(v.engine == f for v in voices) for f in ENGINE_FAMILIES if any(v.engine == f for v in voices)}
    bases = {s: {f: len({v.base for v in splits[s] if v.engine == f}) for f in engines} for s in splits}
    summary = {"clips": total, "seconds": round(seconds, 2), "clips_per_s": round(total / max(seconds, 1e-9), 1),
               "voices": {k: len(v) for k, v in splits.items()}, "words": len(plan), "engines": engines,
               "base_voices": bases, "utterances_per_word": len(voices) * settings.repeats,
               "train_utterances_per_word": len(splits["train"]) * settings.repeats}
    (out / CONDITIONS_FILE).write_text(json.dumps(
        {"schema": 1, "kind": "corpus_conditions", "train": "dry", "validation": "frozen", "testing": "frozen",
         "heldout_noise": HELDOUT_NOISE}, indent=1) + "\n")
    (out / "SYNTH.txt").write_text(
        f"dadarts synthetic corpus v{CORPUS_VERSION}: seed {settings.seed}, {settings.voices} voices "
        f"x {len(settings.words)} words x {settings.repeats} repeats"
        + (f" and {len(settings.sparse_words)} words by every {settings.sparse_every}th voice" if settings.sparse_words else "")
        + (f"; engines {', '.join(settings.engines)}" if settings.engines else "")
        + (f"; clips of {settings.clip_ms} ms" if settings.clip_ms != 1000 else "")
        + f"; splits disjoint by base voice "
        f"{summary['voices']}; voices per engine {engines}; base voices per split and engine {bases}; "
        f"training clips are dry, validation and testing clips carry frozen conditions.\nVoices by split:\n" +
        "".join(f"{s} {voice_id(v)} {v.key}\n" for s in splits for v in splits[s]))
    if settings.measure_only:
        from .datasets import MEASURE_ONLY
        (out / MEASURE_ONLY).write_text("Measure only: every voice of this synthetic folder is held out for testing.\n")
    return summary


def cache_dir() -> Path:
    return Path(os.environ.get("DADARTS_CACHE", Path.home() / ".cache" / "dadarts"))


def default_corpus(progress: bool = True) -> Path:
    """The built-in corpus, generated once into the cache directory and reused afterwards.

    A lock file makes concurrent first runs wait for one generator instead of racing."""
    import fcntl

    settings = SynthSettings()
    # A machine with other engines or voices builds (and caches) another corpus: name it by what it
    # lacks and by a digest of the base voices it has.
    lacking = "".join(f"-no-{f}" for f in sorted(missing_engines()))
    inventory = hashlib.sha1(json.dumps(base_voices(), sort_keys=True).encode()).hexdigest()[:6]
    path = cache_dir() / (f"synth-v{CORPUS_VERSION}-seed{settings.seed}-{settings.voices}v{settings.repeats}r"
                          f"-{inventory}{lacking}")
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
