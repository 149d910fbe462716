/* board.h for STM32F4 boards: clock tree, console UART, cycle counter (DWT, or SysTick where the DWT
 * does not count, as under QEMU), host link; the board's differences come from stm32_board. */
#include <stdio.h>

#include "board.h"
#include "cortex_m.h"
#include "stm32f4_board.h"

stm32_clocks_t stm32_board_clocks;
static char description[160];

/* Independent watchdog (RM0090 21.4 / RM0390 19.4), clocked by the ~32 kHz LSI: prescaler /64 (PR=4) and
 * reload 1000 give about 2 s (1.4-3.8 s over the LSI's tolerance), twenty times a slow Invoke. Once
 * started it cannot be stopped. QEMU's netduinoplus2 maps the IWDG as an unimplemented device (writes
 * ignored): there it is built, not exercised. -DKWS_WATCHDOG=OFF leaves it off (e.g. under a debugger). */
typedef struct {
    volatile uint32_t KR, PR, RLR, SR;
} stm32_iwdg_t;
#define STM32_IWDG ((stm32_iwdg_t *)0x40003000u)

static void watchdog_start(void)
{
#ifdef KWS_WATCHDOG
    STM32_IWDG->KR = 0xCCCCu;   /* start */
    STM32_IWDG->KR = 0x5555u;   /* unlock PR and RLR */
    STM32_IWDG->PR = 4u;
    STM32_IWDG->RLR = 1000u;
    for (int i = 0; i < 100000 && (STM32_IWDG->SR & 3u); i++) {
    }
    STM32_IWDG->KR = 0xAAAAu;
#endif
}

void board_watchdog_kick(void)
{
#ifdef KWS_WATCHDOG
    STM32_IWDG->KR = 0xAAAAu;
#endif
}

int board_init(void)
{
    watchdog_start();
    stm32_board_clocks = stm32_clock_init(&stm32_board.clock);
    stm32_uart_init(&stm32_board.console, &stm32_board_clocks, KWS_CONSOLE_BAUD);
    cm_cycles_start(stm32_board_clocks.sysclk_hz);
    /* Unbuffered stdout: printf writes straight to the UART and needs no heap for a stdio buffer. */
    setvbuf(stdout, NULL, _IONBF, 0);
    snprintf(description, sizeof(description), "%s, %lu MHz (%s), timer %s%s", stm32_board.name,
             (unsigned long)(stm32_board_clocks.sysclk_hz / 1000000u), stm32_board_clocks.source, cm_cycles_source(),
#ifdef KWS_WATCHDOG
             ", watchdog 2 s"
#else
             ""
#endif
    );
    return 0;
}

void board_console_write(const char *text, int n)
{
    stm32_uart_write(&stm32_board.console, text, n);
}

const char *board_description(void)
{
    return description;
}

void board_link_write(const char *data, int n)
{
    static int ready;
    if (!ready) {
        stm32_uart_init(&stm32_board.link, &stm32_board_clocks, KWS_LINK_BAUD);
        ready = 1;
    }
    stm32_uart_write(&stm32_board.link, data, n);
}

int board_link_read(char *data, int n)
{
    return stm32_uart_read(&stm32_board.link, data, n);
}
