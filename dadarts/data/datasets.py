"""Keyword-spotting tasks over any folder in Google Speech Commands layout.

A dataset is a list of clips per split (train / validation / testing, from the standard list files)
with a label per clip. Tasks: `gsc35` (all 35 words), `gsc12` (10 words + `_silence_` + `_unknown_`,
the standard 12-class benchmark) and `names` (name detection: the given names + `_unknown_`).
Unusable files are skipped with one counted warning instead of a traceback later on.

A folder of recordings kept for measuring only (a `MEASURE_ONLY` file in it or a folder above it, or a
path under one listed in DADARTS_MEASURE_ONLY) is refused here, the loader of every stage that learns or
tunes (search, train, export's calibration, features): only `load_test_folder` (evaluate, stream) reads it.

`_silence_` clips of each split are cut from their own part of every background-noise file (train the
first 80 %, validation the next 10 %, testing the last 10 %), so no test clip is noise heard in training.
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import UserError
from ..frontend.spec import CLIP_SAMPLES
from .engine_split import hold_out_engine
from .name_augment import NameAugment, augment_clip
from .synth import GSC35_WORDS
from .wavio import BadWav, check_header, read_wav

GSC12_WORDS = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go")
DEFAULT_NAMES = ("marvin", "sheila")
TASKS = ("gsc35", "gsc12", "names")
SPLITS = ("train", "validation", "testing")
SILENCE, UNKNOWN = "_silence_", "_unknown_"
BACKGROUND = "_background_noise_"
MEASURE_ONLY = "MEASURE_ONLY"
# Where each split's `_silence_` clips and the training noise come from, as fractions of a noise file.
NOISE_REGIONS = {"train": (0.0, 0.8), "validation": (0.8, 0.9), "testing": (0.9, 1.0)}
# TensorFlow's speech_commands convention: silence and unknown each add 10 % of the keyword clips.
SILENCE_PERCENT = 10
UNKNOWN_PERCENT = 10


@dataclass(frozen=True)
class Clip:
    """One example. `path` is relative to the dataset root; silence clips have no file (`path` None)
    and are cut from background noise file `noise` at `offset`, scaled by `gain`. `copy` >= 0 marks an
    augmented copy of the file (name-detection balancing, training split only)."""
    path: str | None
    label: int
    word: str
    speaker: str
    noise: int = -1
    offset: int = 0
    gain: float = 0.0
    copy: int = -1


@dataclass
class KwsDataset:
    root: Path
    task: str
    labels: list[str]
    splits: dict[str, list[Clip]]
    fingerprint: str
    background_noise: list[np.ndarray] = field(repr=False, default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)
    augment: NameAugment | None = None
    converted: dict[str, int] = field(default_factory=dict)   # files converted on reading, by kind
    # Synthetic corpora with dry training speech (synth.py): the files stored dry, which get their
    # conditions in training (on the fly) or in features.load_audio_split (frozen, for every other reader).
    dry: frozenset[str] = frozenset()

    def cache_key(self, split: str) -> str:
        """What identifies a split's audio: the fingerprint, plus the augmentation of the train split."""
        if split == "train" and self.augment is not None:
            return f"{self.fingerprint}+{self.augment.key()}"
        return self.fingerprint

    def load_audio(self, clip: Clip, samples: int = CLIP_SAMPLES) -> np.ndarray:
        """int16 (samples,): the clip zero-padded at the end or trimmed to `samples` (a configuration's
        clip, one second by default). A noise clip longer than one second starts early enough to fit."""
        if clip.path is None:
            noise = self.background_noise[clip.noise]
            start = max(0, min(clip.offset, noise.size - samples))
            seg = noise[start: start + samples] * clip.gain
            seg = np.pad(seg, (0, samples - seg.size))
            return np.clip(np.round(seg * 32767), -32768, 32767).astype(np.int16)
        audio = read_wav(self.root / clip.path)[:samples]
        audio = np.pad(audio, (0, samples - audio.size))
        if clip.copy >= 0:
            audio = augment_clip(audio, self.augment, f"{clip.path}|{clip.copy}|{self.augment.key()}",
                                 self.background_noise)
        return audio

    def counts(self, split: str) -> dict[str, int]:
        c = Counter(self.labels[clip.label] for clip in self.splits[split])
        return {name: c.get(name, 0) for name in self.labels}


