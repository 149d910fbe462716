/* Semihosting command line and SysTick-based instruction counting (see semihost.h). */
#include "semihost.h"

#include <string.h>

#define SYST_CSR (*(volatile uint32_t *)0xE000E010)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018)

static char cmdline[512];

int kws_semihost_args(char **argv, int max_args)
{
    struct {
        char *buf;
        int len;
    } block = {cmdline, (int)sizeof(cmdline) - 1};
    register int r0 __asm__("r0") = 0x15;   /* SYS_GET_CMDLINE */
    register void *r1 __asm__("r1") = &block;
    __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    if (r0 != 0) {
        return 0;
    }
    cmdline[block.len] = 0;
    int argc = 0;
    for (char *p = strtok(cmdline, " "); p && argc < max_args; p = strtok(NULL, " ")) {
        argv[argc++] = p;
    }
    return argc;
}

void kws_systick_start(void)
{
    SYST_CSR = 0;
    SYST_RVR = 0xFFFFFF;
    SYST_CVR = 0;
    SYST_CSR = 0x5;   /* enable, processor clock, no interrupt */
}

uint32_t kws_systick_now(void)
{
    return SYST_CVR;
}

uint32_t kws_insn_per_tick_milli(void)
{
    /* 2 instructions per iteration (subs + bne), 400000 iterations. */
    uint32_t n = 400000;
    const uint32_t t0 = kws_systick_now();
    __asm__ volatile("1: subs %0, %0, #1\n bne 1b" : "+r"(n) : : "cc");
    const uint32_t ticks = (t0 - kws_systick_now()) & 0xFFFFFF;
    return ticks ? (uint32_t)(800000ull * 1000u / ticks) : 0;
}
