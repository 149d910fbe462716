/* malloc's memory: the .heap section of sections.ld, and nothing beyond it. Replaces newlib's _sbrk on
 * every Cortex-M board, also librdimon's (semihosting), which is weak and grows the heap up to the stack
 * pointer: with the application's stack at the bottom of RAM, below the heap, it would refuse every
 * allocation. */
#include <errno.h>

extern char __heap_start, __heap_end;

void *_sbrk(int incr);

void *_sbrk(int incr)
{
    static char *brk = &__heap_start;
    if (incr < 0 || brk + incr > &__heap_end) {
        errno = ENOMEM;
        return (void *)-1;
    }
    char *old = brk;
    brk += incr;
    return old;
}
