/* STM32F4 peripheral registers used by the boards (STM32F405/407 and STM32F446), as named structs at
 * the addresses of the reference manuals (RM0090 for F405/407, RM0390 for F446; same layout as ST's
 * CMSIS device headers stm32f405xx.h / stm32f446xx.h). Only what the boards use; no vendor HAL. */
#ifndef KWS_STM32F4_H
#define KWS_STM32F4_H

#include <stdint.h>

#include "cortex_m.h"

typedef struct {
    CM_REG CR;          /* 0x00 HSION 0, HSIRDY 1, HSEON 16, HSERDY 17, HSEBYP 18, PLLON 24, PLLRDY 25, PLLI2SON 26, PLLI2SRDY 27 */
    CM_REG PLLCFGR;     /* 0x04 PLLM 0-5, PLLN 6-14, PLLP 16-17, PLLSRC 22, PLLQ 24-27 */
    CM_REG CFGR;        /* 0x08 SW 0-1, SWS 2-3, HPRE 4-7, PPRE1 10-12, PPRE2 13-15, I2SSRC 23 (F405) */
    CM_REG CIR;         /* 0x0C */
    CM_REG AHB1RSTR;    /* 0x10 */
    CM_REG AHB2RSTR;    /* 0x14 */
    CM_REG AHB3RSTR;    /* 0x18 */
    uint32_t reserved0;
    CM_REG APB1RSTR;    /* 0x20 */
    CM_REG APB2RSTR;    /* 0x24 */
    uint32_t reserved1[2];
    CM_REG AHB1ENR;     /* 0x30 GPIOAEN 0, GPIOBEN 1, GPIOCEN 2, DMA1EN 21 */
    CM_REG AHB2ENR;     /* 0x34 */
    CM_REG AHB3ENR;     /* 0x38 */
    uint32_t reserved2;
    CM_REG APB1ENR;     /* 0x40 SPI2EN 14, USART2EN 17, USART3EN 18, UART4EN 19, PWREN 28 */
    CM_REG APB2ENR;     /* 0x44 USART1EN 4, USART6EN 5 */
    uint32_t reserved3[2];
    CM_REG AHB1LPENR;   /* 0x50 */
    CM_REG AHB2LPENR;   /* 0x54 */
    CM_REG AHB3LPENR;   /* 0x58 */
    uint32_t reserved4;
    CM_REG APB1LPENR;   /* 0x60 */
    CM_REG APB2LPENR;   /* 0x64 */
    uint32_t reserved5[2];
    CM_REG BDCR;        /* 0x70 */
    CM_REG CSR;         /* 0x74 */
    uint32_t reserved6[2];
    CM_REG SSCGR;       /* 0x80 */
    CM_REG PLLI2SCFGR;  /* 0x84 PLLI2SM 0-5 (F446), PLLI2SN 6-14, PLLI2SR 28-30 */
    CM_REG PLLSAICFGR;  /* 0x88 F446 only */
    CM_REG DCKCFGR;     /* 0x8C F446 only: I2S2SRC 27-28 (00 = PLLI2S_R) */
} stm32_rcc_t;

typedef struct {
    CM_REG ACR;         /* 0x00 LATENCY 0-3, PRFTEN 8, ICEN 9, DCEN 10 */
    CM_REG KEYR;
    CM_REG OPTKEYR;
    CM_REG SR;
    CM_REG CR;
    CM_REG OPTCR;
} stm32_flash_t;

typedef struct {
    CM_REG CR;          /* 0x00 VOS 14 (F405) / 14-15 (F446), ODEN 16, ODSWEN 17 (F446) */
    CM_REG CSR;         /* 0x04 ODRDY 16, ODSWRDY 17 (F446) */
} stm32_pwr_t;

typedef struct {
    CM_REG MODER;       /* 0x00 2 bits per pin: 10 = alternate function */
    CM_REG OTYPER;
    CM_REG OSPEEDR;
    CM_REG PUPDR;
    CM_REG IDR;
    CM_REG ODR;
    CM_REG BSRR;
    CM_REG LCKR;
    CM_REG AFR[2];      /* 0x20 4 bits per pin: AF number */
} stm32_gpio_t;

typedef struct {
    CM_REG SR;          /* 0x00 ORE 3, RXNE 5, TXE 7 */
    CM_REG DR;          /* 0x04 */
    CM_REG BRR;         /* 0x08 USARTDIV (16x oversampling: fck / baud) */
    CM_REG CR1;         /* 0x0C RE 2, TE 3, RXNEIE 5, UE 13 */
    CM_REG CR2;
    CM_REG CR3;
    CM_REG GTPR;
} stm32_usart_t;

typedef struct {
    CM_REG CR1;         /* 0x00 (not used in I2S mode) */
    CM_REG CR2;         /* 0x04 RXDMAEN 0 */
    CM_REG SR;          /* 0x08 */
    CM_REG DR;          /* 0x0C */
    CM_REG CRCPR;
    CM_REG RXCRCR;
    CM_REG TXCRCR;
    CM_REG I2SCFGR;     /* 0x1C CHLEN 0, DATLEN 1-2, CKPOL 3, I2SSTD 4-5, I2SCFG 8-9, I2SE 10, I2SMOD 11 */
    CM_REG I2SPR;       /* 0x20 I2SDIV 0-7, ODD 8, MCKOE 9 */
} stm32_spi_t;

typedef struct {
    CM_REG CR;          /* EN 0, HTIE 3, TCIE 4, DIR 6-7, CIRC 8, MINC 10, PSIZE 11-12, MSIZE 13-14, PL 16-17, DBM 18, CT 19, CHSEL 25-27 */
    CM_REG NDTR;
    CM_REG PAR;
    CM_REG M0AR;
    CM_REG M1AR;
    CM_REG FCR;
} stm32_dma_stream_t;

