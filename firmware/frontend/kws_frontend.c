/* Fixed-point streaming MFCC: the firmware half of the front-end contract.
 *
 * Every step mirrors dadarts/frontend/fixed.py operation for operation (same roundings, same order),
 * so the two produce identical int8 features; see that file for the derivation of each bound.
 * Signed right shifts are arithmetic (floor), as in gcc and arm-none-eabi-gcc.
 */
#include "kws_frontend.h"

#include <string.h>

#ifdef KWS_FE_CMSIS_DSP
/* The complex FFT from CMSIS-DSP (arm_cfft_q31, radix-4; -DKWS_CMSIS_DSP_ROOT in CMake) instead of the
 * radix-2 one below; dadarts/frontend/fixed.py's fft="cmsis" is its bit-exact twin. */
#include "arm_const_structs.h"

static const arm_cfft_instance_q31 *cmsis_fft(int m)
{
    switch (m) {
    case 256:
        return &arm_cfft_sR_q31_len256;    /* n_fft 512 */
#if KWS_FE_MAX_FFT >= 1024
    case 512:
        return &arm_cfft_sR_q31_len512;    /* n_fft 1024 */
#endif
    default:
        return NULL;
    }
}
#endif

#define LOG_Q 16
#define POWER_SHIFT 10

int kws_frontend_init(kws_frontend_t *fe, const kws_frontend_tables_t *t)
{
    if (t->window > KWS_FE_MAX_WINDOW || t->n_fft > KWS_FE_MAX_FFT || t->n_mels > KWS_FE_MAX_MELS ||
        t->window > t->n_fft || t->hop == 0 || t->window % t->hop != 0 || t->n_mfcc > t->n_mels ||
        (1u << t->log2_n_fft) != t->n_fft || t->n_fft < 4) {
        return -1;
    }
#ifdef KWS_FE_CMSIS_DSP
    if (!cmsis_fft(t->n_fft / 2)) {
        return -1;
    }
#endif
    fe->t = t;
    kws_frontend_reset(fe);
    return 0;
}

void kws_frontend_reset(kws_frontend_t *fe)
{
    fe->filled = 0;
    memset(fe->samples, 0, sizeof(fe->samples));
}

/* Number of significant bits of v (0 for 0): one CLZ instruction on Cortex-M3 and up. */
static int bit_length32(uint32_t v)
{
#if defined(__GNUC__) || defined(__clang__)
    return v ? 32 - __builtin_clz(v) : 0;
#else
    int n = 0;
    while (v) {
        v >>= 1;
        n++;
    }
    return n;
#endif
}

static int bit_length64(uint64_t v)
{
    uint32_t hi = (uint32_t)(v >> 32);
    return hi ? 32 + bit_length32(hi) : bit_length32((uint32_t)v);
}

/* Q16 log2 of v > 0: leading bit plus a 64-segment table with linear interpolation. */
static int32_t log2_q16(uint64_t v, const int32_t *table)
{
    int b = bit_length64(v) - 1;
    uint64_t norm = v << (62 - b);                  /* in [2^62, 2^63) */
    int idx = (int)((norm >> 56) & 63);
    int32_t frac = (int32_t)((norm >> 40) & 0xFFFF);
    int32_t lo = table[idx];
    return (b << LOG_Q) + lo + (((table[idx + 1] - lo) * frac) >> 16);
}

/* Window the frame into the complex work buffer (even samples real, odd imaginary) in bit-reversed
 * order for the radix-2 FFT: pair p goes to slot bitrev[p] (bit reversal is its own inverse), so the
 * samples and the window are read in order; in natural order for CMSIS-DSP's FFT, which reorders
 * itself. Returns the block exponent g applied to the samples. */
static int window_and_pack(kws_frontend_t *fe, const int16_t *frame)
{
    const kws_frontend_tables_t *t = fe->t;
    const int m = t->n_fft / 2, window = t->window;
    const int32_t *const win = t->window_q31;
#ifdef KWS_FE_CMSIS_DSP
#define SLOT(p) (p)
#else
    const uint16_t *const bitrev = t->bitrev;
#define SLOT(p) bitrev[p]
#endif
    kws_fe_bin_t *const a = fe->work;
    uint32_t peak = 0;
    for (int i = 0; i < window; i++) {
        const int32_t v = frame[i];
        const uint32_t mag = (uint32_t)(v < 0 ? -v : v);
        peak = mag > peak ? mag : peak;
    }
    /* Block exponent: scale quiet frames up so that x << g keeps 15 significant bits. */
    int g = 15 - bit_length32(peak);
    if (g < 0) {
        g = 0;
    }
    const int32_t scale = 1 << g;
    int p = 0;
    for (; 2 * p + 1 < window; p++) {
        kws_fe_bin_t *const b = &a[SLOT(p)];
        b->c[0] = (int32_t)(((int64_t)(frame[2 * p] * scale) * win[2 * p]) >> 18);   /* |y| < 2^28 */
        b->c[1] = (int32_t)(((int64_t)(frame[2 * p + 1] * scale) * win[2 * p + 1]) >> 18);
    }
    if (2 * p < window) {   /* odd window: the last sample pairs with a zero */
        a[SLOT(p)].c[0] = (int32_t)(((int64_t)(frame[2 * p] * scale) * win[2 * p]) >> 18);
        a[SLOT(p)].c[1] = 0;
        p++;
    }
    for (; p < m; p++) {    /* zero padding up to n_fft */
        a[SLOT(p)].c[0] = 0;
        a[SLOT(p)].c[1] = 0;
    }
#undef SLOT
    return g;
}

