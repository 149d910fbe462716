/* Audio provider: the board HAL that delivers 16 kHz mono int16 PCM to the application.
 *
 * A port implements these three functions over its microphone driver (usually a DMA ring filled by
 * I2S or PDM); audio_provider_wav.c implements them over a WAV file, which works on the host and,
 * through semihosting, under QEMU.
 */
#ifndef KWS_AUDIO_PROVIDER_H
#define KWS_AUDIO_PROVIDER_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Open the stream. `source` is implementation-defined (a file name here, ignored on a board).
 * Returns 0, or -1 with a message on stderr. */
int kws_audio_open(const char *source);

/* Block until `n` samples are available and copy them to dst. Returns n, or 0 at the end of the
 * stream (a file ran out; a microphone never ends). */
int kws_audio_read(int16_t *dst, int n);

/* Milliseconds of audio delivered so far (the application's clock). */
int32_t kws_audio_time_ms(void);

#ifdef __cplusplus
}
#endif

#endif /* KWS_AUDIO_PROVIDER_H */