def noise_region(noise: np.ndarray, split: str) -> np.ndarray:
    """The part of a background-noise recording that `split` may use (NOISE_REGIONS); all of it when that
    part would be shorter than a clip (a test folder's one-second noise clips)."""
    lo, hi = NOISE_REGIONS[split]
    part = noise[int(lo * noise.size): int(hi * noise.size)]
    return part if part.size >= CLIP_SAMPLES else noise


def training_noise(ds: KwsDataset) -> list[np.ndarray]:
    """The background noise training may mix in: the training part of each recording."""
    return [noise_region(n, "train") for n in ds.background_noise]


def measure_only_reason(root: Path) -> str | None:
    """Why `root` may only be measured on (a MEASURE_ONLY marker, a DADARTS_MEASURE_ONLY path), or None."""
    root = Path(root).expanduser().resolve()
    for folder in (root, *root.parents):
        if (folder / MEASURE_ONLY).is_file():
            return f"{folder / MEASURE_ONLY} marks it as measure-only"
    for entry in filter(None, os.environ.get("DADARTS_MEASURE_ONLY", "").split(os.pathsep)):
        kept = Path(entry).expanduser().resolve()
        if root == kept or kept in root.parents:
            return f"it is under {kept}, listed in DADARTS_MEASURE_ONLY"
    return None


def speaker_of(filename: str) -> str:
    return filename.split("_nohash_")[0]


def _read_list(root: Path, name: str) -> set[str]:
    path = root / name
    if not path.is_file():
        raise UserError(f"{root} has no {name}: a Speech Commands folder needs validation_list.txt and "
                        f"testing_list.txt (the standard split); add them or use the original dataset layout.")
    return {line.strip() for line in path.read_text().splitlines() if line.strip()}


@dataclass
class _Scan:
    words: dict[str, list[str]]      # word folder -> usable relative WAV paths
    skipped: dict[str, int]          # unusable files by reason
    converted: dict[str, int]        # conversions by kind (see WavInfo.conversions); a file may have several
    n_converted: int                 # files read with a conversion
    examples: list[str]              # a few skipped files and why


_SCAN_VERSION = 2                    # 2: files at other rates / channels / widths are converted, not skipped


def _scan(root: Path) -> _Scan:
    """Word folders -> usable relative WAV paths, with counts of skipped and converted files."""
    words: dict[str, list[str]] = {}
    skipped: Counter = Counter()
    converted: Counter = Counter()
    n_converted = 0
    examples: list[str] = []
    cache_file = root / ".dadarts_scan.json"
    listing = sorted((d.name, f.name, f.stat().st_size) for d in root.iterdir()
                     if d.is_dir() and not d.name.startswith((".", "_")) for f in d.glob("*.wav"))
    key = hashlib.sha1(json.dumps([_SCAN_VERSION, listing]).encode()).hexdigest()
    try:
        cached = json.loads(cache_file.read_text())
        if cached.get("key") == key:
            return _Scan(cached["words"], cached["skipped"], cached["converted"], cached["n_converted"],
                         cached["examples"])
    except (OSError, ValueError, KeyError):
        pass
    for word, name, _size in listing:
        rel = f"{word}/{name}"
        try:
            info = check_header(root / rel)
        except BadWav as exc:
            skipped[exc.reason] += 1
            if len(examples) < 3:
                examples.append(str(exc))
            continue
        converted.update(info.conversions())
        n_converted += bool(info.conversions())
        words.setdefault(word, []).append(rel)
    scan = _Scan(words, dict(skipped), dict(converted), n_converted, examples)
    try:  # a speed-up only: a read-only dataset folder simply rescans next time
        cache_file.write_text(json.dumps({"key": key, **scan.__dict__}))
    except OSError:
        pass
    return scan


