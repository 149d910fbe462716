/* What differs between STM32F4 boards: the chip name, the clock tree, which UART is the console, the
 * audio stream and the host link, and the PLLI2S input divider. Each board folder defines
 * `stm32_board` (boards/<board>/board_config.c); stm32f4/board.c implements board.h on top of it. */
#ifndef KWS_STM32F4_BOARD_H
#define KWS_STM32F4_BOARD_H

#include "stm32f4.h"

#ifndef KWS_CONSOLE_BAUD
#define KWS_CONSOLE_BAUD 115200u
#endif
#ifndef KWS_AUDIO_BAUD
#define KWS_AUDIO_BAUD 921600u   /* 16-bit PCM at 16 kHz needs 320 kbaud (8N1) at least */
#endif
#ifndef KWS_LINK_BAUD
#define KWS_LINK_BAUD 921600u
#endif

typedef struct {
    const char *name;
    stm32_clock_config_t clock;
    stm32_uart_t console;
    stm32_uart_t audio_uart;    /* audio_provider_uart.c */
    stm32_uart_t link;          /* the tethered model runner's host link */
    int plli2s_has_m;           /* F446: PLLI2S has its own input divider; F405: it shares the main PLL's */
} stm32_board_t;

extern const stm32_board_t stm32_board;
extern stm32_clocks_t stm32_board_clocks;   /* set by board_init() */

#endif /* KWS_STM32F4_BOARD_H */
