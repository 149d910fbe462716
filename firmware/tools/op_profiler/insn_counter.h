/* Executed-instruction counter for QEMU's Cortex-M boards run with `-icount shift=0`.
 *
 * QEMU emulates no cycle counter (no DWT CYCCNT, no PMU), but under -icount shift=0 its virtual clock
 * advances exactly 1 ns per executed guest instruction, and SysTick, clocked from the board's CPU
 * clock, advances one tick every P instructions (P = 40 on mps2-an386/an500 at 25 MHz, 50 on
 * mps2-an505 at 20 MHz, 31.25 on mps3-an547 at 32 MHz). A plain SysTick reading is therefore only
 * good to one tick; this counter removes that quantisation with a vernier: insn_begin() spins until
 * a tick edge and insn_end() spins to the next edge, counting the spin-loop iterations, so both ends
 * of the region are known to within one spin iteration (4 instructions). The tick count is the
 * board's SysTick cycle counter (boards/cortex_m/cycles.c, which counts the 24-bit wraps in its
 * exception), so regions of up to 2^32 ticks can be measured. Instructions are not cycles: the cost of each instruction on a
 * real core is what the latency model's cycles-per-instruction factor stands for.
 */
#ifndef INSN_COUNTER_H
#define INSN_COUNTER_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Measure instructions per tick on a loop of known length and the counter's own fixed overhead.
 * Call once, after board_init() has started the cycle counter and before any insn_begin(). */
void insn_counter_start(void);

/* Spin to the next SysTick edge and return the mark that starts a region. */
uint64_t insn_begin(void);

/* Instructions executed since `mark` (the counter's own instructions removed). */
uint64_t insn_end(uint64_t mark);

/* Instructions per SysTick tick x 1000 (40000 on mps2-an386), as measured by insn_counter_start(). */
uint32_t insn_per_tick_milli(void);

/* Run a loop of exactly `n` instructions between insn_begin() and insn_end() and return the count
 * measured: the check of the counter against a region of known length. */
uint64_t insn_measure_known_loop(uint32_t n);

#ifdef __cplusplus
}
#endif

#endif /* INSN_COUNTER_H */
