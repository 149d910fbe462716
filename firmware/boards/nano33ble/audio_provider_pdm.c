/* Audio provider for the Nano 33 BLE Sense's PDM microphone (MP34DT05: CLK P0.26, DATA P0.25, power
 * on P0.17): the nRF52840 PDM peripheral decimates to 16-bit PCM itself (PDM clock 1.280 MHz, ratio
 * 80 -> 16 kHz, mono, 0 dB gain) and writes it by EasyDMA, double-buffered: at each STARTED event the
 * peripheral has taken the buffer it fills next, so the interrupt names the other one; at each END
 * event a block of 10 ms is complete and goes into the sample ring (pcm_ring.h). Built, not run here. */
#include "audio_provider.h"
#include "nrf52840.h"
#include "pcm_ring.h"

#define BLOCK_SAMPLES 160
#define MIC_PWR 17
#define PDM_CLK 26
#define PDM_DIN 25

static int16_t blocks[2][BLOCK_SAMPLES];
static volatile int filling;   /* block the peripheral writes now */

void nrf_pdm_irq(void)
{
    nrf_pdm_t *const pdm = NRF_PDM;
    /* END (a block is full) before STARTED (the next one began): both may be pending at once. */
    if (pdm->EVENTS_END) {
        pdm->EVENTS_END = 0;
        const int16_t *done = blocks[filling];
        filling ^= 1;
        for (int i = 0; i < BLOCK_SAMPLES; i++) {
            pcm_ring_push(&kws_audio_ring, done[i]);
        }
    }
    if (pdm->EVENTS_STARTED) {
        pdm->EVENTS_STARTED = 0;
        pdm->SAMPLE_PTR = (uint32_t)(uintptr_t)blocks[filling ^ 1];   /* the block after the one filling now */
    }
}

int kws_audio_open(const char *source)
{
    (void)source;
    NRF_P0->OUTSET = 1u << MIC_PWR;
    NRF_P0->PIN_CNF[MIC_PWR] = 1u | 3u << 8;   /* output, high drive: it powers the microphone */
    NRF_P0->PIN_CNF[PDM_CLK] = 1u;
    NRF_P0->PIN_CNF[PDM_DIN] = 0u;
    nrf_pdm_t *const pdm = NRF_PDM;
    pdm->PSEL_CLK = NRF_PIN(0, PDM_CLK);
    pdm->PSEL_DIN = NRF_PIN(0, PDM_DIN);
    pdm->PDMCLKCTRL = NRF_PDMCLK_1280K;
    pdm->RATIO = 1u;                           /* 80 */
    pdm->MODE = 1u;                            /* mono, left channel on the falling edge */
    pdm->GAINL = pdm->GAINR = 0x28u;           /* 0 dB */
    pdm->SAMPLE_PTR = (uint32_t)(uintptr_t)blocks[0];
    pdm->SAMPLE_MAXCNT = BLOCK_SAMPLES;
    filling = 0;
    pdm->INTENSET = 1u << 0 | 1u << 2;         /* STARTED, END */
    cm_irq_enable(NRF_IRQ_PDM, 0x40);
    pdm->ENABLE = 1u;
    pdm->TASKS_START = 1u;
    return 0;
}
