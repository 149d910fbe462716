/* QEMU mps2-an386 (Cortex-M4F at 25 MHz): console and files through semihosting (newlib rdimon), the
 * cycle counter on SysTick (QEMU emulates no DWT). Timings are QEMU's virtual time: under -icount
 * shift=0 one instruction is 1 ns, so cycles * cm_instructions_per_kilocycle() / 1000 = instructions. */
#include <stdio.h>

#include "board.h"
#include "cortex_m.h"

/* The QEMU boards of the op profiler (mps2_an500, mps2_an505, mps3_an547) reuse this file with their own
 * clock and name. */
#ifndef KWS_QEMU_CORE_HZ
#define KWS_QEMU_CORE_HZ 25000000u   /* QEMU's MPS2 system clock */
#endif
#ifndef KWS_QEMU_BOARD_NAME
#define KWS_QEMU_BOARD_NAME "mps2-an386 (QEMU, Cortex-M4F)"
#endif
#define CORE_HZ KWS_QEMU_CORE_HZ

extern void initialise_monitor_handles(void);

static char description[96];

int board_init(void)
{
    initialise_monitor_handles();
    cm_cycles_start(CORE_HZ);
    snprintf(description, sizeof(description), KWS_QEMU_BOARD_NAME ", %lu MHz, timer %s, semihosting",
             (unsigned long)(CORE_HZ / 1000000u), cm_cycles_source());
    return 0;
}

void board_console_write(const char *text, int n)
{
    fwrite(text, 1, (size_t)n, stdout);
    fflush(stdout);
}

const char *board_description(void)
{
    return description;
}

