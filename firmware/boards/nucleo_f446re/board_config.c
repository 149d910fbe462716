/* NUCLEO-F446RE (STM32F446RE): 8 MHz HSE in bypass from the ST-LINK's MCO (the board's default
 * solder bridges), 180 MHz core with over-drive (PLL M 8, N 360, P 2; Q 8 keeps the 48 MHz domain
 * at 45 MHz, which nothing here uses), APB1 45 MHz, APB2 90 MHz, 5 flash wait states (RM0390 3.4.1).
 *   console   USART2: PA2 TX, PA3 RX, AF7 - the ST-LINK virtual COM port on the USB cable
 *   audio     I2S microphone on SPI2 (audio_provider_i2s.c), or with -DKWS_AUDIO=uart
 *             USART1: PA10 RX (Arduino D2), AF7, 921600 baud
 *   host link UART4: PA0 TX (A0), PA1 RX (A1), AF8 */
#include "stm32f4_board.h"

const stm32_board_t stm32_board = {
    .name = "STM32F446RE (NUCLEO-F446RE)",
    .clock = {.hse_hz = 8000000u, .hse_bypass = 1, .sysclk_hz = 180000000u, .pll_q = 8,
              .apb1_div = 4, .apb2_div = 2, .flash_wait_states = 5, .overdrive = 1},
    .console = {STM32_USART2, STM32_GPIOA, 2, 3, 7, 0, STM32_IRQ_USART2},
    .audio_uart = {STM32_USART1, STM32_GPIOA, 9, 10, 7, 1, STM32_IRQ_USART1},
    .link = {STM32_UART4, STM32_GPIOA, 0, 1, 8, 0, STM32_IRQ_UART4},
    .plli2s_has_m = 1,
};
