/* Vector table of the nRF52840: the 16 Cortex-M4 system entries and its 48 device interrupts (nRF52840
 * Product Specification, instantiation table). Only the PDM interrupt (29) is used, by the microphone
 * provider; every other interrupt reaches Default_Handler, which reports a fault. */
#include <stdint.h>

#include "cortex_m.h"

void nrf_pdm_irq(void);

#define D ((uintptr_t)Default_Handler)

__attribute__((section(".vectors"), used)) static const uintptr_t vectors[16 + 48] = {
    CM_SYSTEM_VECTORS,
    D, D, D, D, D, D, D, D,   /* IRQ 0-7 */
    D, D, D, D, D, D, D, D,   /* IRQ 8-15 */
    D, D, D, D, D, D, D, D,   /* IRQ 16-23 */
    D, D, D, D, D, (uintptr_t)nrf_pdm_irq, D, D,   /* IRQ 24-31 */
    D, D, D, D, D, D, D, D,   /* IRQ 32-39 */
    D, D, D, D, D, D, D, D,   /* IRQ 40-47 */
};
