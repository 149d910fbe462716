/* The parts of board.h that are the same on every Cortex-M board: the cycle counter and the stack
 * high-water mark come from the core (cycles.c, startup.c), not from the chip. */
#include "board.h"
#include "cortex_m.h"

uint32_t board_cycles(void)
{
    return cm_cycles();
}

uint32_t board_cycles_per_second(void)
{
    return cm_cycles_per_second();
}

uint32_t board_stack_used(void)
{
    return cm_stack_used();
}

uint32_t board_stack_size(void)
{
    return cm_stack_size();
}

/* Boards without a watchdog (or that do not start theirs) have nothing to refresh. */
__attribute__((weak)) void board_watchdog_kick(void)
{
}
