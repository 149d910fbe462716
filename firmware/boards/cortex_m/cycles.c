/* The cycle counter of a Cortex-M board: DWT CYCCNT where it counts, SysTick otherwise (see cortex_m.h). */
#include "cortex_m.h"

static uint32_t hz;
static int use_dwt;
static volatile uint32_t systick_wraps;

void SysTick_Handler(void)
{
    systick_wraps++;
}

/* The DWT is optional (not on Cortex-M0/M0+, not emulated by QEMU): enable it and keep it only if
 * CYCCNT actually advances over a short loop. */
static int dwt_counts(void)
{
    CM_DCB->DEMCR |= CM_DEMCR_TRCENA;
    CM_DWT->CYCCNT = 0;
    CM_DWT->CTRL |= CM_DWT_CYCCNTENA;
    const uint32_t before = CM_DWT->CYCCNT;
    for (volatile int i = 0; i < 16; i++) {
    }
    return CM_DWT->CYCCNT != before;
}

void cm_cycles_start(uint32_t core_hz)
{
    hz = core_hz;
    use_dwt = dwt_counts();
    if (!use_dwt) {
        CM_SYSTICK->CTRL = 0;
        CM_SYSTICK->LOAD = 0xFFFFFFu;
        CM_SYSTICK->VAL = 0;
        systick_wraps = 0;
        CM_SYSTICK->CTRL = CM_SYSTICK_CLKSOURCE | CM_SYSTICK_TICKINT | CM_SYSTICK_ENABLE;
    }
}

uint32_t cm_cycles(void)
{
    if (use_dwt) {
        return CM_DWT->CYCCNT;
    }
    /* Read the wrap count around the counter so that a wrap between the two reads is not missed. */
    uint32_t wraps, val;
    do {
        wraps = systick_wraps;
        val = CM_SYSTICK->VAL;
    } while (wraps != systick_wraps);
    return (wraps << 24) + (0xFFFFFFu - val);
}

uint32_t cm_cycles_per_second(void)
{
    return hz;
}

const char *cm_cycles_source(void)
{
    return use_dwt ? "DWT CYCCNT" : "SysTick";
}

uint32_t cm_instructions_per_kilocycle(void)
{
    uint32_t n = 100000;   /* subs + bne: 2 instructions per iteration */
    const uint32_t t0 = cm_cycles();
    __asm__ volatile("1: subs %0, %0, #1\n bne 1b" : "+r"(n) : : "cc");
    const uint32_t cycles = cm_cycles() - t0;
    return cycles ? (uint32_t)(200000ull * 1000u / cycles) : 0;
}

void cm_irq_enable(int irq, uint8_t priority)
{
    CM_NVIC->IP[irq] = priority;
    CM_NVIC->ISER[irq >> 5] = 1u << (irq & 31);
}

void cm_irq_disable(int irq)
{
    CM_NVIC->ICER[irq >> 5] = 1u << (irq & 31);
    __asm__ volatile("dsb\n isb" ::: "memory");
}
