/* The reading half of every interrupt-fed audio provider (UART stream, I2S or PDM microphone): the
 * provider's interrupt pushes samples into kws_audio_ring (pcm_ring.h), the application pops hops here.
 * A provider that holds its source back while the ring is full resumes it in kws_audio_consumed(). */
#include "audio_provider.h"
#include "pcm_ring.h"

pcm_ring_t kws_audio_ring;

__attribute__((weak)) void kws_audio_consumed(void)
{
}

int kws_audio_read(int16_t *dst, int n)
{
    if (n > (int)PCM_RING_SAMPLES) {
        return 0;
    }
    pcm_ring_pop(&kws_audio_ring, dst, n);
    kws_audio_consumed();
    return n;
}

int32_t kws_audio_time_ms(void)
{
    return (int32_t)(kws_audio_ring.delivered / 16u);
}

uint32_t kws_audio_dropped(void)
{
    return kws_audio_ring.dropped;
}
