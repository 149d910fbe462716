/* Feature provider: front-end output frames in a ring buffer, copied out in time order (see the header). */
#include "feature_provider.h"

#include <string.h>

int kws_features_init(kws_features_t *fp, kws_frontend_t *fe, int8_t *ring, int n_frames)
{
    if (!fe || !fe->t || !ring || n_frames <= 0) {
        return -1;
    }
    fp->fe = fe;
    fp->ring = ring;
    fp->n_frames = n_frames;
    fp->n_features = fe->t->n_mfcc;
    kws_features_reset(fp);
    return 0;
}

void kws_features_reset(kws_features_t *fp)
{
    fp->next = 0;
    fp->total = 0;
    memset(fp->ring, 0, (size_t)fp->n_frames * (size_t)fp->n_features);
    kws_frontend_reset(fp->fe);
}

void kws_features_push_frame(kws_features_t *fp, const int8_t *frame)
{
    memcpy(fp->ring + (size_t)fp->next * (size_t)fp->n_features, frame, (size_t)fp->n_features);
    fp->next = (fp->next + 1) % fp->n_frames;
    fp->total++;
}

int kws_features_push_audio(kws_features_t *fp, const int16_t *hop_samples)
{
    int8_t frame[KWS_FE_MAX_MELS];
    if (!kws_frontend_process(fp->fe, hop_samples, frame)) {
        return 0;
    }
    kws_features_push_frame(fp, frame);
    return 1;
}

int kws_features_full(const kws_features_t *fp)
{
    return fp->total >= fp->n_frames;
}

void kws_features_copy(const kws_features_t *fp, int8_t *dst)
{
    const size_t f = (size_t)fp->n_features;
    const size_t older = (size_t)(fp->n_frames - fp->next);   /* slots next..end hold the oldest frames */
    memcpy(dst, fp->ring + (size_t)fp->next * f, older * f);
    memcpy(dst + older * f, fp->ring, (size_t)fp->next * f);
}
