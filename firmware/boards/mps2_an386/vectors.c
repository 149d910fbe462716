/* Vector table of QEMU mps2-an386: the 16 Cortex-M4 system entries (no device interrupt is used). */
#include <stdint.h>

#include "cortex_m.h"

__attribute__((section(".vectors"), used)) static const uintptr_t vectors[16] = {CM_SYSTEM_VECTORS};
