/* Audio provider: 16 kHz 16-bit little-endian mono PCM streamed into a UART by a host, received by
 * the RXNE interrupt into a sample ring (pcm_ring.h). Under QEMU the host writes into a chardev
 * (`dadarts firmware stream`); on a board, a USB-serial adapter at KWS_AUDIO_BAUD (the stream must be
 * paced at real time: 32 kB/s of audio on a 92 kB/s line).
 *
 * When the ring is full the interrupt is switched off at the NVIC until read() has made room: QEMU then
 * holds the stream back (its UART model accepts a byte only when the last one was read), so nothing is
 * lost; on silicon the UART overruns, which is counted as dropped audio. (Masking RXNEIE instead would
 * not do: QEMU 7.2's UART keeps its interrupt line raised until DR is read.) */
#include "audio_provider.h"
#include "pcm_ring.h"
#include "stm32f4.h"
#include "stm32f4_board.h"

#define AUDIO_IRQ_PRIORITY 0x40

static int have_low;        /* a low byte is waiting for its high byte */
static uint8_t low;

void stm32_audio_uart_irq(void)
{
    const stm32_uart_t *u = &stm32_board.audio_uart;
    const uint32_t sr = u->usart->SR;
    if (sr & USART_SR_ORE) {
        kws_audio_ring.dropped++;     /* a byte was lost: the line ran faster than this interrupt */
    }
    if (!(sr & USART_SR_RXNE)) {
        return;
    }
    if (have_low && pcm_ring_space(&kws_audio_ring) == 0) {
        cm_irq_disable(u->irq);   /* full: leave the byte where it is until read() makes room */
        return;
    }
    const uint8_t byte = (uint8_t)u->usart->DR;
    if (!have_low) {
        low = byte;
        have_low = 1;
    } else {
        pcm_ring_push(&kws_audio_ring, (int16_t)(uint16_t)(low | byte << 8));
        have_low = 0;
    }
}

int kws_audio_open(const char *source)
{
    (void)source;
    const stm32_uart_t *u = &stm32_board.audio_uart;
    stm32_uart_init(u, &stm32_board_clocks, KWS_AUDIO_BAUD);
    u->usart->CR1 |= USART_CR1_RXNEIE;
    cm_irq_enable(u->irq, AUDIO_IRQ_PRIORITY);
    return 0;
}

/* read() made room: let the stream in again. */
void kws_audio_consumed(void)
{
    cm_irq_enable(stm32_board.audio_uart.irq, AUDIO_IRQ_PRIORITY);
}
