/* Host test of the WAV audio provider: reads a file written here, refuses a wrong sample rate. */
#include <stdio.h>
#include <string.h>

#include "audio_provider.h"
#include "check.h"

static void put32(FILE *f, uint32_t v)
{
    for (int i = 0; i < 4; i++) {
        fputc((int)(v >> (8 * i)) & 255, f);
    }
}

static void put16(FILE *f, unsigned v)
{
    fputc((int)(v & 255), f);
    fputc((int)(v >> 8) & 255, f);
}

static void write_wav(const char *path, uint32_t rate, int n)
{
    FILE *f = fopen(path, "wb");
    fwrite("RIFF", 1, 4, f);
    put32(f, 36 + 4 + 8 + 2u * (uint32_t)n);
    fwrite("WAVEfmt ", 1, 8, f);
    put32(f, 16);
    put16(f, 1);
    put16(f, 1);
    put32(f, rate);
    put32(f, rate * 2);
    put16(f, 2);
    put16(f, 16);
    fwrite("LIST", 1, 4, f);                     /* an extra chunk to skip */
    put32(f, 4);
    fwrite("INFO", 1, 4, f);
    fwrite("data", 1, 4, f);
    put32(f, 2u * (uint32_t)n);
    for (int i = 0; i < n; i++) {
        put16(f, (unsigned)(uint16_t)(int16_t)(i * 7 - 1000));
    }
    fclose(f);
}

int main(void)
{
    int16_t buf[300];
    write_wav("kws_test_ok.wav", 16000, 1000);
    CHECK(kws_audio_open("kws_test_ok.wav") == 0);
    CHECK(kws_audio_read(buf, 300) == 300 && buf[0] == -1000 && buf[299] == 299 * 7 - 1000);
    CHECK(kws_audio_read(buf, 300) == 300 && buf[0] == 300 * 7 - 1000);
    CHECK(kws_audio_time_ms() == 600 / 16);
    CHECK(kws_audio_read(buf, 300) == 300);
    CHECK(kws_audio_read(buf, 300) == 0);          /* only 100 samples left */
    write_wav("kws_test_bad.wav", 8000, 100);
    CHECK(kws_audio_open("kws_test_bad.wav") == -1);
    CHECK(kws_audio_open("kws_test_missing.wav") == -1);
    remove("kws_test_ok.wav");
    remove("kws_test_bad.wav");
    CHECK_DONE();
}
