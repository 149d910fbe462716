"""Words outside every task's vocabulary, synthesised once: what a spotter must learn to ignore.

A deployed spotter hears mostly words it was never taught, many of them close to a keyword ("yet",
"know", "top"). The speech engines can say any word, so two disjoint lists of common English words,
short phrases and near misses of the Speech Commands words are rendered dry, like the corpus's
training clips (`synth.dry_clip`); training draws their rooms, microphones and noise per example,
and the held-out list gets one frozen room and microphone, like the corpus's held-out clips:

- TRAINING_WORDS, by the corpus's training voices only: extra `_unknown_` material and neighbours
  for stream-aware training (dadarts/data/stream_windows.py);
- STREAM_WORDS, by the validation or testing voices: the non-keyword speech of the long-form
  calibration and test streams, so those streams hold words and voices training never used.

Neither list holds a corpus word (GSC35_WORDS) or a word of the training babble (synth._BABBLE_WORDS).
Clips are cached as one (N, 16000) int16 array per (list, split) in the dadarts cache; they are built
in one process in a fixed order, each clip seeded from (NEGATIVES_SEED, word, voice, repeat).

A corpus of fewer engines (a wake-word corpus with one engine held out for measuring) asks for the
voices of its own engines only (`engines`), and a keyword that happens to be on a list (the wake word
"kettle") is never a negative of itself (`rows_without`).
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from ..rundir import atomic_path

NEGATIVES_VERSION = 2   # 2: dry clips (corpus v3)
NEGATIVES_SEED = 7919
PER_WORD = 2            # renditions of each word by default

TRAINING_WORDS = (
    # near misses of the keywords and names
    "yet", "yell", "yeah", "mess", "guess", "less", "know", "now", "snow", "note", "nose", "cup", "pup",
    "town", "gown", "crown", "lift", "loft", "light", "bright", "write", "ride", "own", "dawn",
    "often", "cough", "stock", "step", "spot", "top", "goat", "goal", "ghost", "show", "shop", "starve",
    "marble", "marvel", "sheet", "shield", "sealer", "lone", "gold", "sow", "yard", "yellowish",
    "offer", "honest", "forget", "nobody",
    # common words
    "about", "above", "across", "again", "against", "almost", "alone", "along", "already", "also", "always",
    "among", "animal", "answer", "anything", "around", "basket", "beautiful", "become", "before", "begin",
    "behind", "believe", "below", "better", "between", "bicycle", "black", "blanket", "bottle", "bottom",
    "bread", "breakfast", "brother", "build", "butter", "button", "camera", "candle", "carry", "centre",
    "chair", "change", "cheese", "chicken", "children", "circle", "city", "clean", "clear", "clock",
    "close", "cloud", "colour", "common", "company", "computer", "corner", "country", "couple", "cover",
    "create", "cutting", "dance", "danger", "daughter", "decide", "dinner", "doctor", "dollar", "double",
    "dream", "dress", "drink", "drive", "early", "earth", "easy", "either", "empty", "engine", "enough",
    "evening", "every", "example", "family", "famous", "farmer", "father", "feeling", "finger", "finish",
    "flower", "friend", "front", "fruit", "funny", "future", "glass", "green", "ground", "guitar", "half",
    "hammer", "handle", "heavy", "hello", "holiday", "honey", "hospital", "hour", "hundred", "husband",
    "idea", "island", "jacket", "journey", "jumping", "key", "king", "ladder", "language", "laughing",
    "letter", "library", "listen", "lunch", "machine", "maybe", "medicine", "metal", "middle", "minute",
    "mirror", "money", "monkey", "mother", "mountain", "nothing", "ocean", "office", "orange", "outside",
    "over", "pencil", "picture", "pillow", "planet", "plastic", "please", "pocket", "police", "potato",
    "problem", "purple", "question", "quickly", "rabbit", "really", "reason", "remember", "river", "rocket",
    "salad", "school", "second", "shadow", "shoulder", "silver", "simple", "sister", "something", "sorry",
    "spring", "station", "story", "street", "student", "sugar", "sunday", "supper", "sweater", "teacher",
    "thank you", "ticket", "tiger", "together", "tomato", "tomorrow", "tonight", "towel", "village",
    "wallet", "weather", "welcome", "winter", "without", "woman", "wonderful", "yesterday", "young",
    # short phrases
    "good night", "how are you", "see you later", "not today", "what time is it", "excuse me",
    "come here", "very good", "I think so", "of course",
)

STREAM_WORDS = (
    # near misses (other ones than training's)
    "yep", "yelp", "yearn", "nope", "gnaw", "knot", "upper", "dumb", "drown", "lemon", "leaflet",
    "rice", "rye", "awful", "stuff", "stoop", "gopher", "goes", "gone", "marvellous",
    "shelter", "shilling", "fiver", "sevens", "nein", "wool",
    # common words
    "account", "actor", "airport", "apple", "autumn", "balloon", "banana", "battery", "bedroom", "blossom",
    "bucket", "cabbage", "calendar", "captain", "carpet", "ceiling", "cherry", "chocolate", "cinema",
    "cookie", "cotton", "cousin", "desert", "diamond", "dolphin", "elbow", "elephant", "envelope",
    "factory", "feather", "festival", "forest", "gallery", "garlic", "giraffe", "hamster", "harbour",
    "helmet", "insect", "kettle", "kitten", "lantern", "lettuce", "lizard", "magnet", "meadow", "melody",
    "message", "muffin", "napkin", "needle", "noodle", "onion", "oven", "paddle", "parrot", "peanut",
    "pepper", "pilot", "pirate", "pizza", "puzzle", "quarter", "radio", "raincoat", "recipe", "ribbon",
    "saddle", "sailor", "sandwich", "scissors", "shovel", "spider", "spoon", "squirrel", "stomach",
    "sunset", "tablet", "teapot", "thunder", "tunnel", "turtle", "umbrella", "valley", "violin",
    "wagon", "walnut", "whistle", "wizard", "yogurt", "zebra",
    # short phrases
    "good luck", "never mind", "me too", "just a moment", "it is late", "over there",
)


def words_cache_key(words, voices, per_word: int) -> str:
    text = json.dumps([NEGATIVES_VERSION, NEGATIVES_SEED, list(words), [v.key for v in voices], per_word])
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def render_words(words, voices, per_word: int) -> np.ndarray:
    """(len(words) * per_word, 16000) int16: each word `per_word` times, voices drawn in rounds."""
    from tqdm import tqdm

    from .synth import dry_clip
    rng = np.random.default_rng(NEGATIVES_SEED)
    order = rng.permutation(len(voices))
    out, k = np.empty((len(words) * per_word, 16000), np.int16), 0
    for word in tqdm(words, desc="negative words", unit="word", disable=None, leave=False):
        for repeat in range(per_word):
            out[k] = dry_clip(voices[order[k % len(voices)]], word, repeat, NEGATIVES_SEED)
            k += 1
    return out


def rows_without(list_name: str, per_word: int, labels) -> np.ndarray:
    """Indices of negative_clips(list_name, ...) rows whose word's label (synth.label_of) is not in `labels`."""
    from .synth import label_of
    words = {"training": TRAINING_WORDS, "stream": STREAM_WORDS}[list_name]
    keep = [label_of(w) not in set(labels) for w in words]
    return np.flatnonzero(np.repeat(keep, per_word))


