/* Reset and fault handling shared by the Cortex-M boards: .data/.bss set-up, FPU enable, stack
 * painting (for the high-water mark), C/C++ constructors, main(argc, argv) (the arguments come from
 * semihosting on boards built with KWS_SEMIHOSTING, argv[0] only otherwise). The vector table is the board's
 * (vectors.c in its folder): it names Reset_Handler, the fault handlers and SysTick_Handler here.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "board.h"
#include "cortex_m.h"

extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, __stack_limit;
extern int main(int argc, char **argv);
extern void __libc_init_array(void);

#define STACK_PAINT 0xC0DEC0DEu

/* C++ static objects register their destructors against this handle; crtbegin.o, which normally
 * defines it, is not linked (-nostartfiles). */
void *__dso_handle = 0;

/* newlib's __libc_init_array calls these; a bare-metal image has nothing to run there. */
void _init(void) {}
void _fini(void) {}

void Reset_Handler(void)
{
    for (uint32_t *src = &_sidata, *dst = &_sdata; dst < &_edata;) {
        *dst++ = *src++;
    }
    for (uint32_t *dst = &_sbss; dst < &_ebss;) {
        *dst++ = 0;
    }
#if defined(__ARM_FP)
    /* CPACR: full access to CP10/CP11 (the FPU), needed before any hard-float code runs. */
    CM_SCB->CPACR |= 0xFu << 20;
    __asm__ volatile("dsb\n isb" ::: "memory");
#endif
    /* Paint the stack below this frame so that cm_stack_used() can find the deepest point reached. */
    uint32_t *sp;
    __asm__ volatile("mov %0, sp" : "=r"(sp));
    for (uint32_t *p = &__stack_limit; p < sp - 16; p++) {
        *p = STACK_PAINT;
    }
    __libc_init_array();
    char *argv[8] = {"kws", NULL};
    int argc = 1;
#ifdef KWS_SEMIHOSTING
    argc = cm_semihosting_args(argv, 8);
#endif
    exit(main(argc, argv));
}

uint32_t cm_stack_used(void)
{
    const uint32_t *p = &__stack_limit;
    while (p < &_estack && *p == STACK_PAINT) {
        p++;
    }
    return (uint32_t)((uintptr_t)&_estack - (uintptr_t)p);
}

uint32_t cm_stack_size(void)
{
    return (uint32_t)((uintptr_t)&_estack - (uintptr_t)&__stack_limit);
}

/* A fault says so on the console and stops (semihosting boards end the emulation with status 128),
 * instead of hanging silently. */
void HardFault_Handler(void)
{
    char line[96];
    const int n = snprintf(line, sizeof(line), "\nfault: CFSR=0x%08lx HFSR=0x%08lx BFAR=0x%08lx\n",
                           (unsigned long)CM_SCB->CFSR, (unsigned long)CM_SCB->HFSR, (unsigned long)CM_SCB->BFAR);
    board_console_write(line, n);
    _exit(128);
}

/* An interrupt nobody enabled a handler for: name it (ICSR VECTACTIVE is the exception number). */
void Default_Handler(void)
{
    char line[64];
    const int n = snprintf(line, sizeof(line), "\nfault: unexpected exception %lu\n",
                           (unsigned long)(CM_SCB->ICSR & 0x1FFu));
    board_console_write(line, n);
    _exit(128);
}
