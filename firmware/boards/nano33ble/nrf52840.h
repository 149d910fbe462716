/* nRF52840 peripheral registers used by the Nano 33 BLE board, as named structs at the addresses of
 * the nRF52840 Product Specification (same layout as Nordic's MDK nrf52840.h). No vendor SDK. */
#ifndef KWS_NRF52840_H
#define KWS_NRF52840_H

#include <stdint.h>

#include "cortex_m.h"

typedef struct {
    CM_REG TASKS_HFCLKSTART;     /* 0x000 start the 64 MHz crystal oscillator (HFXO) */
    uint32_t reserved0[63];
    CM_REG EVENTS_HFCLKSTARTED;  /* 0x100 */
} nrf_clock_t;

typedef struct {
    uint32_t reserved0[321];
    CM_REG OUT;                  /* 0x504 */
    CM_REG OUTSET;               /* 0x508 */
    CM_REG OUTCLR;               /* 0x50C */
    CM_REG IN;                   /* 0x510 */
    CM_REG DIR;                  /* 0x514 */
    CM_REG DIRSET;               /* 0x518 */
    CM_REG DIRCLR;               /* 0x51C */
    uint32_t reserved1[120];
    CM_REG PIN_CNF[32];          /* 0x700 DIR bit 0 (1 = output), INPUT bit 1 (1 = disconnect) */
} nrf_gpio_t;

typedef struct {
    CM_REG TASKS_STARTRX;        /* 0x000 */
    CM_REG TASKS_STOPRX;         /* 0x004 */
    CM_REG TASKS_STARTTX;        /* 0x008 */
    CM_REG TASKS_STOPTX;         /* 0x00C */
    uint32_t reserved0[64];
    CM_REG EVENTS_ENDRX;         /* 0x110 */
    uint32_t reserved1[3];
    CM_REG EVENTS_ENDTX;         /* 0x120 */
    uint32_t reserved2[247];
    CM_REG ENABLE;               /* 0x500 8 = UARTE */
    uint32_t reserved3;
    CM_REG PSEL_RTS;             /* 0x508 pin | port << 5, bit 31 = disconnected */
    CM_REG PSEL_TXD;             /* 0x50C */
    CM_REG PSEL_CTS;             /* 0x510 */
    CM_REG PSEL_RXD;             /* 0x514 */
    uint32_t reserved4[3];
    CM_REG BAUDRATE;             /* 0x524 */
    uint32_t reserved5[3];
    CM_REG RXD_PTR;              /* 0x534 EasyDMA: RAM only */
    CM_REG RXD_MAXCNT;           /* 0x538 */
    CM_REG RXD_AMOUNT;           /* 0x53C */
    uint32_t reserved6;
    CM_REG TXD_PTR;              /* 0x544 EasyDMA: RAM only */
    CM_REG TXD_MAXCNT;           /* 0x548 */
    CM_REG TXD_AMOUNT;           /* 0x54C */
    uint32_t reserved7[7];
    CM_REG CONFIG;               /* 0x56C */
} nrf_uarte_t;

typedef struct {
    CM_REG TASKS_START;          /* 0x000 */
    CM_REG TASKS_STOP;           /* 0x004 */
    uint32_t reserved0[62];
    CM_REG EVENTS_STARTED;       /* 0x100 SAMPLE.PTR was read: the next buffer may be given */
    CM_REG EVENTS_STOPPED;       /* 0x104 */
    CM_REG EVENTS_END;           /* 0x108 a buffer is full */
    uint32_t reserved1[125];
    CM_REG INTEN;                /* 0x300 STARTED bit 0, STOPPED 1, END 2 */
    CM_REG INTENSET;             /* 0x304 */
    CM_REG INTENCLR;             /* 0x308 */
    uint32_t reserved2[125];
    CM_REG ENABLE;               /* 0x500 */
    CM_REG PDMCLKCTRL;           /* 0x504 */
    CM_REG MODE;                 /* 0x508 OPERATION bit 0 (1 = mono), EDGE bit 1 (0 = left on falling edge) */
    uint32_t reserved3[3];
    CM_REG GAINL;                /* 0x518 0x28 = 0 dB */
    CM_REG GAINR;                /* 0x51C */
    CM_REG RATIO;                /* 0x520 0 = 64, 1 = 80 */
    uint32_t reserved4[7];
    CM_REG PSEL_CLK;             /* 0x540 */
    CM_REG PSEL_DIN;             /* 0x544 */
    uint32_t reserved5[6];
    CM_REG SAMPLE_PTR;           /* 0x560 */
    CM_REG SAMPLE_MAXCNT;        /* 0x564 in 16-bit samples */
} nrf_pdm_t;

#define NRF_CLOCK ((nrf_clock_t *)0x40000000u)
#define NRF_UARTE0 ((nrf_uarte_t *)0x40002000u)
#define NRF_UARTE1 ((nrf_uarte_t *)0x40028000u)
#define NRF_PDM ((nrf_pdm_t *)0x4001D000u)
#define NRF_P0 ((nrf_gpio_t *)0x50000000u)
#define NRF_P1 ((nrf_gpio_t *)0x50000300u)

#define NRF_IRQ_UARTE0 2
#define NRF_IRQ_PDM 29
#define NRF_IRQ_UARTE1 40
#define NRF_NUM_IRQS 48

#define NRF_PIN(port, pin) ((uint32_t)(pin) | (uint32_t)(port) << 5)
#define NRF_UARTE_ENABLE 8u
#define NRF_BAUD_115200 0x01D60000u
#define NRF_BAUD_921600 0x0F000000u
#define NRF_PDMCLK_1280K 0x0A000000u   /* 32 MHz / 25; with RATIO 80: 16 kHz */

#endif /* KWS_NRF52840_H */
