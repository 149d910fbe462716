/* board.h for STM32F4 boards: clock tree, console UART, cycle counter (DWT, or SysTick where the DWT
 * does not count, as under QEMU), host link; the board's differences come from stm32_board. */
#include <stdio.h>

#include "board.h"
#include "cortex_m.h"
#include "stm32f4_board.h"

stm32_clocks_t stm32_board_clocks;
static char description[160];

int board_init(void)
{
    stm32_board_clocks = stm32_clock_init(&stm32_board.clock);
    stm32_uart_init(&stm32_board.console, &stm32_board_clocks, KWS_CONSOLE_BAUD);
    cm_cycles_start(stm32_board_clocks.sysclk_hz);
    /* Unbuffered stdout: printf writes straight to the UART and needs no heap for a stdio buffer. */
    setvbuf(stdout, NULL, _IONBF, 0);
    snprintf(description, sizeof(description), "%s, %lu MHz (%s), timer %s", stm32_board.name,
             (unsigned long)(stm32_board_clocks.sysclk_hz / 1000000u), stm32_board_clocks.source, cm_cycles_source());
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
