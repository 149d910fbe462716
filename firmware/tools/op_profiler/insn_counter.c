/* Executed-instruction counter on SysTick under QEMU -icount shift=0 (see insn_counter.h). */
#include "insn_counter.h"

#include "cortex_m.h"

#define SPIN_INSNS 4u            /* instructions per iteration of wait_edge's loop */

static uint32_t per_tick_milli;
static uint64_t fixed_overhead;  /* instructions the counter itself adds to every region */

/* Spin until SysTick changes; returns the iterations spun (4 instructions each). */
static uint32_t wait_edge(void)
{
    uint32_t k = 0, first, now;
    __asm__ volatile(
        "ldr %[first], [%[cvr]]\n"
        "1: adds %[k], %[k], #1\n"
        "ldr %[now], [%[cvr]]\n"
        "cmp %[now], %[first]\n"
        "beq 1b\n"
        : [k] "+l"(k), [first] "=&l"(first), [now] "=&l"(now)
        : [cvr] "l"(&CM_SYSTICK->VAL)
        : "cc", "memory");
    return k;
}

uint64_t insn_begin(void)
{
    wait_edge();
    return cm_cycles();
}

static uint64_t raw_end(uint64_t mark)
{
    const uint32_t spun = wait_edge();
    const uint64_t elapsed = (uint32_t)(cm_cycles() - (uint32_t)mark);
    return (elapsed * per_tick_milli + 500u) / 1000u - (uint64_t)spun * SPIN_INSNS;
}

uint64_t insn_end(uint64_t mark)
{
    const uint64_t raw = raw_end(mark);
    return raw > fixed_overhead ? raw - fixed_overhead : 0;
}

uint32_t insn_per_tick_milli(void)
{
    return per_tick_milli;
}

/* A loop of known length: 4 + odd + 2m instructions from the bl that calls it to its bx (the
 * leading cbz and nop make both parities of the region length checkable). */
__attribute__((naked, noinline)) static void known_loop(uint32_t m __attribute__((unused)),
                                                        uint32_t odd __attribute__((unused)))
{
    __asm__ volatile("cbz r1, 0f\nnop\n0: cbz r0, 2f\n1: subs r0, r0, #1\nbne 1b\n2: bx lr\n");
}

uint64_t insn_measure_known_loop(uint32_t n)
{
    const uint64_t mark = insn_begin();
    known_loop(n / 2, n & 1u);
    return insn_end(mark);
}

void insn_counter_start(void)
{
    /* Instructions per tick from 8,000,004 instructions: one tick of quantisation is 5 ppm, below
     * the rounding to 1/1000 instruction. */
    per_tick_milli = 1000;
    const uint32_t t0 = cm_cycles();
    known_loop(4000000u, 0);
    const uint32_t ticks = cm_cycles() - t0;
    per_tick_milli = (uint32_t)((8000004ull * 1000u + ticks / 2) / ticks);

    /* The counter's fixed cost: what an empty region (n = 0) reads, so that insn_end() counts only
     * the instructions between insn_begin() and insn_end(). */
    fixed_overhead = 0;
    fixed_overhead = insn_measure_known_loop(0);
}
