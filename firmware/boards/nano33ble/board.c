/* Arduino Nano 33 BLE Sense (nRF52840, Cortex-M4F at 64 MHz): the crystal oscillator started for exact
 * UART and PDM clocks, console on UARTE0 at the TX/RX header pins (P1.03 TX, P1.10 RX; a 3.3 V
 * USB-serial adapter, 115200 baud - the board's USB port needs a USB stack this firmware does not
 * have), host link on UARTE1 (P1.12 TX = D3, P1.11 RX = D2), DWT cycle counter. Build-only here. */
#include <stdio.h>

#include "board.h"
#include "cortex_m.h"
#include "nrf52840.h"

#define CORE_HZ 64000000u
#define CHUNK 64

static char description[96];

/* EasyDMA reads only RAM: text in flash goes through this buffer. */
static void uarte_write(nrf_uarte_t *u, const char *data, int n)
{
    static char buf[CHUNK];
    while (n > 0) {
        const int k = n < CHUNK ? n : CHUNK;
        for (int i = 0; i < k; i++) {
            buf[i] = data[i];
        }
        u->EVENTS_ENDTX = 0;
        u->TXD_PTR = (uint32_t)(uintptr_t)buf;
        u->TXD_MAXCNT = (uint32_t)k;
        u->TASKS_STARTTX = 1;
        while (!u->EVENTS_ENDTX) {
        }
        data += k;
        n -= k;
    }
}

static void uarte_init(nrf_uarte_t *u, nrf_gpio_t *port, int port_no, int tx, int rx, uint32_t baud)
{
    port->OUTSET = 1u << tx;                  /* idle high before the pin is driven */
    port->PIN_CNF[tx] = 1u;                   /* output */
    port->PIN_CNF[rx] = 0u;                   /* input, buffer connected */
    u->PSEL_TXD = NRF_PIN(port_no, tx);
    u->PSEL_RXD = NRF_PIN(port_no, rx);
    u->BAUDRATE = baud;
    u->CONFIG = 0;                            /* 8N1, no flow control */
    u->ENABLE = NRF_UARTE_ENABLE;
}

/* Watchdog (nRF52840 PS 6.36 WDT): about 2 s on the 32.768 kHz LFCLK (which starting it turns on), kept
 * running while the core sleeps in WFI, paused while a debugger halts it; reloaded through RR[0] once per
 * hop of audio. Once started it cannot be stopped. -DKWS_WATCHDOG=OFF leaves it off. */
typedef struct {
    volatile uint32_t TASKS_START;
    uint32_t reserved0[320];
    volatile uint32_t CRV;       /* 0x504 */
    volatile uint32_t RREN;      /* 0x508 */
    volatile uint32_t CONFIG;    /* 0x50C */
    uint32_t reserved1[60];
    volatile uint32_t RR[8];     /* 0x600 */
} nrf_wdt_t;
#define NRF_WDT ((nrf_wdt_t *)0x40010000u)
#define NRF_WDT_RELOAD 0x6E524635u

void board_watchdog_kick(void)
{
#ifdef KWS_WATCHDOG
    NRF_WDT->RR[0] = NRF_WDT_RELOAD;
#endif
}

int board_init(void)
{
#ifdef KWS_WATCHDOG
    NRF_WDT->CRV = 2u * 32768u;
    NRF_WDT->RREN = 1u;      /* RR[0] only */
    NRF_WDT->CONFIG = 1u;    /* SLEEP: run; HALT: pause */
    NRF_WDT->TASKS_START = 1u;
#endif
    NRF_CLOCK->EVENTS_HFCLKSTARTED = 0;
    NRF_CLOCK->TASKS_HFCLKSTART = 1;
    while (!NRF_CLOCK->EVENTS_HFCLKSTARTED) {
    }
    uarte_init(NRF_UARTE0, NRF_P1, 1, 3, 10, NRF_BAUD_115200);
    cm_cycles_start(CORE_HZ);
    setvbuf(stdout, NULL, _IONBF, 0);
    snprintf(description, sizeof(description), "Nano 33 BLE Sense (nRF52840), 64 MHz (HFXO), timer %s%s",
             cm_cycles_source(),
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
    uarte_write(NRF_UARTE0, text, n);
}

const char *board_description(void)
{
    return description;
}

void board_link_write(const char *data, int n)
{
    static int ready;
    if (!ready) {
        uarte_init(NRF_UARTE1, NRF_P1, 1, 12, 11, NRF_BAUD_921600);
        ready = 1;
    }
    uarte_write(NRF_UARTE1, data, n);
}

/* The receiver runs only while a read waits: the host must answer after the request has gone out. */
int board_link_read(char *data, int n)
{
    static char buf[CHUNK];
    for (int done = 0; done < n;) {
        const int k = n - done < CHUNK ? n - done : CHUNK;
        NRF_UARTE1->EVENTS_ENDRX = 0;
        NRF_UARTE1->RXD_PTR = (uint32_t)(uintptr_t)buf;
        NRF_UARTE1->RXD_MAXCNT = (uint32_t)k;
        NRF_UARTE1->TASKS_STARTRX = 1;
        while (!NRF_UARTE1->EVENTS_ENDRX) {
        }
        for (int i = 0; i < k; i++) {
            data[done + i] = buf[i];
        }
        done += k;
    }
    return n;
}
