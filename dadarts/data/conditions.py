"""Recording conditions applied to dry speech, per example and in batches: room, microphone, noise, level.

The built-in corpus stores dry utterances of its training voices; this module turns a batch of them
into recordings as a user's device would hear them, with new conditions at every call:

1. time shift by up to `time_shift_ms` either way (zero fill);
2. with `room_prob`, a shoebox room (image-source impulse response, rooms.py) with RT60 in `rt60_s` and
   the talker at `distance_m`;
3. with `mic_prob`, a microphone and preamp response: high-pass 50-300 Hz, low-pass 3.4-8 kHz, a
   spectral tilt of +-4 dB per octave;
4. with `noise_prob`, a segment of the noise bank mixed at an SNR drawn from `snr_db` against the
   speech's power while it sounds;
5. a peak level drawn from `level_dbfs`.

Rooms and microphones come from banks of `rooms` each that `Conditions.refresh` redraws (training
redraws them every epoch: a room takes ~1 ms to draw, a clip's convolution with room and microphone
is one multiplication in a shared FFT). Rows marked as not speech (`_silence_` clips: noise already) get the time shift only. The same code
renders the corpus' frozen validation and test conditions once, and the training split's frozen copy
that the search and the normaliser read, each from its own seed and (for the held-out splits) its own
noise and rooms, so a figure on them stays comparable from run to run.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..frontend.spec import CLIP_SAMPLES, SAMPLE_RATE
from .rooms import room_impulse_response

_FFT = 32768                     # >= 2 s: a one-second clip plus the room tail it keeps, without wrap-around
_ROOM_SAMPLES = CLIP_SAMPLES     # responses are cut at 1 s (RT60 1 s: -60 dB there)


def fft_size(n: int) -> int:
    """The FFT that convolves an n-sample clip with a room without wrap-around: _FFT for a clip of up to
    one second (as always), the next power of two >= n + _ROOM_SAMPLES for a longer one."""
    return max(_FFT, 1 << (n + _ROOM_SAMPLES - 1).bit_length())


@dataclass(frozen=True)
class ConditionSettings:
    time_shift_ms: float = 100.0
    room_prob: float = 0.8
    rt60_s: tuple[float, float] = (0.1, 1.0)
    distance_m: tuple[float, float] = (0.3, 4.0)
    mic_prob: float = 0.7
    noise_prob: float = 0.9
    snr_db: tuple[float, float] = (3.0, 30.0)
    level_dbfs: tuple[float, float] = (-30.0, -1.0)
    rooms: int = 256                  # rooms in the bank at a time


def draw_rooms(settings: ConditionSettings, rng: np.random.Generator) -> torch.Tensor:
    """(rooms, 16000) impulse responses of random rooms, zero-padded, as their spectra's source."""
    bank = np.zeros((settings.rooms, _ROOM_SAMPLES), np.float32)
    for i in range(settings.rooms):
        ir = room_impulse_response(rng, rng.uniform(*settings.rt60_s), rng.uniform(*settings.distance_m))
        bank[i, :min(ir.size, _ROOM_SAMPLES)] = ir[:_ROOM_SAMPLES]
    return torch.from_numpy(bank)


def noise_bank(noises: list[np.ndarray]) -> torch.Tensor | None:
    """Noise recordings at least one clip long, each scaled to unit RMS, as one (total,) tensor."""
    usable = [np.asarray(n, np.float32) for n in noises if len(n) >= CLIP_SAMPLES]
    usable = [n / max(float(np.sqrt(np.mean(n ** 2))), 1e-6) for n in usable]
    return torch.from_numpy(np.concatenate(usable)) if usable else None


