/* Front-end test and benchmark on the emulated Cortex-M4 (QEMU mps2-an386, semihosting).
 *
 * Streams a raw int16 file through the fixed-point front-end clip by clip, writes the int8 frames,
 * compares them with an expected file when one is given, and prints the instructions executed per
 * frame (the board's cycle counter under -icount shift=0, converted with a loop of known length;
 * instructions, not cycles).
 * Exit status: 0 when every frame matches (or nothing to compare), 1 on a mismatch, 2 on bad input.
 *
 * semihosting args: kws_frontend_m4 IN.s16 OUT.s8 CLIP_SAMPLES [EXPECTED.s8]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "board.h"
#include "cortex_m.h"
#include "frontend_tables.h"

static kws_frontend_t fe;

static void *read_file(const char *path, long *size)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    *size = ftell(f);
    fseek(f, 0, SEEK_SET);
    void *buf = malloc((size_t)(*size > 0 ? *size : 1));
    if (buf && fread(buf, 1, (size_t)*size, f) != (size_t)*size) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    return buf;
}

int main(int argc, char **argv)
{
    board_init();
    if (argc < 4) {
        printf("usage: kws_frontend_m4 IN.s16 OUT.s8 CLIP_SAMPLES [EXPECTED.s8] (semihosting args)\n");
        return 2;
    }
    if (kws_frontend_init(&fe, &kws_frontend_tables) != 0) {
        printf("front-end tables %s do not fit this build\n", KWS_FRONTEND_CONFIG);
        return 2;
    }
    long bytes = 0;
    int16_t *pcm = read_file(argv[1], &bytes);
    const long clip = atol(argv[3]);
    if (!pcm || clip <= 0) {
        printf("cannot read %s\n", argv[1]);
        return 2;
    }
    const long n = bytes / 2, f = kws_frontend_tables.n_mfcc, hop = kws_frontend_tables.hop;
    int8_t *out = malloc((size_t)((n / hop + 1) * f));
    const uint32_t per_kilocycle = cm_instructions_per_kilocycle();
    uint64_t cycles = 0;
    long frames = 0;
    for (long start = 0; start < n; start += clip) {
        kws_frontend_reset(&fe);
        for (long i = start; i + hop <= start + clip && i + hop <= n; i += hop) {
            const uint32_t t0 = board_cycles();
            const int got = kws_frontend_process(&fe, pcm + i, out + frames * f);
            const uint32_t t1 = board_cycles();
            if (got) {
                cycles += t1 - t0;
                frames++;
            }
        }
    }
    FILE *fo = fopen(argv[2], "wb");
    if (!fo || fwrite(out, 1, (size_t)(frames * f), fo) != (size_t)(frames * f)) {
        printf("cannot write %s\n", argv[2]);
        return 2;
    }
    fclose(fo);
    const unsigned long insn = frames ? (unsigned long)(cycles * per_kilocycle / 1000u / (uint64_t)frames) : 0;
    printf("config %s frames %ld\n", KWS_FRONTEND_CONFIG, frames);
    printf("instructions_per_kilocycle %lu\n", (unsigned long)per_kilocycle);
    printf("instructions_per_frame %lu\n", insn);
    int status = 0;
    if (argc > 4) {
        long expected_bytes = 0;
        int8_t *expected = read_file(argv[4], &expected_bytes);
        long mismatches = 0;
        if (!expected || expected_bytes != frames * f) {
            printf("expected %ld bytes in %s, the front-end made %ld\n", expected_bytes, argv[4], frames * f);
            return 1;
        }
        for (long i = 0; i < frames * f; i++) {
            mismatches += expected[i] != out[i];
        }
        printf("mismatches %ld of %ld\n", mismatches, frames * f);
        status = mismatches ? 1 : 0;
    }
    return status;
}
