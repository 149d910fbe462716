"""The long-form recipe "talk" (frozen): hours of speech that is mostly not a keyword, as a device hears it.

Written down and fixed before any training it judges (docs/evaluate.md, "The long-form streams");
a change is a new recipe name, never an edit of this one:

- utterances of 1-4 words, 0.05-0.4 s apart, 1-6 s between utterances, and with probability 0.1 a
  pause of 10-40 s instead: about 18 words per minute (18.7 on the built-in test stream);
- 15 % of the words are keywords of the run (the split's clips, in shuffled rounds); of the other
  words 75 % are out-of-vocabulary words training never used (negatives.STREAM_WORDS, spoken by the
  split's own voices: held out from training) and 25 % the split's other corpus words;
- each word's active speech at the utterance's level, drawn in -35..-20 dBFS, +-2 dB per word;
- one reverberation: the clips' own rooms (the corpus and the negatives are rendered in rooms); the
  stream adds none on top;
- under everything a room tone at -65..-50 dBFS (no digital silence), and per one-minute block a
  noise of stream_noise.KINDS (generators training never uses; crowd = words of the split's voices)
  at an SNR drawn in 0..25 dB relative to the block's speech level, or no extra noise (a quarter of
  the blocks);
- 300 minutes per stream; the test stream from the testing split (seed 0), the calibration stream
  from the validation split (seed 1).

The ground truth (kind "stream_truth") has every word (keyword or not) with its speech span, source,
level, and every block's noise, SNR and floor.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass

import numpy as np

from ..data.datasets import KwsDataset
from ..data.engine_split import corpus_engines
from ..data.negatives import STREAM_WORDS, negative_clips, rows_without
from ..data.stream_windows import MARGIN, speech_span
from ..data.wavio import read_wav, to_int16
from ..errors import UserError
from ..frontend.spec import MAX_CLIP_SAMPLES, SAMPLE_RATE
from . import stream_noise
from .longform import Rounds, word_clips

RECIPE = "talk-1"
OOV_PER_WORD = 4           # renditions of each out-of-vocabulary word, by the split's voices in rounds


@dataclass(frozen=True)
class TalkRecipe:
    minutes: float = 300.0
    keyword_share: float = 0.15                      # of all words
    oov_share: float = 0.75                          # of the non-keyword words: never used in training
    words_per_utterance: tuple[int, int] = (1, 4)
    word_gap_s: tuple[float, float] = (0.05, 0.4)
    utterance_gap_s: tuple[float, float] = (1.0, 6.0)
    pause_prob: float = 0.1
    pause_s: tuple[float, float] = (10.0, 40.0)
    level_dbfs: tuple[float, float] = (-35.0, -20.0)  # active speech RMS of an utterance
    word_level_db: float = 2.0
    floor_dbfs: tuple[float, float] = (-65.0, -50.0)  # room tone RMS
    snr_db: tuple[float, float] = (0.0, 25.0)
    quiet_share: float = 0.25                        # blocks with the room tone only
    block_s: float = 60.0
    seed: int = 0
    recipe: str = RECIPE

    def __post_init__(self):
        if not self.minutes > 0:
            raise UserError(f"A stream needs a positive length (--minutes, got {self.minutes}).")

    def key(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    def build(self, ds: KwsDataset, split: str, keywords: list[str]) -> tuple[np.ndarray, dict]:
        return build_talk_stream(ds, split, keywords, self)


def _unit_speech(x: np.ndarray) -> tuple[np.ndarray, int, int]:
    """Float clip scaled to unit active-speech RMS, and its speech span."""
    a, b = speech_span(x)
    return x / (float(np.sqrt(np.mean(x[a:b] ** 2))) + 1e-9), a, b


def build_talk_stream(ds: KwsDataset, split: str, keywords: list[str], recipe: TalkRecipe) -> tuple[np.ndarray, dict]:
    """(int16 recording, ground truth) of the recipe (module doc) from `split`."""
    rng = np.random.default_rng(recipe.seed)
    kw, other = word_clips(ds, split, keywords)
    # Out-of-vocabulary words by the engines the dataset has (all of them for the built-in corpus), never
    # a keyword of the run (a wake word may be on the list): for the built-in corpus the same stream as ever.
    oov = negative_clips("stream", split, per_word=OOV_PER_WORD, engines=corpus_engines(ds.root))
    kw_rounds, other_rounds = Rounds(kw, rng), Rounds(other or kw, rng)
    oov_rounds = Rounds(list(rows_without("stream", OOV_PER_WORD, keywords)), rng)
    clip_cache: dict[str, np.ndarray] = {}

    def corpus_clip(clip) -> np.ndarray:
        if clip.path not in clip_cache:
            clip_cache[clip.path] = read_wav(ds.root / clip.path)[:MAX_CLIP_SAMPLES].astype(np.float32) / 32768.0
        return clip_cache[clip.path]

    n = int(round(recipe.minutes * 60 * SAMPLE_RATE))
    out = np.zeros(n, np.float32)
    events = []
    pos, full = int(rng.uniform(*recipe.utterance_gap_s) * SAMPLE_RATE), False
    while not full:
        level = float(rng.uniform(*recipe.level_dbfs))
        for _ in range(int(rng.integers(recipe.words_per_utterance[0], recipe.words_per_utterance[1] + 1))):
            if rng.random() < recipe.keyword_share:
                clip = kw_rounds.next()
                x, word, source = corpus_clip(clip), clip.word, clip.path
            elif other and rng.random() >= recipe.oov_share:
                clip = other_rounds.next()
                x, word, source = corpus_clip(clip), clip.word, clip.path
            else:
                i = oov_rounds.next()
                x, word, source = oov[i].astype(np.float32) / 32768.0, STREAM_WORDS[i // OOV_PER_WORD], f"negatives:{split}:{i}"
            x, a, b = _unit_speech(x)
            lo, hi = max(0, a - MARGIN), min(len(x), b + MARGIN)
            if pos + hi - lo > n:
                full = True
                break
            word_db = level + float(rng.uniform(-recipe.word_level_db, recipe.word_level_db))
            out[pos:pos + hi - lo] += x[lo:hi] * 10 ** (word_db / 20)
            events.append({"start_s": (pos + a - lo) / SAMPLE_RATE, "end_s": (pos + b - lo) / SAMPLE_RATE,
                           "word": word, "keyword": bool(word in keywords), "source": source,
                           "level_dbfs": round(word_db, 2)})
            pos += hi - lo + int(rng.uniform(*recipe.word_gap_s) * SAMPLE_RATE)
        long_pause = rng.random() < recipe.pause_prob
        pos += int(rng.uniform(*(recipe.pause_s if long_pause else recipe.utterance_gap_s)) * SAMPLE_RATE)
        full = full or pos >= n
    blocks = _add_noise(out, events, recipe, rng, oov)
    for e in events:
        blk = blocks[min(int(e["start_s"] // recipe.block_s), len(blocks) - 1)]
        e["snr_db"], e["noise"] = blk["snr_db"], blk["noise"]
    truth = {"split": split, "dataset": str(ds.root), "fingerprint": ds.fingerprint, "keywords": list(keywords),
             "recipe": asdict(recipe), "seconds": n / SAMPLE_RATE, "clipped_samples": int(np.sum(np.abs(out) >= 1.0)),
             "events": events, "blocks": blocks}
    return to_int16(out), truth


def _add_noise(out: np.ndarray, events: list[dict], recipe: TalkRecipe, rng, crowd_words) -> list[dict]:
    """Room tone everywhere and one noise per block at its SNR to the block's speech level, in place."""
    block = int(recipe.block_s * SAMPLE_RATE)
    kinds = Rounds(list(stream_noise.KINDS), rng)
    levels = np.array([e["level_dbfs"] for e in events]) if events else np.array([np.mean(recipe.level_dbfs)])
    starts = np.array([e["start_s"] for e in events]) if events else np.zeros(1)
    blocks = []
    for start in range(0, len(out), block):
        stop = min(len(out), start + block)
        floor = float(rng.uniform(*recipe.floor_dbfs))
        out[start:stop] += stream_noise.room_tone(stop - start, rng) * 10 ** (floor / 20)
        inside = (starts >= start / SAMPLE_RATE) & (starts < stop / SAMPLE_RATE)
        speech_db = float(np.mean(levels[inside])) if inside.any() else float(np.mean(recipe.level_dbfs))
        kind, snr = None, None
        if rng.random() >= recipe.quiet_share:
            kind, snr = kinds.next(), float(rng.uniform(*recipe.snr_db))
            noise = stream_noise.make(kind, stop - start, rng, crowd_words)
            out[start:stop] += noise * 10 ** ((speech_db - snr) / 20)
        blocks.append({"start_s": start / SAMPLE_RATE, "end_s": stop / SAMPLE_RATE, "noise": kind,
                       "snr_db": None if snr is None else round(snr, 2), "floor_dbfs": round(floor, 2),
                       "speech_dbfs": round(speech_db, 2)})
    return blocks
