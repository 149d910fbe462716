/* Vector table of QEMU mps2-an386: the 16 Cortex-M4 system entries (no device interrupt is used). */
#include <stdint.h>

extern uint32_t _estack;
void Reset_Handler(void);
void HardFault_Handler(void);
void SysTick_Handler(void);

__attribute__((section(".vectors"), used)) static const uintptr_t vectors[16] = {
    (uintptr_t)&_estack,
    (uintptr_t)Reset_Handler,
    (uintptr_t)HardFault_Handler,   /* NMI */
    (uintptr_t)HardFault_Handler,   /* HardFault */
    (uintptr_t)HardFault_Handler,   /* MemManage */
    (uintptr_t)HardFault_Handler,   /* BusFault */
    (uintptr_t)HardFault_Handler,   /* UsageFault */
    0, 0, 0, 0,
    (uintptr_t)HardFault_Handler,   /* SVCall */
    (uintptr_t)HardFault_Handler,   /* DebugMonitor */
    0,
    (uintptr_t)HardFault_Handler,   /* PendSV */
    (uintptr_t)SysTick_Handler,
};