def _check_files(root: Path, scan: _Scan, quiet: bool) -> None:
    """One sentence when nothing is usable; otherwise one notice each for skipped and converted files."""
    skipped = sum(scan.skipped.values())
    why = ", ".join(f"{n} {r}" for r, n in sorted(scan.skipped.items()))
    if not scan.words:
        if skipped:
            raise UserError(f"{root} holds {skipped} WAV files in word folders and none is usable ({why}; e.g. "
                            f"{scan.examples[0]}): convert them to PCM WAV, e.g. ffmpeg -i IN -ar 16000 -ac 1 OUT.wav.")
        raise UserError(f"{root} holds no WAV files in word folders: expected <word>/<speaker>_nohash_<n>.wav.")
    if quiet:
        return
    if skipped:
        print(f"dadarts: warning: skipped {skipped} unusable WAV files ({why}); e.g. {scan.examples[0]}",
              file=sys.stderr)
    if scan.converted:
        kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(scan.converted.items()))
        print(f"dadarts: note: converting {scan.n_converted} WAV files to 16 kHz mono 16-bit as they are read "
              f"({kinds})", file=sys.stderr)


def _load_background(root: Path) -> list[np.ndarray]:
    folder = root / BACKGROUND
    noises = []
    for path in sorted(folder.glob("*.wav")) if folder.is_dir() else []:
        try:
            audio = read_wav(path)
        except BadWav as exc:
            print(f"dadarts: warning: skipping background noise {exc}", file=sys.stderr)
            continue
        if audio.size >= CLIP_SAMPLES:
            noises.append(audio.astype(np.float32) / 32768.0)
    return noises


def _label_plan(task: str, present: set[str], names: tuple[str, ...] | None) -> tuple[list[str], tuple[str, ...]]:
    """(labels in order, keyword words) for a task."""
    if task == "gsc35":
        # The 35 words in their canonical order, then any other word of the folder (a wake-word corpus).
        words = (*GSC35_WORDS, *sorted(present - set(GSC35_WORDS))) if present >= set(GSC35_WORDS) \
            else tuple(sorted(present))
        return list(words), words
    if task == "gsc12":
        missing = [w for w in GSC12_WORDS if w not in present]
        if missing:
            raise UserError(f"The gsc12 task needs the words {', '.join(missing)}, which the dataset lacks: "
                            f"use a full Speech Commands folder or --task gsc35.")
        return [*GSC12_WORDS, SILENCE, UNKNOWN], GSC12_WORDS
    if task == "names":
        names = tuple(names or DEFAULT_NAMES)
        missing = [w for w in names if w not in present]
        if missing:
            raise UserError(f"The names task needs folders for {', '.join(missing)}: pick names the dataset has "
                            f"with --names a,b.")
        if not present - set(names):
            raise UserError("The names task needs other words besides the names to learn '_unknown_'.")
        return [*names, UNKNOWN], names
    raise UserError(f"Unknown task '{task}': choose one of {', '.join(TASKS)}.")


def _split_seed(task: str, labels: list[str]) -> int:
    return int(hashlib.sha1(f"{task}|{','.join(labels)}".encode()).hexdigest()[:8], 16)


def _negatives(task: str, index: dict[str, int], n_keywords: int, unknown_pool: list[Clip],
               background: list[np.ndarray], rng: np.random.Generator, split: str) -> list[Clip]:
    """The `_unknown_` and `_silence_` clips a split of `n_keywords` keyword clips gets under `task`."""
    out: list[Clip] = []
    if UNKNOWN in index and unknown_pool:
        if task == "names":  # every other word is the negative class of name detection
            out += unknown_pool
        else:
            n = min(len(unknown_pool), int(np.ceil(n_keywords * UNKNOWN_PERCENT / 100)))
            pick = rng.choice(len(unknown_pool), size=n, replace=False)
            out += [unknown_pool[i] for i in sorted(pick)]
    if SILENCE in index and background:
        for i in range(int(np.ceil(n_keywords * SILENCE_PERCENT / 100))):
            k = int(rng.integers(len(background)))
            lo, hi = NOISE_REGIONS[split]
            start = int(lo * background[k].size)
            end = int(hi * background[k].size)
            if end - start < CLIP_SAMPLES:    # a short file: all of it (see noise_region)
                start, end = 0, background[k].size
            offset = int(rng.integers(start, end - CLIP_SAMPLES + 1))
            out.append(Clip(None, index[SILENCE], SILENCE, f"{SILENCE}{split}{i}", k, offset,
                            float(rng.uniform(0.0, 1.0))))
    return out


