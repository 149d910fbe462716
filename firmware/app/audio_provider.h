/* Audio provider: the part of a board that delivers 16 kHz mono int16 PCM to the application.
 *
 * Each board implements these functions over its audio source: a microphone driver (a DMA ring filled
 * by I2S or PDM, boards/stm32f4/audio_provider_i2s.c, boards/nrf52840/audio_provider_pdm.c), 16-bit PCM
 * streamed into a UART (boards/stm32f4/audio_provider_uart.c), or a WAV file (audio_provider_wav.c:
 * the host, and QEMU boards with semihosting).
 */
#ifndef KWS_AUDIO_PROVIDER_H
#define KWS_AUDIO_PROVIDER_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Open the stream. `source` is implementation-defined (a file name for the WAV provider, ignored by
 * microphones and UARTs; NULL when there is none). Returns 0, or -1 with a message on the console. */
int kws_audio_open(const char *source);

/* Block until `n` samples are available and copy them to dst. Returns n, or 0 at the end of the
 * stream (a file ran out; a microphone never ends). */
int kws_audio_read(int16_t *dst, int n);

/* Milliseconds of audio delivered so far (the application's clock). */
int32_t kws_audio_time_ms(void);

/* Samples lost because the application did not keep up (0 for sources that wait, like a file). */
uint32_t kws_audio_dropped(void);

#ifdef __cplusplus
}
#endif

#endif /* KWS_AUDIO_PROVIDER_H */
