/* Vector table of the nRF52840: the 16 Cortex-M4 system entries and its 48 device interrupts (nRF52840
 * Product Specification, instantiation table). Only the PDM interrupt (29) is used, by the microphone
 * provider; every other interrupt reaches Default_Handler, which reports a fault. */
#include <stdint.h>

extern uint32_t _estack;
void Reset_Handler(void);
void HardFault_Handler(void);
void Default_Handler(void);
void SysTick_Handler(void);
void nrf_pdm_irq(void);

#define F ((uintptr_t)HardFault_Handler)
#define D ((uintptr_t)Default_Handler)

__attribute__((section(".vectors"), used)) static const uintptr_t vectors[16 + 48] = {
    (uintptr_t)&_estack, (uintptr_t)Reset_Handler,
    F, F, F, F, F,            /* NMI, HardFault, MemManage, BusFault, UsageFault */
    0, 0, 0, 0,
    D, D, 0, D,               /* SVCall, DebugMonitor, -, PendSV */
    (uintptr_t)SysTick_Handler,
    D, D, D, D, D, D, D, D,   /* IRQ 0-7 */
    D, D, D, D, D, D, D, D,   /* IRQ 8-15 */
    D, D, D, D, D, D, D, D,   /* IRQ 16-23 */
    D, D, D, D, D, (uintptr_t)nrf_pdm_irq, D, D,   /* IRQ 24-31 */
    D, D, D, D, D, D, D, D,   /* IRQ 32-39 */
    D, D, D, D, D, D, D, D,   /* IRQ 40-47 */
};
