/* A single-producer single-consumer ring of int16 PCM samples between an interrupt (UART, DMA) and the
 * application's kws_audio_read(): the interrupt pushes, read() pops and sleeps (WFI) while the ring is
 * short. Samples that do not fit are dropped and counted, never overwritten. */
#ifndef KWS_PCM_RING_H
#define KWS_PCM_RING_H

#include <stdint.h>

#define PCM_RING_SAMPLES 2048u   /* 128 ms at 16 kHz: room for an inference that overruns a hop */

typedef struct {
    int16_t buf[PCM_RING_SAMPLES];
    volatile uint32_t head;      /* written by the producer only */
    volatile uint32_t tail;      /* written by the consumer only */
    volatile uint32_t dropped;
    uint32_t delivered;
} pcm_ring_t;

static inline uint32_t pcm_ring_count(const pcm_ring_t *r)
{
    return r->head - r->tail;
}

static inline uint32_t pcm_ring_space(const pcm_ring_t *r)
{
    return PCM_RING_SAMPLES - (r->head - r->tail);
}

/* Producer side (interrupt): returns 0 and counts a drop when the ring is full. */
static inline int pcm_ring_push(pcm_ring_t *r, int16_t s)
{
    if (pcm_ring_space(r) == 0) {
        r->dropped++;
        return 0;
    }
    r->buf[r->head % PCM_RING_SAMPLES] = s;
    __asm__ volatile("dmb" ::: "memory");   /* the sample lands before the consumer sees the new head */
    r->head++;
    return 1;
}

/* Consumer side: wait until n samples are there, copy them out. */
static inline void pcm_ring_pop(pcm_ring_t *r, int16_t *dst, int n)
{
    while (pcm_ring_count(r) < (uint32_t)n) {
        __asm__ volatile("wfi");   /* the producer's interrupt wakes the core */
    }
    for (int i = 0; i < n; i++) {
        dst[i] = r->buf[(r->tail + (uint32_t)i) % PCM_RING_SAMPLES];
    }
    __asm__ volatile("dmb" ::: "memory");
    r->tail += (uint32_t)n;
    r->delivered += (uint32_t)n;
}

/* The ring of the board's audio provider (cortex_m/audio_ring.c implements kws_audio_read on it) and
 * the hook a provider defines to resume a source it held back while the ring was full. */
extern pcm_ring_t kws_audio_ring;
void kws_audio_consumed(void);

#endif /* KWS_PCM_RING_H */
