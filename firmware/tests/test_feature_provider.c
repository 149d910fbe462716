/* Host test of the feature provider: ring order, fullness, and that audio pushed hop by hop gives the
 * same frames as the front-end run on whole windows (the golden tables of the build are used). */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "feature_provider.h"
#include "frontend_tables.h"

#define N_FRAMES 5

static kws_frontend_t fe;

int main(void)
{
    const int f = kws_frontend_tables.n_mfcc, hop = kws_frontend_tables.hop, win = kws_frontend_tables.window;
    int8_t ring[N_FRAMES * KWS_FE_MAX_MELS], out[N_FRAMES * KWS_FE_MAX_MELS], frame[KWS_FE_MAX_MELS];
    kws_features_t fp;
    CHECK(kws_frontend_init(&fe, &kws_frontend_tables) == 0);
    CHECK(kws_features_init(&fp, &fe, ring, N_FRAMES) == 0);

    /* Ring order: after 7 frames numbered 1..7, the copy holds 3..7 oldest first. */
    for (int i = 1; i <= 7; i++) {
        memset(frame, i, (size_t)f);
        kws_features_push_frame(&fp, frame);
        CHECK(kws_features_full(&fp) == (i >= N_FRAMES));
    }
    kws_features_copy(&fp, out);
    for (int k = 0; k < N_FRAMES; k++) {
        CHECK(out[k * f] == 3 + k && out[k * f + f - 1] == 3 + k);
    }

    /* Streaming equivalence: a pseudo-random signal pushed hop by hop. */
    const int n = win + 6 * hop;
    int16_t *pcm = malloc(sizeof(int16_t) * (size_t)n);
    uint32_t seed = 12345;
    for (int i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        pcm[i] = (int16_t)((int32_t)(seed >> 16) - 32768) / 4;
    }
    kws_features_reset(&fp);
    CHECK(!kws_features_full(&fp));
    int produced = 0;
    for (int i = 0; i + hop <= n; i += hop) {
        produced += kws_features_push_audio(&fp, pcm + i);
    }
    CHECK(produced == 7);
    kws_features_copy(&fp, out);
    for (int k = 0; k < N_FRAMES; k++) {
        kws_frontend_frame(&fe, pcm + (2 + k) * hop, frame);    /* frames 2..6 are the newest five */
        CHECK(memcmp(frame, out + k * f, (size_t)f) == 0);
    }
    free(pcm);
    CHECK_DONE();
}
