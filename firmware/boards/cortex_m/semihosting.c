/* The program's command line from the debugger or emulator (semihosting SYS_GET_CMDLINE; QEMU:
 * -semihosting-config enable=on,arg=...). Only boards built with KWS_SEMIHOSTING use it: on a board
 * without a debugger attached the BKPT would fault. */
#include <string.h>

#include "cortex_m.h"

static char cmdline[512];

int cm_semihosting_args(char **argv, int max_args)
{
    struct {
        char *buf;
        int len;
    } block = {cmdline, (int)sizeof(cmdline) - 1};
    register int r0 __asm__("r0") = 0x15;   /* SYS_GET_CMDLINE */
    register void *r1 __asm__("r1") = &block;
    __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    if (r0 != 0) {
        return 0;
    }
    cmdline[block.len] = 0;
    int argc = 0;
    for (char *p = strtok(cmdline, " "); p && argc < max_args; p = strtok(NULL, " ")) {
        argv[argc++] = p;
    }
    return argc;
}
