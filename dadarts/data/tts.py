"""Offline text-to-speech engines for the synthetic corpus: espeak-ng (via espeakng-loader) and SVOX Pico.

Both ship inside pip wheels, so the corpus needs no network and no system packages. Each engine
returns float32 audio at 16 kHz in [-1, 1]. espeak-ng keeps global state, so one engine lives per
process (the corpus writer creates it lazily in each worker). espeak-ng's output depends on what
the process synthesised before (its wave generator keeps state), so the writer runs every job in a
fresh process: the same job then always gives the same samples.
"""
from __future__ import annotations

import ctypes
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..frontend.spec import SAMPLE_RATE

# English accents of espeak-ng; each combines with every voice variant in espeak-ng-data/voices/!v.
ESPEAK_ACCENTS = ("en", "en-us", "en-029", "en-gb-scotland", "en-gb-x-gbclan", "en-gb-x-gbcwmd",
                  "en-gb-x-rp", "en-us-nyc")
PICO_VOICES = ("en-US", "en-GB")
# "Demonic" crashes libespeak-ng 1.52 (segfault in the wave generator); names with spaces can't be
# selected with espeak_SetVoiceByName.
_BROKEN_VARIANTS = {"Demonic"}

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_POS_CHARACTER = 1
_ESPEAK_RATE, _ESPEAK_VOLUME, _ESPEAK_PITCH, _ESPEAK_RANGE = 1, 2, 3, 4


@dataclass(frozen=True)
class Voice:
    """A synthetic speaker: an engine, its voice name and a persona (base pitch and rate)."""
    engine: str          # "espeak" or "pico"
    name: str            # espeak "en-us+m3", pico "en-US"
    persona: int         # distinguishes pico personas sharing one voice

    @property
    def key(self) -> str:
        return f"{self.engine}:{self.name}#{self.persona}"


def espeak_variants() -> list[str]:
    import espeakng_loader
    vdir = Path(espeakng_loader.get_data_path()) / "voices" / "!v"
    return sorted(p.name for p in vdir.iterdir()
                  if p.is_file() and " " not in p.name and p.name not in _BROKEN_VARIANTS)


def all_voices(pico_personas: int = 6) -> list[Voice]:
    """Every voice the generator can use: 8 accents x ~100 espeak variants, plus Pico personas."""
    voices = [Voice("espeak", f"{acc}+{var}", 0) for acc in ESPEAK_ACCENTS for var in espeak_variants()]
    voices += [Voice("pico", v, p) for v in PICO_VOICES for p in range(pico_personas)]
    return voices


def resample_to_16k(audio: np.ndarray, rate: int, half_taps: int = 16) -> np.ndarray:
    """Windowed-sinc resampling to 16 kHz in numpy (keeps synthesis workers free of torch)."""
    audio = np.asarray(audio, np.float64)
    if rate == SAMPLE_RATE or audio.size == 0:
        return audio.astype(np.float32)
    n_out = int(audio.size * SAMPLE_RATE / rate)
    t = np.arange(n_out) * (rate / SAMPLE_RATE)            # output instants in input samples
    cutoff = 0.95 * min(1.0, SAMPLE_RATE / rate)           # anti-aliasing, relative to input Nyquist
    base = np.floor(t).astype(np.int64)
    taps = np.arange(-half_taps + 1, half_taps + 1)
    idx = base[:, None] + taps[None, :]
    dist = t[:, None] - idx
    kernel = cutoff * np.sinc(cutoff * dist) * (0.5 + 0.5 * np.cos(np.pi * dist / half_taps))
    valid = (idx >= 0) & (idx < audio.size)
    return (np.where(valid, audio[np.clip(idx, 0, audio.size - 1)], 0.0) * kernel).sum(1).astype(np.float32)


class Espeak:
    """espeak-ng through ctypes, synchronous synthesis into memory."""

    def __init__(self):
        import espeakng_loader
        self.lib = ctypes.CDLL(espeakng_loader.get_library_path())
        self.lib.espeak_Initialize.restype = ctypes.c_int
        self.lib.espeak_Synth.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int,
                                         ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p]
        self.rate = self.lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0,
                                               espeakng_loader.get_data_path().encode(), 0)
        if self.rate <= 0:
            raise RuntimeError("espeak-ng failed to initialise from the espeakng-loader wheel's data.")
        self._chunks: list[np.ndarray] = []
        callback_type = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)
        self._callback = callback_type(self._collect)  # keep a reference: espeak calls it later
        self.lib.espeak_SetSynthCallback(self._callback)

    def _collect(self, wav, n, _events):
        if n > 0:
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(n,)).copy())
        return 0

    def say(self, text: str, voice: str, rate_wpm: int, pitch: int, pitch_range: int) -> np.ndarray:
        if self.lib.espeak_SetVoiceByName(voice.encode()) != 0:
            raise RuntimeError(f"espeak-ng has no voice '{voice}'.")
        self.lib.espeak_SetParameter(_ESPEAK_RATE, int(rate_wpm), 0)
        self.lib.espeak_SetParameter(_ESPEAK_PITCH, int(pitch), 0)
        self.lib.espeak_SetParameter(_ESPEAK_RANGE, int(pitch_range), 0)
        self.lib.espeak_SetParameter(_ESPEAK_VOLUME, 100, 0)
        self._chunks = []
        data = text.encode()
        self.lib.espeak_Synth(data, len(data) + 1, 0, _POS_CHARACTER, 0, 0, None, None)
        pcm = np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.int16)
        return resample_to_16k(pcm.astype(np.float32) / 32768.0, self.rate)


class Pico:
    """SVOX Pico through py-nanotts (16 kHz output)."""

    def __init__(self):
        import py_nanotts
        self.tts = py_nanotts.NanoTTS()

    def say(self, text: str, voice: str, speed: float, pitch: float) -> np.ndarray:
        pcm = np.frombuffer(self.tts.speak(text, voice=voice, speed=speed, pitch=pitch, volume=1.0), np.int16)
        return pcm.astype(np.float32) / 32768.0


class Engines:
    """Lazily created engines, one set per process."""

    def __init__(self):
        self._espeak: Espeak | None = None
        self._pico: Pico | None = None

    def say(self, voice: Voice, text: str, rng: np.random.Generator, tempo: float) -> np.ndarray:
        """Speak `text` with a random but reproducible pitch and rate; `tempo` > 1 speaks faster."""
        if voice.engine == "espeak":
            if self._espeak is None:
                self._espeak = Espeak()
            return self._espeak.say(text, voice.name, rate_wpm=int(rng.uniform(120, 200) * tempo),
                                    pitch=int(rng.uniform(20, 80)), pitch_range=int(rng.uniform(20, 90)))
        if self._pico is None:
            self._pico = Pico()
        base_pitch = 0.8 + 0.1 * voice.persona           # personas: distinct base pitches
        return self._pico.say(text, voice.name, speed=float(rng.uniform(0.85, 1.25) * tempo),
                              pitch=float(base_pitch * rng.uniform(0.93, 1.07)))
