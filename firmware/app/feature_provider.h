/* Feature provider: runs the streaming front-end on audio hops and keeps the last n_frames feature
 * frames in a ring, so the model always sees the most recent second of features. */
#ifndef KWS_FEATURE_PROVIDER_H
#define KWS_FEATURE_PROVIDER_H

#include <stdint.h>

#include "kws_frontend.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    kws_frontend_t *fe;
    int8_t *ring;               /* [n_frames][n_features], caller's memory */
    int n_frames, n_features;
    int next;                   /* ring slot the next frame goes to */
    int32_t total;              /* frames produced since the last reset */
} kws_features_t;

/* `ring` must hold n_frames * fe's n_mfcc bytes. Returns 0, or -1 on bad sizes. */
int kws_features_init(kws_features_t *fp, kws_frontend_t *fe, int8_t *ring, int n_frames);

/* Empty the ring and restart the front-end's window (e.g. between files or after a gap). */
void kws_features_reset(kws_features_t *fp);

/* Feed one hop of audio; returns the number of new frames (0 or 1). */
int kws_features_push_audio(kws_features_t *fp, const int16_t *hop_samples);

/* Add a ready-made frame (tests, or a front-end running elsewhere). */
void kws_features_push_frame(kws_features_t *fp, const int8_t *frame);

/* 1 once n_frames frames have arrived since the last reset. */
int kws_features_full(const kws_features_t *fp);

/* Copy the frames oldest first into dst ([n_frames][n_features], the model's (1, T, F, 1) input). */
void kws_features_copy(const kws_features_t *fp, int8_t *dst);

#ifdef __cplusplus
}
#endif

#endif /* KWS_FEATURE_PROVIDER_H */