def draw_microphones(n: int, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """(high-pass Hz, low-pass Hz, tilt dB/octave), each (n, 1), of random microphone responses."""
    return tuple(rng.uniform(a, b, (n, 1)) for a, b in ((50, 300), (3400, 8000), (-4, 4)))


def microphone_gains(mics: tuple[np.ndarray, ...], fft: int) -> torch.Tensor:
    """(n, bins) zero-phase gains of the microphones `draw_microphones` drew, on the grid of an `fft`-point FFT."""
    high, low, tilt = mics
    f = np.maximum(np.fft.rfftfreq(fft, 1 / SAMPLE_RATE), 1.0)[None, :]
    gain = 1 / np.sqrt(1 + (high / f) ** 4) / np.sqrt(1 + (f / low) ** 8) * (f / 1000.0) ** (tilt / 20 / np.log10(2))
    return torch.from_numpy(gain.astype(np.float32))


def _uniform(b: int, bounds: tuple[float, float], gen: torch.Generator) -> torch.Tensor:
    return bounds[0] + (bounds[1] - bounds[0]) * torch.rand(b, 1, generator=gen)


class Conditions:
    """Applies the module's conditions to (B, samples) float audio (any clip length), drawing from a torch
    Generator."""

    def __init__(self, settings: ConditionSettings, noises: list[np.ndarray], seed: int):
        self.settings = settings
        self.noise = noise_bank(noises)
        self.rng = np.random.default_rng(seed)
        self.refresh()

    def refresh(self, seed: int | None = None) -> None:
        """Draw new banks of rooms and microphones (from `seed` when given: training redraws them per
        epoch, and a resumed run draws the same). The last entry of each bank is 'none' (all-pass)."""
        if seed is not None:
            self.rng = np.random.default_rng(seed)
        self._room_bank = draw_rooms(self.settings, self.rng) if self.settings.room_prob > 0 else None
        self._mic_bank = draw_microphones(self.settings.rooms, self.rng) if self.settings.mic_prob > 0 else None
        self._spectra: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}
        self.rooms, self.mics = self.spectra(_FFT)

    def spectra(self, fft: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(rooms, microphones) of the banks on an `fft`-point grid, computed once per grid."""
        if fft not in self._spectra:
            bins = fft // 2 + 1
            rooms = torch.fft.rfft(self._room_bank, fft) if self._room_bank is not None \
                else torch.zeros(0, bins, dtype=torch.complex64)
            mics = microphone_gains(self._mic_bank, fft) if self._mic_bank is not None else torch.zeros(0, bins)
            self._spectra[fft] = (torch.cat([rooms, torch.ones(1, bins, dtype=torch.complex64)]),
                                  torch.cat([mics, torch.ones(1, bins)]))
        return self._spectra[fft]

    @torch.no_grad()
    def __call__(self, audio: torch.Tensor, gen: torch.Generator, speech: torch.Tensor | None = None) -> torch.Tensor:
        s = self.settings
        b, n = audio.shape
        fft = fft_size(n)
        rooms, mics = self.spectra(fft)
        draws = torch.rand(b, 4, generator=gen)
        room = torch.where(draws[:, 0] < s.room_prob, torch.randint(0, max(1, len(self.rooms) - 1), (b,), generator=gen),
                           len(self.rooms) - 1)
        mic = torch.where(draws[:, 1] < s.mic_prob, torch.randint(0, max(1, len(self.mics) - 1), (b,), generator=gen),
                          len(self.mics) - 1)
        shift_max = int(s.time_shift_ms * SAMPLE_RATE / 1000)
        shifts = torch.randint(-shift_max, shift_max + 1, (b, 1), generator=gen)
        snr = _uniform(b, s.snr_db, gen)
        level = 10 ** (_uniform(b, s.level_dbfs, gen) / 20)
        noise = self.noise
        if noise is not None and noise.numel() < n:      # a bank shorter than a long clip repeats
            noise = noise.repeat(-(-n // noise.numel()))
        starts = torch.randint(0, max(1, (noise.numel() if noise is not None else 0) - n + 1), (b,),
                               generator=gen)
        x = audio.float()
        if shift_max > 0:
            idx = torch.arange(n)[None, :] - shifts
            x = torch.gather(x, 1, idx.clamp(0, n - 1)) * ((idx >= 0) & (idx < n))
        speech = torch.ones(b, dtype=torch.bool) if speech is None else speech.bool()
        rows = torch.nonzero(speech).squeeze(1)
        if not len(rows):
            return x.clamp(-1.0, 1.0)
        y = x[rows]
        active = (y.abs() > 1e-4 * y.abs().amax(1, keepdim=True).clamp_min(1e-9)).float().mean(1, keepdim=True)
        filtered = rows[(room[rows] < len(self.rooms) - 1) | (mic[rows] < len(self.mics) - 1)]
        if len(filtered):
            spectrum = torch.fft.rfft(x[filtered], fft) * rooms[room[filtered]] * mics[mic[filtered]]
            y[torch.searchsorted(rows, filtered)] = torch.fft.irfft(spectrum, fft)[:, :n]
        noisy = (draws[rows, 2] < s.noise_prob) & (noise is not None)
        if noisy.any():
            take = torch.nonzero(noisy).squeeze(1)
            segments = noise[starts[rows[take], None] + torch.arange(n)[None, :]]
            segments = segments / segments.pow(2).mean(1, keepdim=True).sqrt().clamp_min(1e-6)
            speech_rms = (y[take].pow(2).mean(1, keepdim=True) / active[take].clamp_min(0.05)).sqrt()
            y[take] += segments * speech_rms * 10 ** (-snr[rows[take]] / 20)
        y = y * level[rows] / y.abs().amax(1, keepdim=True).clamp_min(1e-6)
        x = x.clone()
        x[rows] = y
        return x.clamp(-1.0, 1.0)


def render(audio: np.ndarray, settings: ConditionSettings, noises: list[np.ndarray], seed: int,
           speech: np.ndarray | None = None, batch: int = 256) -> np.ndarray:
    """Frozen conditions for (N, samples) int16 clips: the same result for the same inputs and seed. int16."""
    conditions = Conditions(settings, noises, seed)
    gen = torch.Generator().manual_seed(seed)
    out = np.empty_like(audio)
    speech = np.ones(len(audio), bool) if speech is None else speech
    for i in range(0, len(audio), batch):
        if i:
            conditions.refresh()
        x = torch.from_numpy(audio[i:i + batch].astype(np.float32) / 32768.0)
        y = conditions(x, gen, torch.from_numpy(speech[i:i + batch]))
        out[i:i + batch] = np.clip(np.round(y.numpy() * 32767), -32768, 32767).astype(np.int16)
    return out
