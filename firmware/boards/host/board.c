/* The host as a board: console on stdout, the cycle counter is CLOCK_MONOTONIC in nanoseconds, audio
 * from a WAV file (app/audio_provider_wav.c). Lets the whole application run and be tested with gcc. */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <time.h>

#include "board.h"

int board_init(void)
{
    return 0;
}

void board_console_write(const char *text, int n)
{
    fwrite(text, 1, (size_t)n, stdout);
}

uint32_t board_cycles(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint32_t)((uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec);
}

uint32_t board_cycles_per_second(void)
{
    return 1000000000u;
}

const char *board_description(void)
{
    return "host (gcc), timer CLOCK_MONOTONIC in ns";
}

uint32_t board_stack_used(void)
{
    return 0;
}

uint32_t board_stack_size(void)
{
    return 0;
}

void board_watchdog_kick(void)
{
}