def load_dataset(data: str | Path | None = None, task: str = "gsc12",
                 names: tuple[str, ...] | None = None, quiet: bool = False,
                 name_augment: NameAugment | None = NameAugment(), holdout_engine: str | None = None,
                 measuring: bool = False) -> KwsDataset:
    """Load a Speech Commands-layout folder (None: the built-in synthetic corpus) for `task`.

    For the names task the training split is balanced with augmented copies of the name clips
    (`name_augment`; None turns balancing off). The fingerprint covers the original clips only.
    `holdout_engine` (synthetic corpora) trains without that engine's voices and tests on them.
    A measure-only folder is refused (module docstring) unless `measuring` (the stream command's test stream)."""
    if data is None:
        from .synth import default_corpus
        root = default_corpus()
    else:
        root = Path(data).expanduser()
        if not root.is_dir():
            raise UserError(f"Dataset folder {root} does not exist: give the folder that holds the word "
                            f"folders and validation_list.txt, or omit --data to use the built-in corpus.")
        why = None if measuring else measure_only_reason(root)
        if why:
            raise UserError(f"{root} holds recordings kept for measuring only ({why}): no stage may train, search, "
                            f"normalise or calibrate on them; score a run on them with dadarts evaluate RUN --data {root}.")
    validation, testing = _read_list(root, "validation_list.txt"), _read_list(root, "testing_list.txt")
    scan = _scan(root)
    _check_files(root, scan, quiet)
    words = scan.words
    labels, keywords = _label_plan(task, set(words), names)
    index = {name: i for i, name in enumerate(labels)}
    background = _load_background(root)
    splits: dict[str, list[Clip]] = {s: [] for s in SPLITS}
    unknown_pool: dict[str, list[Clip]] = {s: [] for s in SPLITS}
    for word in sorted(words):
        for rel in words[word]:
            split = "validation" if rel in validation else "testing" if rel in testing else "train"
            name = rel.split("/", 1)[1]
            if word in keywords:
                splits[split].append(Clip(rel, index[word], word, speaker_of(name)))
            elif UNKNOWN in index:
                unknown_pool[split].append(Clip(rel, index[UNKNOWN], word, speaker_of(name)))
    if SILENCE in index and not background:
        raise UserError(f"The {task} task needs {root / BACKGROUND} (WAV noise files of at least 1 s) "
                        f"to make '_silence_' clips.")
    seed = _split_seed(task, labels)
    for s_i, split in enumerate(SPLITS):
        splits[split] += _negatives(task, index, len(splits[split]), unknown_pool[split], background,
                                    np.random.default_rng(seed + s_i), split)
    if holdout_engine:
        splits = hold_out_engine(splits, root, holdout_engine)
    for split in SPLITS:
        if not splits[split]:
            raise UserError(f"The {split} split of {root} is empty for task {task}: check the list files.")
    listing = json.dumps([task, labels, {s: [(c.path, c.label, c.noise, c.offset, c.gain) for c in splits[s]]
                                         for s in SPLITS}])
    fingerprint = hashlib.sha1(listing.encode()).hexdigest()[:16]
    augment = name_augment if task == "names" else None
    if augment is not None:
        originals = [c for c in splits["train"] if c.label != index[UNKNOWN]]
        n_unknown = len(splits["train"]) - len(originals)
        copies = augment.copies_per_clip(len(originals) / len(keywords), n_unknown)
        splits["train"] += [Clip(c.path, c.label, c.word, c.speaker, copy=k)
                            for k in range(copies) for c in originals]
    dry = frozenset(rel for rels in words.values() for rel in rels if rel not in validation and rel not in testing) \
        if _dry_train(root) else frozenset()
    return KwsDataset(root, task, labels, splits, fingerprint, background, scan.skipped, augment, scan.converted, dry)