#ifdef KWS_FE_CMSIS_DSP
/* CMSIS-DSP's in-place complex FFT of n_fft/2 points (output scaled by 1/M, as the radix-2 one): the
 * work buffer's bins are interleaved (re, im) int32 pairs, which is the q31 layout it takes. */
static void fft_q31(kws_frontend_t *fe)
{
    arm_cfft_q31(cmsis_fft(fe->t->n_fft / 2), (q31_t *)(void *)fe->work, 0, 1);
}
#else
/* In-place radix-2 decimation-in-time FFT of n_fft/2 points, halving at every stage.
 * Butterfly: t = high word of v * w (Q31 x Q31, so t = v*w/2), u' = u/2 + t, v' = u/2 - t; the high
 * word is what SMULL/SMLAL give for free, which keeps a butterfly at about twenty instructions. */
static void fft_q31(kws_frontend_t *fe)
{
    const kws_frontend_tables_t *t = fe->t;
    const int n = t->n_fft, m = n / 2;
    kws_fe_bin_t *a = fe->work;
    for (int size = 2, step = n / 2; size <= m; size *= 2, step /= 2) {
        const int half = size / 2;
        /* j = 0: the twiddle is exactly 1, so t = v/2 without a multiply. */
        for (int start = 0; start < m; start += size) {
            kws_fe_bin_t *u = &a[start], *v = &a[start + half];
            const int32_t tr = v->c[0] >> 1, ti = v->c[1] >> 1;
            const int32_t hr = u->c[0] >> 1, hi = u->c[1] >> 1;
            u->c[0] = hr + tr;
            u->c[1] = hi + ti;
            v->c[0] = hr - tr;
            v->c[1] = hi - ti;
        }
        for (int j = 1; j < half; j++) {
            const int32_t wc = t->twiddle_cos[j * step], ws = t->twiddle_sin[j * step];
            for (int start = j; start < m; start += size) {
                kws_fe_bin_t *u = &a[start], *v = &a[start + half];
                const int32_t vr = v->c[0], vi = v->c[1];
                const int32_t tr = (int32_t)(((int64_t)vr * wc + (int64_t)vi * ws) >> 32);
                const int32_t ti = (int32_t)(((int64_t)vi * wc - (int64_t)vr * ws) >> 32);
                const int32_t hr = u->c[0] >> 1, hi = u->c[1] >> 1;
                u->c[0] = hr + tr;
                u->c[1] = hi + ti;
                v->c[0] = hr - tr;
                v->c[1] = hi - ti;
            }
        }
    }
}
#endif

/* Power of real-FFT bin k from Z_k and Z_{M-k} (the split of the half-length complex FFT):
 * X_k = (Z_k + conj Z_{M-k}) / 2 + e^{-2 pi i k/N} (Z_k - conj Z_{M-k}) / (2i). */
static int64_t split_power(int32_t zkr, int32_t zki, int32_t zmr, int32_t zmi, int32_t ck, int32_t sk)
{
    const int32_t a = zkr + zmr, b = zki - zmi, c = zki + zmi, d = zkr - zmr;    /* < 2^29.5 */
    const int32_t xr = (a >> 1) + (int32_t)(((int64_t)c * ck - (int64_t)d * sk) >> 32);
    const int32_t xi = (b >> 1) + (int32_t)((-(int64_t)d * ck - (int64_t)c * sk) >> 32);
    return ((int64_t)xr * xr + (int64_t)xi * xi + (1 << (POWER_SHIFT - 1))) >> POWER_SHIFT;
}

