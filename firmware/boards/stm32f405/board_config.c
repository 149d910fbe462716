/* STM32F405 as on the Netduino Plus 2 (QEMU: -M netduinoplus2): 25 MHz HSE crystal, 168 MHz core
 * (PLL M 25, N 336, P 2, Q 7), APB1 42 MHz, APB2 84 MHz, 5 flash wait states.
 *   console   USART6: PC6 TX (Arduino header D1), PC7 RX (D0), AF8, 115200 baud
 *   audio     USART2: PA3 RX (PA2 TX unused), AF7, 921600 baud, 16-bit PCM (audio_provider_uart.c)
 *   host link UART4:  PA0 TX, PA1 RX, AF8, 921600 baud (tethered model runner)
 * QEMU connects -serial options to USART1, USART2, USART3, UART4, UART5, USART6 in that order. */
#include "stm32f4_board.h"

const stm32_board_t stm32_board = {
    .name = "STM32F405 (Netduino Plus 2)",
    .clock = {.hse_hz = 25000000u, .hse_bypass = 0, .sysclk_hz = 168000000u, .pll_q = 7,
              .apb1_div = 4, .apb2_div = 2, .flash_wait_states = 5, .overdrive = 0},
    .console = {STM32_USART6, STM32_GPIOC, 6, 7, 8, 1, STM32_IRQ_USART6},
    .audio_uart = {STM32_USART2, STM32_GPIOA, 2, 3, 7, 0, STM32_IRQ_USART2},
    .link = {STM32_UART4, STM32_GPIOA, 0, 1, 8, 0, STM32_IRQ_UART4},
    .plli2s_has_m = 0,
};