def _dry_train(root: Path) -> bool:
    """Whether a synthetic corpus stores its training clips dry (synth.CONDITIONS_FILE)."""
    from .synth import CONDITIONS_FILE
    try:
        return json.loads((root / CONDITIONS_FILE).read_text()).get("train") == "dry"
    except (OSError, ValueError, AttributeError):
        return False


def load_test_folder(data: str | Path, task: str, labels: list[str], quiet: bool = False) -> KwsDataset:
    """A folder to score a trained model on, labelled with the model's `labels` (its task's rules).

    The testing split is the clips testing_list.txt names when the folder has one, else every clip
    (a test-only folder needs no list files); train and validation stay empty. Words of the folder
    that are not among the labels become `_unknown_` as the task makes them (a seeded 10 % of the
    keyword count for gsc12, all of them for names) or, without `_unknown_`, are left out;
    `_silence_` clips are cut from the folder's _background_noise_ when it has one."""
    root = Path(data).expanduser()
    if not root.is_dir():
        raise UserError(f"Folder {root} does not exist: give a folder of <word>/<name>.wav recordings.")
    listed = _read_list(root, "testing_list.txt") if (root / "testing_list.txt").is_file() else None
    scan = _scan(root)
    _check_files(root, scan, quiet)
    index = {name: i for i, name in enumerate(labels)}
    clips: list[Clip] = []
    pool: list[Clip] = []
    left_out: Counter = Counter()
    for word in sorted(scan.words):
        for rel in scan.words[word]:
            if listed is not None and rel not in listed:
                continue
            speaker = speaker_of(rel.split("/", 1)[1])
            if word in index and not word.startswith("_"):
                clips.append(Clip(rel, index[word], word, speaker))
            elif UNKNOWN in index:
                pool.append(Clip(rel, index[UNKNOWN], word, speaker))
            else:
                left_out[word] += 1
    if left_out and not quiet:
        print(f"dadarts: note: left out {sum(left_out.values())} clips of words the model does not know "
              f"({', '.join(sorted(left_out))}): its labels have no '{UNKNOWN}'", file=sys.stderr)
    background = _load_background(root)
    rng = np.random.default_rng(_split_seed(task, labels) + SPLITS.index("testing"))
    clips += _negatives(task, index, len(clips), pool, background, rng, "testing")
    if not clips:
        raise UserError(f"{root} holds no {'listed ' if listed is not None else ''}clips of the words "
                        f"{', '.join(labels)}: give a folder with <word>/ folders named after them.")
    # Unlike a training dataset's, this fingerprint names the folder and its files' sizes and times:
    # cached features must not carry over between two folders of the same names (8 kHz and 16 kHz copies).
    files = sorted({c.path for c in clips if c.path} | {str(p.relative_to(root)) for p in (root / BACKGROUND).glob("*.wav")})
    stats = [(f, (root / f).stat().st_size, (root / f).stat().st_mtime_ns) for f in files]
    listing = json.dumps([str(root.resolve()), task, labels, stats,
                          [(c.path, c.label, c.noise, c.offset, c.gain) for c in clips]])
    fingerprint = hashlib.sha1(listing.encode()).hexdigest()[:16]
    splits = {"train": [], "validation": [], "testing": clips}
    return KwsDataset(root, task, list(labels), splits, fingerprint, background, scan.skipped, None, scan.converted)


def dataset_summary(ds: KwsDataset) -> str:
    lines = [f"{ds.root}  task {ds.task}  {len(ds.labels)} classes  fingerprint {ds.fingerprint}"]
    for split in SPLITS:
        speakers = {c.speaker for c in ds.splits[split] if c.path is not None}
        lines.append(f"  {split:<10} {len(ds.splits[split]):>7} clips  {len(speakers):>5} speakers")
    width = max(len(n) for n in ds.labels)
    per_split = {s: ds.counts(s) for s in SPLITS}
    lines.append(f"  {'class':<{width}}  " + "  ".join(f"{s[:6]:>6}" for s in SPLITS))
    for name in ds.labels:
        counts = "  ".join(f"{per_split[s][name]:>6}" for s in SPLITS)
        lines.append(f"  {name:<{width}}  {counts}")
    if ds.skipped:
        lines.append(f"  skipped files: {ds.skipped}")
    return "\n".join(lines)

