"""Batched float MFCC in torch (CPU or GPU): the reference used for search and training.

Follows the contract in `dadarts.frontend.spec` exactly: uncentred frames, periodic Hann window,
zero-padding to a power-of-two FFT, power spectrum, HTK mel filters, log with a fixed floor,
orthonormal DCT-II keeping n_mels coefficients.
"""
from __future__ import annotations

import torch

from .spec import LOG_FLOOR, PCM_SCALE, MfccConfig, dct_matrix, hann_window, mel_filterbank


class Mfcc(torch.nn.Module):
    """int16 PCM or float audio (B, samples) -> MFCC (B, n_frames, n_mfcc), float32; the audio is padded
    or trimmed to the configuration's clip (16000 samples by default)."""

    def __init__(self, config: MfccConfig):
        super().__init__()
        self.config = config
        self.register_buffer("window", torch.from_numpy(hann_window(config.window)).float(), persistent=False)
        self.register_buffer("mel", torch.from_numpy(mel_filterbank(config.n_fft, config.n_mels)).float().T.contiguous(),
                             persistent=False)
        self.register_buffer("dct", torch.from_numpy(dct_matrix(config.n_mels, config.n_mfcc)).float().T.contiguous(),
                             persistent=False)

    def log_mel(self, audio: torch.Tensor) -> torch.Tensor:
        c = self.config
        x = to_float_audio(audio, c.clip_samples)
        frames = x.unfold(-1, c.window, c.hop)                      # (B, T, window)
        spec = torch.fft.rfft(frames * self.window, n=c.n_fft)      # zero-padded to n_fft
        power = spec.real.square() + spec.imag.square()
        return torch.log(torch.clamp(power @ self.mel, min=LOG_FLOOR))

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        return self.log_mel(audio) @ self.dct


def to_float_audio(audio: torch.Tensor, samples: int | None = None) -> torch.Tensor:
    """int16 PCM -> float in [-1, 1); float audio passes through. Zero-pads at the end or trims to
    `samples` (a configuration's clip) when given; None keeps the length (training clips already have it)."""
    x = audio.float() * PCM_SCALE if audio.dtype == torch.int16 else audio.float()
    if samples is None:
        return x
    if x.shape[-1] < samples:
        x = torch.nn.functional.pad(x, (0, samples - x.shape[-1]))
    return x[..., :samples]

