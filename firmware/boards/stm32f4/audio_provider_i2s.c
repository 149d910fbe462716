/* Audio provider for an I2S MEMS microphone (INMP441, ICS-43434, SPH0645...) on SPI2/I2S2 of an
 * STM32F4: master receive, Philips standard, 24-bit data in 32-bit slots, the microphone's L/R pin
 * tied low (left slot). Pins PB12 WS, PB13 CK, PB15 SD (alternate function 5; RM0090/RM0390 pin
 * tables). DMA1 stream 3 channel 0 (SPI2_RX) runs in double-buffer mode: while the hardware fills one
 * block of 10 ms, the transfer-complete interrupt converts the other into int16 samples for the ring
 * (pcm_ring.h), from which kws_audio_read() takes hops. Built for the boards, not run here (QEMU
 * emulates neither I2S nor DMA).
 *
 * Clock: PLLI2S from a 1 MHz input, N = 213, R = 2 -> I2SCLK 106.5 MHz; Fs = I2SCLK / (64 * 2 * 52)
 * = 16,001 Hz (RM0090 28.4.4, 32-bit channel frames, master clock output off). */
#include "audio_provider.h"
#include "pcm_ring.h"
#include "stm32f4.h"
#include "stm32f4_board.h"

#define BLOCK_SAMPLES 160                 /* 10 ms at 16 kHz */
#define HALFWORDS_PER_SAMPLE 4            /* left 32-bit slot (MSB half, LSB half), then the right slot */
#define PLLI2S_N 213u
#define PLLI2S_R 2u
#define I2S_DIV 52u
#define DMA_TCIF3 (1u << 27)
#define DMA_STREAM 3
#define DMA_CR_CT (1u << 19)

/* DMA writes here; in SRAM (not CCM, which the DMA cannot reach). */
static uint16_t blocks[2][BLOCK_SAMPLES * HALFWORDS_PER_SAMPLE];

void stm32_audio_dma_irq(void)
{
    stm32_dma_t *const dma = STM32_DMA1;
    if (!(dma->LISR & DMA_TCIF3)) {
        return;
    }
    dma->LIFCR = DMA_TCIF3;
    /* CT names the buffer the DMA now fills; the other one is complete. */
    const uint16_t *done = blocks[(dma->S[DMA_STREAM].CR & DMA_CR_CT) ? 0 : 1];
    for (int i = 0; i < BLOCK_SAMPLES; i++) {
        /* The 16 most significant of the 24 data bits: the sample at full int16 scale. */
        pcm_ring_push(&kws_audio_ring, (int16_t)done[i * HALFWORDS_PER_SAMPLE]);
    }
}

int kws_audio_open(const char *source)
{
    (void)source;
    stm32_rcc_t *const rcc = STM32_RCC;
    rcc->AHB1ENR |= (1u << 1) | (1u << 21);   /* GPIOB, DMA1 */
    rcc->APB1ENR |= 1u << 14;                 /* SPI2 */
    (void)rcc->APB1ENR;
    stm32_gpio_af(STM32_GPIOB, 12, 5);
    stm32_gpio_af(STM32_GPIOB, 13, 5);
    stm32_gpio_af(STM32_GPIOB, 15, 5);

    /* PLLI2S: its input is the main PLL's 1 MHz (F405), or its own divider from the source (F446). */
    rcc->CR &= ~RCC_CR_PLLI2SON;
    rcc->PLLI2SCFGR = PLLI2S_R << 28 | PLLI2S_N << 6 | (stm32_board.plli2s_has_m ? stm32_board_clocks.pll_input_mhz : 0);
    rcc->CR |= RCC_CR_PLLI2SON;
    for (int i = 0; i < 1000000 && !(rcc->CR & RCC_CR_PLLI2SRDY); i++) {
    }

    stm32_spi_t *const spi = STM32_SPI2;
    spi->I2SCFGR = 0;
    spi->I2SPR = I2S_DIV;                                     /* ODD = 0, MCKOE = 0 */
    spi->I2SCFGR = 1u << 11 | 3u << 8 | 0u << 4 | 1u << 1 | 1u << 0;   /* I2SMOD, master RX, Philips, 24 in 32 bits */
    spi->CR2 |= 1u << 0;                                      /* RXDMAEN */

    stm32_dma_stream_t *const s = &STM32_DMA1->S[DMA_STREAM];
    s->CR = 0;
    while (s->CR & 1u) {
    }
    s->PAR = (uint32_t)(uintptr_t)&spi->DR;
    s->M0AR = (uint32_t)(uintptr_t)blocks[0];
    s->M1AR = (uint32_t)(uintptr_t)blocks[1];
    s->NDTR = BLOCK_SAMPLES * HALFWORDS_PER_SAMPLE;
    s->FCR = 0;   /* direct mode */
    /* channel 0, high priority, double buffer, 16-bit memory and peripheral, memory increment,
     * circular, peripheral to memory, transfer-complete interrupt */
    s->CR = 0u << 25 | 2u << 16 | 1u << 18 | 1u << 13 | 1u << 11 | 1u << 10 | 1u << 8 | 0u << 6 | 1u << 4;
    cm_irq_enable(STM32_IRQ_DMA1_STREAM3, 0x40);
    s->CR |= 1u;                  /* EN */
    spi->I2SCFGR |= 1u << 10;     /* I2SE: the bit clock starts, the microphone starts talking */
    return 0;
}
