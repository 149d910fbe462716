/* Audio provider: 16 kHz 16-bit mono PCM streamed into a UART by a host in framed blocks, received by the
 * RXNE interrupt into a sample ring (pcm_ring.h). Under QEMU the host writes into a chardev (`dadarts
 * firmware stream`); on a board, a USB-serial adapter at KWS_AUDIO_BAUD, paced at real time
 * (`python -m dadarts.firmware.uart_audio`; docs/firmware.md).
 *
 * Framing (dadarts/firmware/uart_audio.py is the host side): every block of KWS_UART_BLOCK_SAMPLES
 * little-endian samples is preceded by the sync word 0xA5 0x5A and a sequence number (mod 256), and the
 * stream ends with one more sync word:  A5 5A seq s0lo s0hi ... A5 5A seq+1 ...  A block enters the ring
 * only when the sync word after it arrives where it should: a byte lost on the line (an overrun) costs
 * that block, never the byte order of what follows. When the expected sync is not there the receiver
 * hunts for the next one; a sync found one byte early (a lost byte inside the block) is taken at once.
 * The sequence numbers count whole blocks lost; `dropped` counts samples (a full ring counts there too).
 *
 * When the ring has no room for a finished block the interrupt is switched off at the NVIC until read()
 * has made room: QEMU then holds the stream back (its UART model accepts a byte only when the last one
 * was read), so nothing is lost under emulation; on silicon the UART overruns and the framing recovers.
 * (Masking RXNEIE instead would not do: QEMU 7.2's UART keeps its interrupt line raised until DR is read.) */
#include "audio_provider.h"
#include "pcm_ring.h"
#include "stm32f4.h"
#include "stm32f4_board.h"

#define AUDIO_IRQ_PRIORITY 0x40
#define KWS_UART_BLOCK_SAMPLES 128
#define SYNC0 0xA5u
#define SYNC1 0x5Au

enum { HUNT, HUNT_SYNC1, SEQ, DATA, END_SYNC0, END_SYNC1 };

static int state = HUNT;
static uint8_t seq, last_seq, have_last_seq;
static uint8_t block[2 * KWS_UART_BLOCK_SAMPLES];
static int fill;

/* A block arrived intact: the samples go into the ring and blocks missing since the last one count. */
static void accept_block(void)
{
    if (have_last_seq) {
        kws_audio_ring.dropped += (uint32_t)(uint8_t)(seq - last_seq - 1u) * KWS_UART_BLOCK_SAMPLES;
    }
    last_seq = seq;
    have_last_seq = 1;
    for (int i = 0; i < KWS_UART_BLOCK_SAMPLES; i++) {
        pcm_ring_push(&kws_audio_ring, (int16_t)(uint16_t)(block[2 * i] | block[2 * i + 1] << 8));
    }
}

/* One byte through the framing state machine. */
static void receive(uint8_t byte)
{
    switch (state) {
    case HUNT:
        state = byte == SYNC0 ? HUNT_SYNC1 : HUNT;
        break;
    case HUNT_SYNC1:
        state = byte == SYNC1 ? SEQ : byte == SYNC0 ? HUNT_SYNC1 : HUNT;
        break;
    case SEQ:
        seq = byte;
        fill = 0;
        state = DATA;
        break;
    case DATA:
        block[fill++] = byte;
        state = fill == (int)sizeof(block) ? END_SYNC0 : DATA;
        break;
    case END_SYNC0:
        if (byte == SYNC0) {
            state = END_SYNC1;
        } else if (byte == SYNC1 && block[sizeof(block) - 1] == SYNC0) {
            state = SEQ;   /* the sync came one byte early: a byte of this block was lost; drop it */
        } else {
            state = HUNT;
        }
        break;
    case END_SYNC1:
        if (byte == SYNC1) {
            accept_block();
            state = SEQ;
        } else {
            state = byte == SYNC0 ? HUNT_SYNC1 : HUNT;
        }
        break;
    }
}

void stm32_audio_uart_irq(void)
{
    const stm32_uart_t *u = &stm32_board.audio_uart;
    const uint32_t sr = u->usart->SR;   /* reading SR then DR also clears an overrun (ORE) */
    if (!(sr & USART_SR_RXNE)) {
        if (sr & USART_SR_ORE) {
            (void)u->usart->DR;
        }
        return;
    }
    if (state == END_SYNC1 && pcm_ring_space(&kws_audio_ring) < KWS_UART_BLOCK_SAMPLES) {
        cm_irq_disable(u->irq);   /* no room for the block: leave the byte where it is until read() makes room */
        return;
    }
    receive((uint8_t)u->usart->DR);
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
