/* Audio provider over a WAV file (16 kHz, mono, 16-bit PCM) through stdio: the host board and QEMU
 * boards with semihosting (newlib's rdimon opens the host's file). */
#include "audio_provider.h"

#include <stdio.h>
#include <string.h>

static FILE *wav;
static uint32_t data_left;       /* bytes of PCM still to read */
static uint32_t delivered;       /* samples delivered */

static uint32_t le32(const uint8_t *b)
{
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static int fail(const char *source, const char *why)
{
    printf("%s: %s\n", source, why);
    if (wav) {
        fclose(wav);
        wav = NULL;
    }
    return -1;
}

int kws_audio_open(const char *source)
{
    uint8_t h[12], chunk[8], fmt[16];
    if (!source) {
        printf("usage: kws_app FILE.wav   (16 kHz mono 16-bit)\n");
        return -1;
    }
    wav = fopen(source, "rb");
    if (!wav) {
        return fail(source, "cannot open the WAV file");
    }
    if (fread(h, 1, 12, wav) != 12 || memcmp(h, "RIFF", 4) || memcmp(h + 8, "WAVE", 4)) {
        return fail(source, "not a RIFF/WAVE file");
    }
    int have_fmt = 0;
    while (fread(chunk, 1, 8, wav) == 8) {
        const uint32_t size = le32(chunk + 4);
        if (!memcmp(chunk, "fmt ", 4)) {
            if (size < 16 || fread(fmt, 1, 16, wav) != 16 || fseek(wav, (long)(size - 16 + (size & 1)), SEEK_CUR)) {
                return fail(source, "truncated fmt chunk");
            }
            const unsigned format = fmt[0] | fmt[1] << 8, channels = fmt[2] | fmt[3] << 8;
            const unsigned bits = fmt[14] | fmt[15] << 8;
            if (format != 1 || channels != 1 || le32(fmt + 4) != 16000 || bits != 16) {
                return fail(source, "must be 16 kHz mono 16-bit PCM");
            }
            have_fmt = 1;
        } else if (!memcmp(chunk, "data", 4)) {
            if (!have_fmt) {
                return fail(source, "data chunk before the fmt chunk");
            }
            data_left = size;
            delivered = 0;
            return 0;
        } else if (fseek(wav, (long)(size + (size & 1)), SEEK_CUR)) {
            return fail(source, "truncated chunk");
        }
    }
    return fail(source, "no data chunk");
}

int kws_audio_read(int16_t *dst, int n)
{
    uint8_t buf[2 * 256];
    if (!wav || data_left < 2u * (uint32_t)n) {
        return 0;
    }
    for (int done = 0; done < n;) {
        const int k = n - done < 256 ? n - done : 256;
        if (fread(buf, 2, (size_t)k, wav) != (size_t)k) {
            return 0;
        }
        for (int i = 0; i < k; i++) {
            dst[done + i] = (int16_t)(buf[2 * i] | buf[2 * i + 1] << 8);
        }
        done += k;
    }
    data_left -= 2u * (uint32_t)n;
    delivered += (uint32_t)n;
    return n;
}

int32_t kws_audio_time_ms(void)
{
    return (int32_t)(delivered / 16u);
}

uint32_t kws_audio_dropped(void)
{
    return 0;
}
