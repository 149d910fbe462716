/* Minimal Cortex-M4F startup for QEMU mps2-an386: vector table, .data/.bss set-up, FPU enable,
 * semihosting console, C/C++ constructors, then main(); main's return value is the exit status
 * QEMU reports (semihosting exit). */
#include <stdint.h>
#include <stdlib.h>

extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _estack;
extern int main(void);
extern void initialise_monitor_handles(void);
extern void __libc_init_array(void);

void Reset_Handler(void);

static void fault_handler(void)
{
    exit(128);   /* a fault ends the emulation with a recognisable status instead of hanging */
}

#define FAULT ((uintptr_t)fault_handler)
__attribute__((section(".vectors"), used)) static const uintptr_t vectors[16] = {
    (uintptr_t)&_estack, (uintptr_t)Reset_Handler, FAULT, FAULT, FAULT, FAULT, FAULT, 0, 0, 0, 0,
    FAULT, FAULT, 0, FAULT, FAULT,
};

/* C++ static objects register their destructors against this handle; crtbegin.o, which normally
 * defines it, is not linked (-nostartfiles). */
void *__dso_handle = 0;

/* newlib's __libc_init_array calls these; this bare-metal image has nothing to run there. */
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
    /* CPACR: full access to CP10/CP11 (the FPU), needed before any hard-float code runs. */
    *(volatile uint32_t *)0xE000ED88 |= 0xFu << 20;
    __asm__ volatile("dsb\n isb" ::: "memory");
    initialise_monitor_handles();
    __libc_init_array();
    exit(main());
}
