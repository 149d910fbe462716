/* STM32F4 clock tree, GPIO alternate functions and polled UART (see stm32f4.h). */
#include "stm32f4.h"

#include <stddef.h>

#define HSI_HZ 16000000u
#define READY_TIMEOUT 1000000   /* polls; the HSE needs ~2 ms to start, the PLL ~0.1 ms */

static int wait_set(volatile uint32_t *reg, uint32_t mask)
{
    for (int i = 0; i < READY_TIMEOUT; i++) {
        if (*reg & mask) {
            return 1;
        }
    }
    return 0;
}

/* APB prescaler field value for a divider of 1, 2, 4, 8 or 16 (RCC_CFGR PPREx: 0xx = 1, 100 = 2, ...). */
static uint32_t ppre(uint32_t div)
{
    uint32_t bits = 0;
    while ((1u << bits) < div) {
        bits++;
    }
    return bits ? 0x4u | (bits - 1) : 0;
}

stm32_clocks_t stm32_clock_init(const stm32_clock_config_t *cfg)
{
    stm32_rcc_t *const rcc = STM32_RCC;
    stm32_clocks_t c = {cfg->sysclk_hz, cfg->sysclk_hz / cfg->apb1_div, cfg->sysclk_hz / cfg->apb2_div,
                        cfg->hse_hz / 1000000u, "PLL from HSE"};
    /* After reset the HSI is on and ready: an RCC whose CR reads 0 is not there (QEMU's netduinoplus2
     * maps it as an unimplemented device). Writes are harmless; nothing could become ready. */
    if (rcc->CR == 0) {
        c.source = "RCC not emulated: QEMU's fixed clock";
        return c;
    }
    rcc->APB1ENR |= RCC_APB1ENR_PWREN;
    STM32_PWR->CR |= PWR_CR_VOS_SCALE1;
    uint32_t source_mhz = cfg->hse_hz / 1000000u;
    rcc->CR |= RCC_CR_HSEON | (cfg->hse_bypass ? RCC_CR_HSEBYP : 0);
    if (!wait_set(&rcc->CR, RCC_CR_HSERDY)) {
        rcc->CR &= ~(RCC_CR_HSEON | RCC_CR_HSEBYP);
        source_mhz = HSI_HZ / 1000000u;
        c.pll_input_mhz = source_mhz;
        c.source = "PLL from HSI (the HSE did not start)";
    }
    /* VCO input 1 MHz (M = source MHz), VCO = N MHz, SYSCLK = VCO / 2 (P field 0), 48 MHz = VCO / Q. */
    const uint32_t n = 2u * (cfg->sysclk_hz / 1000000u);
    rcc->PLLCFGR = source_mhz | n << 6 | 0u << 16 | cfg->pll_q << 24 |
                   (source_mhz == HSI_HZ / 1000000u ? 0 : RCC_PLLCFGR_SRC_HSE);
    rcc->CR |= RCC_CR_PLLON;
    if (!wait_set(&rcc->CR, RCC_CR_PLLRDY)) {
        c.sysclk_hz = HSI_HZ;
        c.apb1_hz = c.apb2_hz = HSI_HZ;
        c.source = "HSI (the PLL did not lock)";
        return c;
    }
    if (cfg->overdrive) {   /* F446 above 168 MHz: RM0390 5.1.4, over-drive then over-drive switching */
        STM32_PWR->CR |= PWR_CR_ODEN;
        wait_set(&STM32_PWR->CSR, PWR_CSR_ODRDY);
        STM32_PWR->CR |= PWR_CR_ODSWEN;
        wait_set(&STM32_PWR->CSR, PWR_CSR_ODSWRDY);
    }
    /* Flash wait states before the switch (RM0090 table 10: 5 WS at 150-168 MHz, 2.7-3.6 V). */
    STM32_FLASH->ACR = cfg->flash_wait_states | FLASH_ACR_PRFTEN | FLASH_ACR_ICEN | FLASH_ACR_DCEN;
    rcc->CFGR = 0u << RCC_CFGR_HPRE_SHIFT | ppre(cfg->apb1_div) << RCC_CFGR_PPRE1_SHIFT |
                ppre(cfg->apb2_div) << RCC_CFGR_PPRE2_SHIFT | RCC_CFGR_SW_PLL;
    for (int i = 0; i < READY_TIMEOUT && ((rcc->CFGR >> RCC_CFGR_SWS_SHIFT) & 3u) != RCC_CFGR_SW_PLL; i++) {
    }
    return c;
}

/* Clock-enable bit of a GPIO port (AHB1ENR bit = port index) and of a USART. */
static void enable_clocks(const stm32_uart_t *u)
{
    stm32_rcc_t *const rcc = STM32_RCC;
    rcc->AHB1ENR |= 1u << (((uintptr_t)u->port - (uintptr_t)STM32_GPIOA) / 0x400u);
    if (u->usart == STM32_USART1) {
        rcc->APB2ENR |= 1u << 4;
    } else if (u->usart == STM32_USART6) {
        rcc->APB2ENR |= 1u << 5;
    } else if (u->usart == STM32_USART2) {
        rcc->APB1ENR |= 1u << 17;
    } else if (u->usart == STM32_USART3) {
        rcc->APB1ENR |= 1u << 18;
    } else if (u->usart == STM32_UART4) {
        rcc->APB1ENR |= 1u << 19;
    }
    (void)rcc->AHB1ENR;   /* RM0090 6.3.10: a read-back delays the first access after enabling */
}

void stm32_gpio_af(stm32_gpio_t *port, int pin, int af)
{
    port->MODER = (port->MODER & ~(3u << (2 * pin))) | 2u << (2 * pin);
    port->OSPEEDR |= 2u << (2 * pin);   /* fast: 921600 baud and I2S bit clocks */
    port->AFR[pin >> 3] = (port->AFR[pin >> 3] & ~(0xFu << (4 * (pin & 7)))) | (uint32_t)af << (4 * (pin & 7));
}

void stm32_uart_init(const stm32_uart_t *u, const stm32_clocks_t *clocks, uint32_t baud)
{
    enable_clocks(u);
    stm32_gpio_af(u->port, u->tx_pin, u->af);
    stm32_gpio_af(u->port, u->rx_pin, u->af);
    const uint32_t fck = u->apb2 ? clocks->apb2_hz : clocks->apb1_hz;
    u->usart->CR1 = 0;
    u->usart->BRR = (fck + baud / 2) / baud;   /* 16x oversampling: BRR = USARTDIV * 16 = fck / baud */
    u->usart->CR1 = USART_CR1_UE | USART_CR1_TE | USART_CR1_RE;
}

void stm32_uart_write(const stm32_uart_t *u, const char *data, int n)
{
    for (int i = 0; i < n; i++) {
        while (!(u->usart->SR & USART_SR_TXE)) {
        }
        u->usart->DR = (uint8_t)data[i];
    }
}

int stm32_uart_read(const stm32_uart_t *u, char *data, int n)
{
    for (int i = 0; i < n; i++) {
        while (!(u->usart->SR & USART_SR_RXNE)) {
        }
        data[i] = (char)u->usart->DR;
    }
    return n;
}
