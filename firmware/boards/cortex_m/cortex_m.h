/* Cortex-M core registers and helpers shared by every Cortex-M board (ARMv7-M / ARMv8-M mainline).
 *
 * Register blocks as named structs at the addresses of the ARMv7-M Architecture Reference Manual
 * (same layout as CMSIS core_cm4.h); only the registers the boards use. Vendor headers are not needed.
 */
#ifndef KWS_CORTEX_M_H
#define KWS_CORTEX_M_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CM_REG volatile uint32_t

typedef struct {
    CM_REG CTRL;     /* 0x00 ENABLE (bit 0), TICKINT (1), CLKSOURCE (2: processor clock), COUNTFLAG (16) */
    CM_REG LOAD;     /* 0x04 reload value, 24 bits */
    CM_REG VAL;      /* 0x08 current value, counts down */
    CM_REG CALIB;    /* 0x0C */
} cm_systick_t;

typedef struct {
    CM_REG ISER[8];        /* 0x000 interrupt set-enable */
    uint32_t reserved0[24];
    CM_REG ICER[8];        /* 0x080 interrupt clear-enable */
    uint32_t reserved1[24];
    CM_REG ISPR[8];        /* 0x100 */
    uint32_t reserved2[24];
    CM_REG ICPR[8];        /* 0x180 interrupt clear-pending */
    uint32_t reserved3[24];
    CM_REG IABR[8];        /* 0x200 */
    uint32_t reserved4[56];
    volatile uint8_t IP[240];   /* 0x300 priority, one byte per interrupt */
} cm_nvic_t;

typedef struct {
    CM_REG CPUID;    /* 0x00 */
    CM_REG ICSR;     /* 0x04 */
    CM_REG VTOR;     /* 0x08 */
    CM_REG AIRCR;    /* 0x0C */
    CM_REG SCR;      /* 0x10 */
    CM_REG CCR;      /* 0x14 */
    volatile uint8_t SHP[12];   /* 0x18 system handler priorities */
    CM_REG SHCSR;    /* 0x24 */
    CM_REG CFSR;     /* 0x28 configurable fault status */
    CM_REG HFSR;     /* 0x2C */
    CM_REG DFSR;     /* 0x30 */
    CM_REG MMFAR;    /* 0x34 */
    CM_REG BFAR;     /* 0x38 */
    CM_REG AFSR;     /* 0x3C */
    uint32_t reserved[18];
    CM_REG CPACR;    /* 0x88 coprocessor access: CP10/CP11 = the FPU */
} cm_scb_t;

typedef struct {
    CM_REG DHCSR;    /* 0x00 */
    CM_REG DCRSR;    /* 0x04 */
    CM_REG DCRDR;    /* 0x08 */
    CM_REG DEMCR;    /* 0x0C TRCENA (bit 24) powers the DWT */
} cm_dcb_t;

typedef struct {
    CM_REG CTRL;     /* 0x00 CYCCNTENA (bit 0), NOCYCCNT (bit 25: no cycle counter implemented) */
    CM_REG CYCCNT;   /* 0x04 */
} cm_dwt_t;

#define CM_SYSTICK ((cm_systick_t *)0xE000E010u)
#define CM_NVIC ((cm_nvic_t *)0xE000E100u)
#define CM_SCB ((cm_scb_t *)0xE000ED00u)
#define CM_DCB ((cm_dcb_t *)0xE000EDF0u)
#define CM_DWT ((cm_dwt_t *)0xE0001000u)

#define CM_SYSTICK_ENABLE (1u << 0)
#define CM_SYSTICK_TICKINT (1u << 1)
#define CM_SYSTICK_CLKSOURCE (1u << 2)
#define CM_DEMCR_TRCENA (1u << 24)
#define CM_DWT_CYCCNTENA (1u << 0)

/* Exception handlers of boards/cortex_m (startup.c, cycles.c) and the 16 system entries every
 * board's vector table starts with (ARMv7-M Architecture Reference Manual B1.5.2). */
extern uint32_t _estack, _handler_estack;
void Reset_Handler(void);
void HardFault_Handler(void);
void Default_Handler(void);
void SysTick_Handler(void);
void cm_fault_report(const uint32_t *frame, uint32_t exc_return);   /* HardFault_Handler's report */

#define CM_SYSTEM_VECTORS                                                                                  \
    (uintptr_t)&_handler_estack, (uintptr_t)Reset_Handler,                                                 \
    (uintptr_t)HardFault_Handler, (uintptr_t)HardFault_Handler, /* NMI, HardFault */                       \
    (uintptr_t)HardFault_Handler, (uintptr_t)HardFault_Handler, /* MemManage, BusFault */                  \
    (uintptr_t)HardFault_Handler, 0, 0, 0, 0,                   /* UsageFault, reserved */                 \
    (uintptr_t)Default_Handler, (uintptr_t)Default_Handler, 0,  /* SVCall, DebugMonitor, reserved */       \
    (uintptr_t)Default_Handler, (uintptr_t)SysTick_Handler      /* PendSV, SysTick */

/* Start the cycle counter on a core clocked at core_hz: the DWT cycle counter when the core has one
 * and it counts (QEMU emulates none), SysTick on the processor clock otherwise (24 bits, extended to
 * 32 by counting wraps in SysTick_Handler). */
void cm_cycles_start(uint32_t core_hz);
uint32_t cm_cycles(void);
uint32_t cm_cycles_per_second(void);
const char *cm_cycles_source(void);   /* "DWT CYCCNT" or "SysTick" */

/* Instructions per 1000 cycles of cm_cycles(), measured on a loop of known length. Under QEMU's
 * -icount every instruction takes the same virtual time, so this converts cycles to instructions;
 * on silicon it is the loop's IPC and means little. */
uint32_t cm_instructions_per_kilocycle(void);

/* Stack: the startup code fills it with a pattern; the deepest overwritten word is the high-water mark. */
uint32_t cm_stack_used(void);
uint32_t cm_stack_size(void);

/* Split the semihosting command line into argv; returns argc (semihosting boards only). */
int cm_semihosting_args(char **argv, int max_args);

/* Enable device interrupt `irq` (0-based, as in the chip's vector table after the 16 core entries).
 * `priority` is the NVIC_IPR byte: only its top bits are implemented (4 on STM32F4 and nRF52), 0 = highest. */
void cm_irq_enable(int irq, uint8_t priority);
void cm_irq_disable(int irq);

#ifdef __cplusplus
}
#endif

#endif /* KWS_CORTEX_M_H */
