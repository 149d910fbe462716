/* Fixed-point streaming MFCC front-end: int16 PCM in, int8 model input features out.
 *
 * C99, no dependencies, no floating point. One instance per audio stream, initialised from constant
 * tables that `dadarts export` generates (frontend_tables.c), CMSIS style. Each call consumes `hop`
 * new samples and, once a whole window has arrived, emits one frame of n_mfcc int8 features already
 * normalised and quantised for the model's input tensor. The arithmetic is bit-exact with the Python
 * reference dadarts/frontend/fixed.py, which documents every scaling step and bound.
 */
#ifndef KWS_FRONTEND_H
#define KWS_FRONTEND_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Buffer capacities of an instance; the defaults cover the whole data search space. A port that
 * uses one configuration can lower them to its own window / FFT / mel count to save RAM. */
#ifndef KWS_FE_MAX_WINDOW
#define KWS_FE_MAX_WINDOW 640
#endif
#ifndef KWS_FE_MAX_FFT
#define KWS_FE_MAX_FFT 1024
#endif
#ifndef KWS_FE_MAX_MELS
#define KWS_FE_MAX_MELS 80
#endif

/* Constant tables for one configuration and one model input quantisation (generated). */
typedef struct {
    uint16_t window;             /* analysis window, samples */
    uint16_t hop;                /* new samples per frame */
    uint16_t n_fft;              /* power of two >= window */
    uint16_t n_mels;
    uint16_t n_mfcc;
    uint8_t log2_n_fft;
    const int32_t *window_q31;   /* [window] periodic Hann, Q31 */
    const int32_t *twiddle_cos;  /* [n_fft/2 + 1] Q31 cos(2 pi k / n_fft) */
    const int32_t *twiddle_sin;  /* [n_fft/2 + 1] Q31 sin(2 pi k / n_fft) */
    const uint16_t *bitrev;      /* [n_fft/2] */
    const uint16_t *mel_start;   /* [n_mels] first bin of each triangle */
    const uint16_t *mel_length;  /* [n_mels] bins in each triangle */
    const int16_t *mel_weights;  /* [sum of lengths] Q15 */
    const int16_t *dct_q15;      /* [n_mfcc][n_mels] orthonormal DCT-II, Q15 */
    const int32_t *log2_table;   /* [65] Q16 log2(1 + i/64) */
    int32_t log_floor_q16;       /* Q16 log2 of the log floor */
    const int32_t *norm_mult;    /* [n_mfcc] normalisation folded with input quantisation */
    const uint8_t *norm_shift;   /* [n_mfcc] */
    const int64_t *norm_bias;    /* [n_mfcc] includes the zero point */
} kws_frontend_tables_t;

/* One FFT bin: a complex value while transforming, then its power. */
typedef union {
    int32_t c[2];
    int64_t p;
} kws_fe_bin_t;

typedef struct {
    const kws_frontend_tables_t *t;
    uint32_t filled;                              /* samples received, saturates at window */
    int16_t samples[KWS_FE_MAX_WINDOW];           /* the current analysis window, oldest first */
    kws_fe_bin_t work[KWS_FE_MAX_FFT / 2 + 1];
    int32_t log_mel[KWS_FE_MAX_MELS];             /* Q16 log2 mel energies */
} kws_frontend_t;

/* Returns 0, or -1 when the tables do not fit the instance's capacities or are inconsistent. */
int kws_frontend_init(kws_frontend_t *fe, const kws_frontend_tables_t *tables);

/* Forget all audio (e.g. after a gap in the stream). */
void kws_frontend_reset(kws_frontend_t *fe);

/* Consume exactly `hop` samples. Returns 1 and writes n_mfcc features when a frame is complete,
 * 0 while the first window is still filling. */
int kws_frontend_process(kws_frontend_t *fe, const int16_t *hop_samples, int8_t *features);

/* Features of one whole window of samples (stateless; used by process and by tests). */
void kws_frontend_frame(kws_frontend_t *fe, const int16_t *frame, int8_t *features);

#ifdef __cplusplus
}
#endif

#endif /* KWS_FRONTEND_H */