typedef struct {
    CM_REG LISR;        /* 0x00 stream 3: TCIF3 27, HTIF3 26 */
    CM_REG HISR;
    CM_REG LIFCR;       /* 0x08 write 1 to clear */
    CM_REG HIFCR;
    stm32_dma_stream_t S[8];   /* 0x10 + 0x18 * n */
} stm32_dma_t;

#define STM32_RCC ((stm32_rcc_t *)0x40023800u)
#define STM32_FLASH ((stm32_flash_t *)0x40023C00u)
#define STM32_PWR ((stm32_pwr_t *)0x40007000u)
#define STM32_GPIOA ((stm32_gpio_t *)0x40020000u)
#define STM32_GPIOB ((stm32_gpio_t *)0x40020400u)
#define STM32_GPIOC ((stm32_gpio_t *)0x40020800u)
#define STM32_USART1 ((stm32_usart_t *)0x40011000u)
#define STM32_USART2 ((stm32_usart_t *)0x40004400u)
#define STM32_USART3 ((stm32_usart_t *)0x40004800u)
#define STM32_UART4 ((stm32_usart_t *)0x40004C00u)
#define STM32_USART6 ((stm32_usart_t *)0x40011400u)
#define STM32_SPI2 ((stm32_spi_t *)0x40003800u)
#define STM32_DMA1 ((stm32_dma_t *)0x40026000u)

/* Device interrupt numbers (same on F405 and F446). */
#define STM32_IRQ_DMA1_STREAM3 14
#define STM32_IRQ_USART1 37
#define STM32_IRQ_USART2 38
#define STM32_IRQ_USART3 39
#define STM32_IRQ_UART4 52
#define STM32_IRQ_USART6 71

#define RCC_CR_HSION (1u << 0)
#define RCC_CR_HSIRDY (1u << 1)
#define RCC_CR_HSEON (1u << 16)
#define RCC_CR_HSERDY (1u << 17)
#define RCC_CR_HSEBYP (1u << 18)
#define RCC_CR_PLLON (1u << 24)
#define RCC_CR_PLLRDY (1u << 25)
#define RCC_CR_PLLI2SON (1u << 26)
#define RCC_CR_PLLI2SRDY (1u << 27)
#define RCC_PLLCFGR_SRC_HSE (1u << 22)
#define RCC_CFGR_SW_PLL 2u
#define RCC_CFGR_SWS_SHIFT 2
#define RCC_CFGR_HPRE_SHIFT 4
#define RCC_CFGR_PPRE1_SHIFT 10
#define RCC_CFGR_PPRE2_SHIFT 13
#define RCC_APB1ENR_PWREN (1u << 28)
#define FLASH_ACR_PRFTEN (1u << 8)
#define FLASH_ACR_ICEN (1u << 9)
#define FLASH_ACR_DCEN (1u << 10)
#define PWR_CR_VOS_SCALE1 (3u << 14)   /* F405 has bit 14 only; bit 15 is reserved there and reads 0 */
#define PWR_CR_ODEN (1u << 16)
#define PWR_CR_ODSWEN (1u << 17)
#define PWR_CSR_ODRDY (1u << 16)
#define PWR_CSR_ODSWRDY (1u << 17)
#define USART_SR_ORE (1u << 3)
#define USART_SR_RXNE (1u << 5)
#define USART_SR_TXE (1u << 7)
#define USART_CR1_RE (1u << 2)
#define USART_CR1_TE (1u << 3)
#define USART_CR1_RXNEIE (1u << 5)
#define USART_CR1_UE (1u << 13)

/* Clock tree: SYSCLK from the main PLL fed by the HSE crystal (or HSE bypass), falling back to the HSI
 * (16 MHz RC) when the crystal does not start. */
typedef struct {
    uint32_t hse_hz;            /* crystal or bypass clock on OSC_IN */
    int hse_bypass;             /* 1: an external clock (e.g. ST-LINK's MCO on Nucleo boards), not a crystal */
    uint32_t sysclk_hz;         /* target; PLL: VCO input 1 MHz (M = source MHz), N, P = 2 */
    uint32_t pll_q;             /* 48 MHz domain divider */
    uint32_t apb1_div, apb2_div;   /* 1, 2, 4, 8 or 16 */
    uint32_t flash_wait_states;
    int overdrive;              /* F446 above 168 MHz */
} stm32_clock_config_t;

typedef struct {
    uint32_t sysclk_hz, apb1_hz, apb2_hz;
    uint32_t pll_input_mhz;     /* the PLL source (HSE or HSI) in MHz: the input dividers give 1 MHz */
    const char *source;         /* what the clock runs from, for the banner */
} stm32_clocks_t;

/* Set up the clock tree; returns what it achieved. Under QEMU, which does not emulate the RCC, the
 * registers read 0: the target frequency is then taken as given (QEMU's fixed core clock). */
stm32_clocks_t stm32_clock_init(const stm32_clock_config_t *cfg);

/* A USART/UART with its pins: TX and RX on one GPIO port, alternate function `af`. */
typedef struct {
    stm32_usart_t *usart;
    stm32_gpio_t *port;
    uint8_t tx_pin, rx_pin, af;
    uint8_t apb2;               /* 1: on APB2 (USART1/6), 0: APB1 */
    uint8_t irq;
} stm32_uart_t;

void stm32_gpio_af(stm32_gpio_t *port, int pin, int af);
void stm32_uart_init(const stm32_uart_t *u, const stm32_clocks_t *clocks, uint32_t baud);
void stm32_uart_write(const stm32_uart_t *u, const char *data, int n);
int stm32_uart_read(const stm32_uart_t *u, char *data, int n);

#endif /* KWS_STM32F4_H */
