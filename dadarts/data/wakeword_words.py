"""What a wake-word corpus says: the phrase(s), the near misses a detector must reject, other words.

A spotter for "hey kettle" hears "kettle" alone, "hey" alone, "hey kennel", "say kettle" and hundreds
of unrelated words far more often than the phrase; it must learn to reject them (microWakeWord and
openWakeWord feed such near misses as negatives). From the phrase's text alone:

- near misses (said by every voice, like the phrase): each word of a phrase alone, every partial
  phrase (contiguous words, not all of them), words sharing a word's first letters (its onset: "kennel"
  for "kettle") or last letters (its rhyme: "settle", "say" for "hey"), and the phrase with one word
  swapped for such a word ("hey kennel", "say kettle");
- other words (said by a share of the voices, many words at a fraction of the cost): the Speech
  Commands words and the training out-of-vocabulary words of negatives.py.

Sound-alikes come from SOUND_ALIKES plus those lists, matched on spelling, which is how far one can
go without a pronunciation dictionary. Nothing is drawn from negatives.STREAM_WORDS, the words the
long-form streams hold out from training, unless it is a word of the phrase itself.
"""
from __future__ import annotations

from .negatives import STREAM_WORDS, TRAINING_WORDS
from .synth import GSC35_WORDS, label_of

# Short common words, a pool for onsets and rhymes (none of STREAM_WORDS).
SOUND_ALIKES = (
    "hay", "say", "day", "may", "way", "they", "play", "pay", "stay", "grey", "away", "okay", "today", "hate",
    "head", "help", "hen", "her", "here", "hi", "high", "hold", "home", "hot", "he", "ha", "a", "the",
    "kennel", "kept", "kit", "kettledrum", "ketchup", "kestrel", "cattle", "little", "settle", "metal", "petal",
    "battle", "bottle", "rattle", "title", "nettle", "fettle", "middle", "gentle", "kelp", "ken", "kit",
    "shy", "sheep", "sheer", "she", "sheriff", "shelf", "shell", "shelly", "shallow", "sheena", "leila",
    "layla", "delia", "celia", "sheila", "ela", "stela", "feel", "steel", "wheel", "sealant",
    "light", "lie", "lion", "lights", "lighter", "flight", "right", "tight", "night", "kite", "bite",
    "alarm", "call", "calm", "come", "cool", "computer", "compute", "commute", "cute", "mute", "route",
    "stop", "step", "stock", "start", "star", "hop", "shop", "chop", "drop", "top", "pop",
    "open", "oven", "often", "ocean", "own", "over", "close", "clothes", "nose", "rose",
    "play", "plate", "place", "music", "museum", "mosaic", "magic", "tragic",
    "okay", "oak", "hello", "yellow", "fellow", "mellow", "below", "elbow",
    "lamp", "camp", "damp", "ramp", "lamb", "land", "hand", "band", "sand",
    "google", "goggle", "giggle", "wiggle", "jiggle", "gargle",
    "alexa", "alexander", "alex", "lexus", "texas", "relax",
    "siri", "series", "serious", "cereal", "syria", "sierra",
    "marvin", "marvel", "margin", "martin", "carving", "starving",
    "jarvis", "java", "jar", "harvest", "service",
    "wake", "bake", "lake", "make", "take", "cake", "awake", "weak", "week",
    "up", "cup", "pup", "hiccup", "upper", "update", "upon",
    "on", "one", "won", "gone", "john", "dawn", "lawn",
    "off", "cough", "coffee", "office", "toffee",
)
MAX_ALIKES = 4            # words sharing an onset, and as many sharing a rhyme, per word of the phrase
MAX_SWAPS = 2             # phrases with one word swapped, per word of the phrase


def words_of(phrase: str) -> list[str]:
    return [w for w in phrase.lower().split() if any(ch.isalpha() for ch in w)]


def _pool(phrases) -> list[str]:
    """Sound-alike candidates: SOUND_ALIKES, the Speech Commands and training words, in a fixed order,
    without any phrase or held-out stream word."""
    keep = {label_of(p) for p in phrases}
    stream = {label_of(w) for w in STREAM_WORDS}
    seen, out = set(), []
    for w in (*SOUND_ALIKES, *GSC35_WORDS, *TRAINING_WORDS):
        if " " in w or label_of(w) in keep | stream | seen:
            continue
        seen.add(label_of(w))
        out.append(w)
    return out


def alikes(word: str, pool: list[str]) -> tuple[list[str], list[str]]:
    """(up to MAX_ALIKES pool words sharing `word`'s onset: first 2 letters, 3 when it is long; as many
    sharing its rhyme: last 3 letters, 2 when it is short), closest in length first."""
    w = word.lower()
    onset, rhyme = w[:3 if len(w) > 5 else 2], w[-3 if len(w) > 3 else -2:]
    by_length = sorted((c for c in pool if c != w), key=lambda c: (abs(len(c) - len(w)), c))
    first = [c for c in by_length if c.startswith(onset)][:MAX_ALIKES]
    last = [c for c in by_length if c.endswith(rhyme) and c not in first][:MAX_ALIKES]
    return first, last


def near_misses(phrases) -> list[str]:
    """The near misses of the phrases (module doc), in a fixed order, none of them a phrase."""
    pool = _pool(phrases)
    out: list[str] = []
    for phrase in phrases:
        words = words_of(phrase)
        n = len(words)
        out += [" ".join(words[i:j]) for i in range(n) for j in range(i + 1, n + 1) if j - i < n]
        for k, w in enumerate(words):
            first, last = alikes(w, pool)
            out += first + last
            if n > 1:   # swap in the closest onset-alike and rhyme-alike first
                swaps = [s for pair in zip(first, last) for s in pair] or first + last
                out += [" ".join(words[:k] + [s] + words[k + 1:]) for s in swaps[:MAX_SWAPS]]
    return _unique(out, exclude=phrases)


def other_words(phrases, near, limit: int | None = None) -> list[str]:
    """Other words (Speech Commands and training out-of-vocabulary words), none a phrase or near miss;
    the first `limit` of them when given."""
    words = _unique([*GSC35_WORDS, *TRAINING_WORDS], exclude=[*phrases, *near])
    return words if limit is None else words[:limit]


def _unique(texts, exclude=()) -> list[str]:
    seen = {label_of(t) for t in exclude}
    out = []
    for t in texts:
        if label_of(t) not in seen:
            seen.add(label_of(t))
            out.append(t)
    return out
