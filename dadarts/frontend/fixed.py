"""Fixed-point MFCC: a numpy model of the firmware's integer arithmetic, bit-exact with firmware/frontend.

The C front-end (firmware/frontend/kws_frontend.c) and this module execute the same integer
operations in the same order, so their int8 outputs are identical; tests/test_fixed*.py and the
golden vectors check that. Both follow the float contract of `dadarts.frontend.spec`:

  int16 frame --(block exponent g, Hann Q31)--> y, |y| < 2^28
  y --(N/2-point complex radix-2 FFT, Q31 twiddles, /2 per stage (truncating), real-FFT split)--> X = 2 FFT_N(y) / N
  X --(power, >>10, sparse mel weights Q15)--> E = E_float * 2^(63 + 2g) / N^2   (int64, < 2^62)
  E --(log2: leading bit + 64-entry table, Q16)--> log2 E_float, floored at log2(LOG_FLOOR)
  --(DCT-II Q15, int64 accumulation)--> c = mfcc / ln 2 in Q16
  --(per-coefficient multiplier, shift, bias: normalisation folded with the model's input quantisation)--> int8

Every intermediate is bounded so that int64 never overflows (bounds are stated where they matter).
Arithmetic right shifts floor, in numpy and in C (gcc, arm-none-eabi-gcc) alike.

The complex FFT has two implementations, chosen when the firmware is built: FFTS["radix2"] (the
front-end's own, above; the default) and FFTS["cmsis"], CMSIS-DSP's arm_cfft_q31 (radix-4, scaled by
1/M like the radix-2 one), which the firmware compiles from the cmsisdsp sources with
-DKWS_CMSIS_DSP_ROOT. For the latter the reference here calls the same C code through the cmsisdsp
Python package, so both stay bit-exact with their C twins; the two differ from each other in the last
bits of the spectrum (benchmarks/bench_firmware.py measures how often that changes an int8 feature).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .spec import LOG_FLOOR, MfccConfig, dct_matrix, hann_window, mel_filterbank

LOG2_TABLE_BITS = 6            # log2 mantissa table: 64 segments, linear interpolation
LOG_Q = 16                     # log2 values are Q16
POWER_SHIFT = 10               # power >> 10 before the Q15 mel weights keeps mel sums < 2^62
NORM_MAX_SHIFT = 47            # keeps the folded normalisation's bias well inside int64


@dataclass(frozen=True)
class FixedTables:
    """Every constant the integer front-end needs for one configuration and one model input domain."""
    config: MfccConfig
    window_q31: np.ndarray     # int32 (window,) Q31: a Q15 window's rounding leaks ~-115 dB, audible in loud tones
    twiddle_cos: np.ndarray    # int32 (n_fft/2 + 1,) Q31 cos(2 pi k / n_fft), 1.0 clamped to 2^31 - 1
    twiddle_sin: np.ndarray    # int32 (n_fft/2 + 1,) Q31 sin(2 pi k / n_fft)
    bitrev: np.ndarray         # uint16 (n_fft/2,) bit reversal of the complex FFT's indices
    mel_start: np.ndarray      # uint16 (n_mels,) first FFT bin of each filter
    mel_length: np.ndarray     # uint16 (n_mels,) number of bins of each filter
    mel_weights: np.ndarray    # int16 (sum of lengths,) Q15 weights, filters one after another
    dct_q15: np.ndarray        # int16 (n_mfcc, n_mels) orthonormal DCT-II in Q15
    log2_table: np.ndarray     # int32 (65,) Q16 log2(1 + i/64)
    log_floor_q16: int         # Q16 log2(LOG_FLOOR)
    norm_mult: np.ndarray      # int32 (n_mfcc,)
    norm_shift: np.ndarray     # uint8 (n_mfcc,)
    norm_bias: np.ndarray      # int64 (n_mfcc,) includes the zero point and the rounding half
    input_scale: float
    input_zero_point: int

    @property
    def log2_n_fft(self) -> int:
        return self.config.n_fft.bit_length() - 1


def _q(x: np.ndarray, bits: int, dtype) -> np.ndarray:
    """Round to Q`bits`, clamping to the signed range of `dtype`."""
    info = np.iinfo(dtype)
    return np.clip(np.round(np.asarray(x, np.float64) * (1 << bits)), info.min, info.max).astype(dtype)


def _bitrev(n: int) -> np.ndarray:
    bits = n.bit_length() - 1
    return np.array([int(f"{i:0{bits}b}"[::-1], 2) if bits else 0 for i in range(n)], dtype=np.uint16)


def _sparse_mel(n_fft: int, n_mels: int):
    fb = mel_filterbank(n_fft, n_mels)
    starts, lengths, weights = [], [], []
    for row in fb:
        nz = np.nonzero(_q(row, 15, np.int16))[0]
        lo, hi = (int(nz[0]), int(nz[-1]) + 1) if len(nz) else (0, 0)
        starts.append(lo)
        lengths.append(hi - lo)
        weights.append(_q(row[lo:hi], 15, np.int16))
    return (np.array(starts, np.uint16), np.array(lengths, np.uint16),
            np.concatenate(weights).astype(np.int16) if weights else np.zeros(0, np.int16))


def fold_normalisation(mean, std, input_scale: float, input_zero_point: int):
    """Per coefficient (mult, shift, bias) with q = ((c_q16 * mult + bias) >> shift) clamped to int8.

    c_q16 is the DCT of log2 energies in Q16; mfcc = ln2 * c, and the model wants
    q = round((mfcc - mean) / (std * scale)) + zp  (round half up).
    """
    mean = np.asarray(mean, np.float64)
    std = np.asarray(std, np.float64)
    if input_scale <= 0 or not math.isfinite(input_scale):
        raise ValueError(f"input scale {input_scale} must be a positive number")
    if np.any(~np.isfinite(std)) or np.any(std <= 0) or np.any(~np.isfinite(mean)):
        raise ValueError("normalisation std must be positive and mean/std finite")
    mults, shifts, biases = [], [], []
    for mu, sd in zip(mean, std):
        a = math.log(2.0) / (sd * input_scale)            # q per unit of c (log2 domain)
        if a >= 2.0 ** 14:
            raise ValueError(f"input scale {input_scale} x std {sd} is too small for the int8 front-end")
        s = min(30 - math.floor(math.log2(a)), NORM_MAX_SHIFT - LOG_Q)
        m = int(round(a * 2.0 ** s))
        if m >= 1 << 31:
            m >>= 1
            s -= 1
        shift = s + LOG_Q
        offset = input_zero_point + 0.5 - mu / (sd * input_scale)
        if abs(offset) >= 2.0 ** (62 - shift):
            raise ValueError(f"mean {mu} / (std {sd} x scale {input_scale}) is far outside the int8 range")
        mults.append(m)
        shifts.append(shift)
        biases.append(int(round(offset * 2.0 ** shift)))
    return np.array(mults, np.int32), np.array(shifts, np.uint8), np.array(biases, np.int64)


def _symmetric_dct_q15(n_mels: int, n_mfcc: int) -> np.ndarray:
    """Q15 DCT-II with D[k][M-1-n] = (-1)^k D[k][n] exactly (the C code uses it to halve the multiplies)."""
    d = _q(dct_matrix(n_mels, n_mfcc), 15, np.int16)
    half = n_mels // 2
    sign = np.where(np.arange(n_mfcc) % 2, -1, 1).astype(np.int16)[:, None]
    d[:, n_mels - half:] = (sign * d[:, :half])[:, ::-1]
    if n_mels % 2:
        d[1::2, half] = 0
    return d


def make_tables(config: MfccConfig | str, mean, std, input_scale: float, input_zero_point: int) -> FixedTables:
    """All integer tables for `config`, with normalisation folded into the model's input quantisation."""
    config = MfccConfig.parse(config) if isinstance(config, str) else config
    if config.window % config.hop:
        raise ValueError(f"{config}: the streaming front-end needs the window to be a multiple of the hop")
    if len(mean) != config.n_mfcc or len(std) != config.n_mfcc:
        raise ValueError(f"{config}: normalisation has {len(mean)}/{len(std)} values, expected {config.n_mfcc}")
    n = config.n_fft
    k = np.arange(n // 2 + 1)
    mel_start, mel_length, mel_weights = _sparse_mel(n, config.n_mels)
    mult, shift, bias = fold_normalisation(mean, std, input_scale, int(input_zero_point))
    log2_table = np.round(np.log2(1.0 + np.arange(65) / 64.0) * (1 << LOG_Q)).astype(np.int32)
    return FixedTables(
        config=config,
        window_q31=_q(hann_window(config.window), 31, np.int32),
        twiddle_cos=_q(np.cos(2 * np.pi * k / n), 31, np.int32),
        twiddle_sin=_q(np.sin(2 * np.pi * k / n), 31, np.int32),
        bitrev=_bitrev(n // 2),
        mel_start=mel_start, mel_length=mel_length, mel_weights=mel_weights,
        dct_q15=_symmetric_dct_q15(config.n_mels, config.n_mfcc),
        log2_table=log2_table,
        log_floor_q16=int(round(math.log2(LOG_FLOOR) * (1 << LOG_Q))),
        norm_mult=mult, norm_shift=shift, norm_bias=bias,
        input_scale=float(input_scale), input_zero_point=int(input_zero_point),
    )


def frame_signal(pcm: np.ndarray, config: MfccConfig) -> np.ndarray:
    """int16 clip -> (T, window) int16 frames, zero-padding/trimming to the configuration's clip like the
    float reference."""
    x = np.zeros(config.clip_samples, np.int16)
    pcm = np.asarray(pcm)
    if pcm.dtype != np.int16:
        raise ValueError(f"the fixed-point front-end takes int16 PCM, got {pcm.dtype}")
    x[:min(len(pcm), config.clip_samples)] = pcm[:config.clip_samples]
    idx = np.arange(config.n_frames)[:, None] * config.hop + np.arange(config.window)[None, :]
    return x[idx]


def stream_frames(pcm: np.ndarray, config: MfccConfig) -> np.ndarray:
    """The frames a streaming front-end emits for `pcm` of any length (no padding): (T, window) int16."""
    pcm = np.asarray(pcm, np.int16)
    n = 0 if len(pcm) < config.window else 1 + (len(pcm) - config.window) // config.hop
    idx = np.arange(n)[:, None] * config.hop + np.arange(config.window)[None, :]
    return pcm[idx] if n else np.zeros((0, config.window), np.int16)


def _bit_length(v: np.ndarray) -> np.ndarray:
    """Number of significant bits of non-negative int64 values (0 for 0), exactly."""
    v = v.astype(np.int64)
    n = np.zeros(v.shape, np.int64)
    for s in (32, 16, 8, 4, 2, 1):
        big = (v >> s) > 0
        n = np.where(big, n + s, n)
        v = np.where(big, v >> s, v)
    return n + (v > 0)


def _log2_q16(e: np.ndarray, t: FixedTables) -> np.ndarray:
    """Q16 log2 of positive int64 values (garbage for 0; the caller floors those)."""
    b = _bit_length(e) - 1
    b = np.maximum(b, 0)
    norm = (e.astype(np.uint64) << (62 - b).astype(np.uint64)).astype(np.uint64)
    idx = ((norm >> np.uint64(56)) & np.uint64(63)).astype(np.int64)
    frac = ((norm >> np.uint64(40)) & np.uint64(0xFFFF)).astype(np.int64)
    tab = t.log2_table.astype(np.int64)
    return (b << LOG_Q) + tab[idx] + (((tab[idx + 1] - tab[idx]) * frac) >> 16)


def _round_shift(v: np.ndarray, s: int) -> np.ndarray:
    return (v + (1 << (s - 1))) >> s


def _fft_radix2(y: np.ndarray, t: FixedTables) -> tuple[np.ndarray, np.ndarray]:
    """The front-end's own N/2-point complex FFT of the packed frames: (re, im) = Z / M, natural order."""
    n = t.config.n_fft
    m = n // 2
    # Pack even/odd samples as one complex sequence, loaded in bit-reversed order (radix-2 DIT).
    re = y[:, 0::2][:, t.bitrev]
    im = y[:, 1::2][:, t.bitrev]
    cos_t, sin_t = t.twiddle_cos.astype(np.int64), t.twiddle_sin.astype(np.int64)
    size = 2
    while size <= m:
        # Butterfly: t = high word of v * w (= v*w/2), u' = u/2 + t, v' = u/2 - t (|values| never grow).
        half = size // 2
        j = np.arange(half)
        wc, ws = cos_t[j * (n // size)], sin_t[j * (n // size)]
        top = (np.arange(0, m, size)[:, None] + j[None, :]).ravel()
        bot = top + half
        wc, ws = np.tile(wc, m // size), np.tile(ws, m // size)
        ur, ui, vr, vi = re[:, top], im[:, top], re[:, bot], im[:, bot]
        tr = (vr * wc + vi * ws) >> 32
        ti = (vi * wc - vr * ws) >> 32
        one = np.tile(j == 0, m // size)                        # twiddle exactly 1: t = v/2, no multiply
        tr[:, one], ti[:, one] = vr[:, one] >> 1, vi[:, one] >> 1
        hr, hi = ur >> 1, ui >> 1
        re[:, top], im[:, top] = hr + tr, hi + ti
        re[:, bot], im[:, bot] = hr - tr, hi - ti
        size *= 2
    return re, im


def _fft_cmsis(y: np.ndarray, t: FixedTables) -> tuple[np.ndarray, np.ndarray]:
    """CMSIS-DSP's arm_cfft_q31 (through the cmsisdsp package: the same C code) on the packed frames."""
    import cmsisdsp
    m = t.config.n_fft // 2
    inst = cmsisdsp.arm_cfft_instance_q31()
    if cmsisdsp.arm_cfft_init_q31(inst, m) != 0:
        raise ValueError(f"CMSIS-DSP has no {m}-point q31 FFT")
    out = np.stack([cmsisdsp.arm_cfft_q31(inst, frame.astype(np.int32), 0, 1) for frame in y])
    return out[:, 0::2].astype(np.int64), out[:, 1::2].astype(np.int64)


FFTS = {"radix2": _fft_radix2, "cmsis": _fft_cmsis}


def log_mel_q16(frames: np.ndarray, t: FixedTables, fft: str = "radix2") -> np.ndarray:
    """(T, window) int16 -> (T, n_mels) int64: Q16 log2 of the mel energies in float units, floored."""
    c = t.config
    n, m = c.n_fft, c.n_fft // 2
    if len(frames) == 0:
        return np.zeros((0, c.n_mels), np.int64)
    x = frames.astype(np.int64)
    peak = np.abs(x).max(axis=1)
    g = np.maximum(0, 15 - _bit_length(peak))                   # block exponent: x << g stays < 2^15
    y = np.zeros((x.shape[0], n), np.int64)
    y[:, :c.window] = (x * (np.int64(1) << g)[:, None] * t.window_q31.astype(np.int64)) >> 18   # |y| < 2^28
    re, im = FFTS[fft](y, t)
    cos_t, sin_t = t.twiddle_cos.astype(np.int64), t.twiddle_sin.astype(np.int64)
    # Real-FFT split: X_k = (Z_k + conj Z_{M-k}) / 2 + e^{-2 pi i k/N} (Z_k - conj Z_{M-k}) / (2i).
    k = np.arange(m + 1)
    kk, mk = k % m, (m - k) % m
    a = re[:, kk] + re[:, mk]
    b = im[:, kk] - im[:, mk]
    cc = im[:, kk] + im[:, mk]
    d = re[:, kk] - re[:, mk]
    ck, sk = cos_t[k], sin_t[k]
    xr = (a >> 1) + ((cc * ck - d * sk) >> 32)
    xi = (b >> 1) + ((-d * ck - cc * sk) >> 32)
    p = _round_shift(xr * xr + xi * xi, POWER_SHIFT)            # < 2^47
    e = np.zeros((x.shape[0], c.n_mels), np.int64)
    pos = 0
    for i, (start, length) in enumerate(zip(t.mel_start.astype(int), t.mel_length.astype(int))):
        w = t.mel_weights[pos:pos + length].astype(np.int64)
        e[:, i] = p[:, start:start + length] @ w
        pos += length
    offset = (63 + 2 * g - 2 * t.log2_n_fft) << LOG_Q           # E_int = E_float * 2^(63+2g) / N^2
    log2e = _log2_q16(e, t) - offset[:, None]
    return np.where((e > 0) & (log2e > t.log_floor_q16), log2e, t.log_floor_q16)


def features_from_frames(frames: np.ndarray, t: FixedTables, fft: str = "radix2") -> np.ndarray:
    """(T, window) int16 -> (T, n_mfcc) int8 model input, exactly as the C front-end built with `fft` computes it."""
    log2e = log_mel_q16(frames, t, fft)
    acc = log2e @ t.dct_q15.astype(np.int64).T                  # Q31, < 2^41
    c_q16 = _round_shift(acc, 15)
    q = (c_q16 * t.norm_mult.astype(np.int64) + t.norm_bias) >> t.norm_shift.astype(np.int64)
    return np.clip(q, -128, 127).astype(np.int8)


def features(pcm: np.ndarray, t: FixedTables, fft: str = "radix2") -> np.ndarray:
    """int16 clip (16000,) -> (T, n_mfcc) int8 model input."""
    return features_from_frames(frame_signal(pcm, t.config), t, fft)


def mfcc_from_q16(c_q16: np.ndarray) -> np.ndarray:
    """Q16 log2-domain cepstrum -> float MFCC (natural log), for diagnostics."""
    return c_q16.astype(np.float64) / (1 << LOG_Q) * math.log(2.0)


def quantize(mfcc: np.ndarray, mean, std, input_scale: float, input_zero_point: int) -> np.ndarray:
    """Float MFCC -> int8 model input the way the Python pipeline quantises it (round half up)."""
    v = (np.asarray(mfcc, np.float64) - np.asarray(mean)) / (np.asarray(std) * input_scale)
    return np.clip(np.floor(v + 0.5) + input_zero_point, -128, 127).astype(np.int8)


def dequantize(q: np.ndarray, input_scale: float, input_zero_point: int) -> np.ndarray:
    """int8 model input -> normalised float features."""
    return (q.astype(np.float64) - input_zero_point) * input_scale


def agreement(q_test: np.ndarray, q_ref: np.ndarray, normalised_ref: np.ndarray,
              input_scale: float, input_zero_point: int) -> dict:
    """How well int8 features match a reference: share equal / within 1 LSB, SNR of the dequantised values."""
    diff = np.abs(q_test.astype(np.int32) - q_ref.astype(np.int32))
    deq = dequantize(q_test, input_scale, input_zero_point)
    # The int8 range clips the reference too; the second SNR leaves saturation out and keeps rounding.
    lo, hi = dequantize(np.array([-128, 127]), input_scale, input_zero_point)
    in_range = np.clip(normalised_ref, lo, hi)

    def snr(ref):
        noise = np.sum((deq - ref) ** 2)
        return float(10 * np.log10(np.sum(ref ** 2) / noise)) if noise > 0 else float("inf")

    return {
        "n": int(diff.size),
        "exact_share": float(np.mean(diff == 0)),
        "within_1lsb_share": float(np.mean(diff <= 1)),
        "max_abs_lsb": int(diff.max()) if diff.size else 0,
        "snr_db": snr(normalised_ref),
        "snr_in_range_db": snr(in_range),
        "clipped_share": float(np.mean((normalised_ref < lo) | (normalised_ref > hi))),
    }
