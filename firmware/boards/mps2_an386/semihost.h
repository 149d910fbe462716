/* Semihosting helpers for QEMU mps2-an386: the guest's command line, and an instruction counter built
 * on SysTick (QEMU emulates no DWT cycle counter; with -icount shift=0 SysTick advances a fixed number
 * of instructions per tick, which kws_insn_calibrate measures). Instructions are not cycles. */
#ifndef KWS_SEMIHOST_H
#define KWS_SEMIHOST_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Split the semihosting command line (QEMU -semihosting-config arg=...) into argv; returns argc. */
int kws_semihost_args(char **argv, int max_args);

/* Start SysTick as a free-running 24-bit down counter on the processor clock. */
void kws_systick_start(void);

/* Current SysTick value; elapsed ticks between two reads = (before - after) & 0xFFFFFF. */
uint32_t kws_systick_now(void);

/* Instructions per SysTick tick, times 1000, measured on a loop of known length. */
uint32_t kws_insn_per_tick_milli(void);

#ifdef __cplusplus
}
#endif

#endif /* KWS_SEMIHOST_H */