def negative_clips(list_name: str, split: str, per_word: int = PER_WORD, log=print, engines=None) -> np.ndarray:
    """The clips of TRAINING_WORDS ("training") or STREAM_WORDS ("stream") by the built-in corpus's
    voices of `split` (of the engine families `engines` only, when given), built once into the dadarts
    cache. Training words take training voices only."""
    from .synth import SynthSettings, cache_dir, choose_voices
    words = {"training": TRAINING_WORDS, "stream": STREAM_WORDS}[list_name]
    if list_name == "training" and split != "train":
        raise ValueError("training negatives are spoken by training voices only")
    voices = choose_voices(SynthSettings(), quiet=True)[split]
    if engines:
        voices = [v for v in voices if v.engine in set(engines)]
    path = Path(cache_dir()) / "negatives" / f"{list_name}-{split}-{words_cache_key(words, voices, per_word)}.npy"
    if path.is_file():
        return np.load(path)
    log(f"synthesising {len(words) * per_word} out-of-vocabulary clips ({list_name} words, {split} voices) "
        f"once into {path}")
    clips = render_words(words, voices, per_word)
    if list_name == "stream":
        # Held-out words sit in the long-form streams beside the corpus's held-out clips, which carry
        # frozen rooms and microphones (corpus v3): give them theirs once, from their own seed. The
        # stream adds its own noise, so none here.
        from .conditions import ConditionSettings, render
        clips = render(clips, ConditionSettings(noise_prob=0.0, time_shift_ms=0.0), [], NEGATIVES_SEED)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.save(f, clips)
    return clips
