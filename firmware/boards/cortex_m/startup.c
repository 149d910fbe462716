/* Reset and fault handling shared by the Cortex-M boards: vector table base (VTOR), the two stacks, .data/
 * .bss set-up, FPU enable, stack painting (for the high-water mark), C/C++ constructors, main(argc, argv)
 * (the arguments come from semihosting on boards built with KWS_SEMIHOSTING, argv[0] only otherwise). The
 * vector table is the board's (vectors.c in its folder): it names Reset_Handler, the fault handlers and
 * SysTick_Handler here.
 *
 * Two stacks (sections.ld): the application runs on the process stack (PSP) at the bottom of RAM, so that
 * an overflow leaves RAM and faults instead of silently overwriting the tensor arena; interrupts and faults
 * run on the main stack (MSP), a small stack of their own at the top of RAM, so that the fault handler
 * still runs when the application's stack is gone and can say where the program was.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "board.h"
#include "cortex_m.h"

extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, __stack_limit, __vector_table;
extern int main(int argc, char **argv);
extern void __libc_init_array(void);

#define STACK_PAINT 0xC0DEC0DEu

/* C++ static objects register their destructors against this handle; crtbegin.o, which normally
 * defines it, is not linked (-nostartfiles). */
void *__dso_handle = 0;

/* newlib's __libc_init_array calls these; a bare-metal image has nothing to run there. */
void _init(void) {}
void _fini(void) {}

static void start(void);

/* Entered on the main stack (vector 0). VTOR first: after a bootloader's jump (the STM32 DFU `:leave`, a
 * second-stage loader) it may still point at the loader's table. Then the application moves to the
 * process stack; only C code that needs no stack frame of the old stack runs here. */
__attribute__((naked)) void Reset_Handler(void)
{
    __asm__ volatile(
        "ldr r0, =0xE000ED08\n"      /* SCB->VTOR */
        "ldr r1, =__vector_table\n"
        "str r1, [r0]\n"
        "dsb\n"
        "ldr r0, =_estack\n"
        "msr psp, r0\n"
        "mrs r0, control\n"
        "orr r0, r0, #2\n"           /* SPSEL: thread mode uses PSP */
        "msr control, r0\n"
        "isb\n"
        "b %0\n" ::"i"(start)
        : "r0", "r1", "memory");
}

static void start(void)
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
 * instead of hanging silently: where it happened (the stacked pc and lr, when the stack they were pushed
 * on is readable), the fault status registers, and a stack overflow as such. It runs on the main stack.
 * `frame` is the stack the exception pushed its frame on, `exc_return` the handler's lr. */
void cm_fault_report(const uint32_t *frame, uint32_t exc_return)
{
    char line[200];
    const uint32_t cfsr = CM_SCB->CFSR;
    const uintptr_t sp = (uintptr_t)frame, bottom = (uintptr_t)&__stack_limit, top = (uintptr_t)&_estack;
    const int on_psp = (exc_return & 4u) != 0;
    /* CFSR STKERR (bit 12, bus fault on stacking) / MSTKERR (bit 4), or a PSP already below the stack. */
    const int overflow = on_psp && (sp < bottom + 32u || (cfsr & ((1u << 12) | (1u << 4))));
    int n;
    if (overflow) {
        n = snprintf(line, sizeof(line), "\nfault: stack overflow: the application's stack (psp=0x%08lx) ran below its "
                     "bottom 0x%08lx (%lu B); CFSR=0x%08lx HFSR=0x%08lx\n", (unsigned long)sp, (unsigned long)bottom,
                     (unsigned long)(top - bottom), (unsigned long)cfsr, (unsigned long)CM_SCB->HFSR);
    } else {
        const int readable = on_psp ? sp >= bottom && sp + 32u <= top : 1;
        n = snprintf(line, sizeof(line), "\nfault: pc=0x%08lx lr=0x%08lx sp=0x%08lx (%s) CFSR=0x%08lx HFSR=0x%08lx "
                     "BFAR=0x%08lx MMFAR=0x%08lx\n", readable ? (unsigned long)frame[6] : 0ul,
                     readable ? (unsigned long)frame[5] : 0ul, (unsigned long)sp, on_psp ? "psp" : "msp",
                     (unsigned long)cfsr, (unsigned long)CM_SCB->HFSR, (unsigned long)CM_SCB->BFAR,
                     (unsigned long)CM_SCB->MMFAR);
    }
    board_console_write(line, n);
    _exit(128);
}

__attribute__((naked)) void HardFault_Handler(void)
{
    __asm__ volatile(
        "tst lr, #4\n"
        "ite eq\n"
        "mrseq r0, msp\n"
        "mrsne r0, psp\n"
        "mov r1, lr\n"
        "b cm_fault_report\n");
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
