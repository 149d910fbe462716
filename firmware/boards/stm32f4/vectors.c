/* Vector table of the STM32F4 boards: the 16 Cortex-M4 system entries and STM32_NUM_IRQS device
 * interrupts (82 on F405/407, 97 on F446; RM0090 table 61, RM0390 table 38). The UART interrupts
 * (USART1/2/3, UART4, USART6: IRQ 37, 38, 39, 52, 71) all go to the UART audio provider, of which only
 * the audio UART has its interrupt enabled; DMA1 stream 3 (IRQ 14, SPI2/I2S2 RX) goes to the I2S
 * microphone provider. Every other interrupt, and those two in a build without their provider, reach
 * Default_Handler, which reports a fault. */
#include <stdint.h>

#include "cortex_m.h"

#if !defined(STM32_NUM_IRQS) || (STM32_NUM_IRQS != 82 && STM32_NUM_IRQS != 97)
#error "define STM32_NUM_IRQS in the board's board.cmake: 82 (STM32F405/407) or 97 (STM32F446)"
#endif

void stm32_audio_uart_irq(void);
void stm32_audio_dma_irq(void);

/* Stand-ins for the provider that is not in this build (weak: the provider's own definition wins). */
__attribute__((weak)) void stm32_audio_uart_irq(void)
{
    Default_Handler();
}

__attribute__((weak)) void stm32_audio_dma_irq(void)
{
    Default_Handler();
}

#define D ((uintptr_t)Default_Handler)
#define A_UART ((uintptr_t)stm32_audio_uart_irq)
#define A_DMA ((uintptr_t)stm32_audio_dma_irq)

__attribute__((section(".vectors"), used)) static const uintptr_t vectors[16 + STM32_NUM_IRQS] = {
    CM_SYSTEM_VECTORS,
    D, D, D, D, D, D, D, D,   /* IRQ 0-7 */
    D, D, D, D, D, D, A_DMA, D,   /* IRQ 8-15 */
    D, D, D, D, D, D, D, D,   /* IRQ 16-23 */
    D, D, D, D, D, D, D, D,   /* IRQ 24-31 */
    D, D, D, D, D, A_UART, A_UART, A_UART,   /* IRQ 32-39 */
    D, D, D, D, D, D, D, D,   /* IRQ 40-47 */
    D, D, D, D, A_UART, D, D, D,   /* IRQ 48-55 */
    D, D, D, D, D, D, D, D,   /* IRQ 56-63 */
    D, D, D, D, D, D, D, A_UART,   /* IRQ 64-71 */
    D, D, D, D, D, D, D, D,   /* IRQ 72-79 */
    D, D,   /* IRQ 80-81 */
#if STM32_NUM_IRQS == 97
    D, D, D, D, D, D, D, D,   /* IRQ 82-89 */
    D, D, D, D, D, D, D,   /* IRQ 90-96 */
#endif
};