/* Replace the complex values by the powers of bins 0..n_fft/2, two mirrored bins at a time. */
static void power_spectrum(kws_frontend_t *fe)
{
    const kws_frontend_tables_t *t = fe->t;
    const int m = t->n_fft / 2;
    kws_fe_bin_t *a = fe->work;
    const int32_t z0r = a[0].c[0], z0i = a[0].c[1];
    a[0].p = split_power(z0r, z0i, z0r, z0i, t->twiddle_cos[0], t->twiddle_sin[0]);
    a[m].p = split_power(z0r, z0i, z0r, z0i, t->twiddle_cos[m], t->twiddle_sin[m]);
    for (int k = 1; k <= m / 2; k++) {
        const int32_t zkr = a[k].c[0], zki = a[k].c[1], zmr = a[m - k].c[0], zmi = a[m - k].c[1];
        const int64_t pk = split_power(zkr, zki, zmr, zmi, t->twiddle_cos[k], t->twiddle_sin[k]);
        const int64_t pm = split_power(zmr, zmi, zkr, zki, t->twiddle_cos[m - k], t->twiddle_sin[m - k]);
        a[k].p = pk;
        a[m - k].p = pm;
    }
}

static void log_mel_energies(kws_frontend_t *fe, int g)
{
    const kws_frontend_tables_t *t = fe->t;
    const int16_t *w = t->mel_weights;
    /* E_int = E_float * 2^(63 + 2g) / n_fft^2, so subtract that exponent in the log domain. */
    const int32_t offset = (63 + 2 * g - 2 * t->log2_n_fft) << LOG_Q;
    for (int i = 0; i < t->n_mels; i++) {
        const kws_fe_bin_t *p = &fe->work[t->mel_start[i]];
        int64_t e = 0;
        for (int j = 0; j < t->mel_length[i]; j++) {
            e += p[j].p * w[j];
        }
        w += t->mel_length[i];
        int32_t l = t->log_floor_q16;
        if (e > 0) {
            const int32_t v = log2_q16((uint64_t)e, t->log2_table) - offset;
            if (v > l) {
                l = v;
            }
        }
        fe->log_mel[i] = l;
    }
}

/* DCT-II with the table's symmetry D[k][M-1-n] = (-1)^k D[k][n] (the generator makes it exact), so
 * each coefficient needs M/2 multiplies on sums or differences of mirrored log energies; the integer
 * result equals the full product exactly. Then the folded normalisation and input quantisation. */
static void dct_and_quantise(const kws_frontend_t *fe, int8_t *out)
{
    const kws_frontend_tables_t *t = fe->t;
    const int mels = t->n_mels, half = mels / 2;
    int32_t sum[KWS_FE_MAX_MELS / 2], diff[KWS_FE_MAX_MELS / 2];
    for (int n = 0; n < half; n++) {
        const int32_t lo = fe->log_mel[n], hi = fe->log_mel[mels - 1 - n];   /* |log| < 2^22 */
        sum[n] = lo + hi;
        diff[n] = lo - hi;
    }
    const int16_t *row = t->dct_q15;
    for (int k = 0; k < t->n_mfcc; k++, row += mels) {
        const int32_t *const v = (k & 1) ? diff : sum;
        int64_t acc = 0;
        for (int n = 0; n < half; n++) {
            acc += (int64_t)row[n] * v[n];
        }
        if ((mels & 1) && !(k & 1)) {
            acc += (int64_t)row[half] * fe->log_mel[half];   /* middle band; zero weight for odd k */
        }
        const int64_t c_q16 = (acc + (1 << 14)) >> 15;
        const int64_t q = (c_q16 * t->norm_mult[k] + t->norm_bias[k]) >> t->norm_shift[k];
        out[k] = (int8_t)(q < -128 ? -128 : q > 127 ? 127 : q);
    }
}

void kws_frontend_frame(kws_frontend_t *fe, const int16_t *frame, int8_t *features)
{
    const int g = window_and_pack(fe, frame);
    fft_q31(fe);
    power_spectrum(fe);
    log_mel_energies(fe, g);
    dct_and_quantise(fe, features);
}

int kws_frontend_process(kws_frontend_t *fe, const int16_t *hop_samples, int8_t *features)
{
    const kws_frontend_tables_t *t = fe->t;
    const int keep = t->window - t->hop;
    /* Plain loops: newlib-nano's memmove copies byte by byte, which cost ~4 k instructions a frame. */
    for (int i = 0; i < keep; i++) {
        fe->samples[i] = fe->samples[i + t->hop];
    }
    for (int i = 0; i < t->hop; i++) {
        fe->samples[keep + i] = hop_samples[i];
    }
    if (fe->filled < t->window) {
        fe->filled += t->hop;
        if (fe->filled < t->window) {
            return 0;
        }
    }
    kws_frontend_frame(fe, fe->samples, features);
    return 1;
}
