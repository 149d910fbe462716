/* Host tool: stream a raw int16 PCM file through the fixed-point front-end, hop by hop, and write the
 * int8 feature frames to a raw file. With --repeat N it also times the front-end and prints
 * microseconds per frame. Used by the golden-vector tests and `dadarts firmware bench`.
 *
 * usage: kws_frontend_runner IN.s16 OUT.s8 [--clip SAMPLES] [--repeat N]
 *   --clip SAMPLES  restart the stream every SAMPLES samples (one clip after another in IN)
 */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "frontend_tables.h"

static kws_frontend_t fe;

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* Streams every clip of `pcm`; returns frames written to `out` (may be NULL). */
static long run(const int16_t *pcm, long n, long clip, int8_t *out)
{
    const int hop = kws_frontend_tables.hop, f = kws_frontend_tables.n_mfcc;
    long frames = 0;
    for (long start = 0; start < n; start += clip) {
        kws_frontend_reset(&fe);
        const long end = start + clip < n ? start + clip : n;
        for (long i = start; i + hop <= end; i += hop) {
            int8_t tmp[KWS_FE_MAX_MELS];
            if (kws_frontend_process(&fe, pcm + i, tmp)) {
                if (out) {
                    memcpy(out + frames * f, tmp, (size_t)f);
                }
                frames++;
            }
        }
    }
    return frames;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s IN.s16 OUT.s8 [--clip SAMPLES] [--repeat N]\n", argv[0]);
        return 2;
    }
    long clip = 0, repeat = 0;
    for (int i = 3; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--clip")) {
            clip = atol(argv[i + 1]);
        } else if (!strcmp(argv[i], "--repeat")) {
            repeat = atol(argv[i + 1]);
        } else {
            fprintf(stderr, "unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (kws_frontend_init(&fe, &kws_frontend_tables) != 0) {
        fprintf(stderr, "front-end tables %s do not fit this build's capacities\n", KWS_FRONTEND_CONFIG);
        return 1;
    }
    FILE *fin = fopen(argv[1], "rb");
    if (!fin) {
        perror(argv[1]);
        return 1;
    }
    fseek(fin, 0, SEEK_END);
    const long n = ftell(fin) / 2;
    fseek(fin, 0, SEEK_SET);
    int16_t *pcm = malloc((size_t)(n > 0 ? n : 1) * sizeof(int16_t));
    if (!pcm || fread(pcm, sizeof(int16_t), (size_t)n, fin) != (size_t)n) {
        fprintf(stderr, "cannot read %s\n", argv[1]);
        return 1;
    }
    fclose(fin);
    if (clip <= 0) {
        clip = n;
    }
    const long max_frames = n / kws_frontend_tables.hop + 1;
    int8_t *out = malloc((size_t)max_frames * kws_frontend_tables.n_mfcc);
    const long frames = run(pcm, n, clip, out);
    FILE *fout = fopen(argv[2], "wb");
    if (!fout || fwrite(out, 1, (size_t)(frames * kws_frontend_tables.n_mfcc), fout) !=
                     (size_t)(frames * kws_frontend_tables.n_mfcc)) {
        fprintf(stderr, "cannot write %s\n", argv[2]);
        return 1;
    }
    fclose(fout);
    printf("config %s frames %ld\n", KWS_FRONTEND_CONFIG, frames);
    if (repeat > 0 && frames > 0) {
        const double t0 = now_us();
        long total = 0;
        for (long r = 0; r < repeat; r++) {
            total += run(pcm, n, clip, NULL);
        }
        printf("us_per_frame %.3f\n", (now_us() - t0) / (double)total);
    }
    free(pcm);
    free(out);
    return 0;
}
