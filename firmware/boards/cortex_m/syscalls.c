/* newlib system calls for boards whose console is a UART (no semihosting, no debugger needed):
 * stdout and stderr go to board_console_write, stdin is empty, the heap is the linker script's
 * .heap section, and exit() stops the core. TFLM's DebugLog and the app's printf both end here. */
#include <errno.h>
#include <stdint.h>
#include <sys/stat.h>

#include "board.h"


int _write(int fd, const char *buf, int len);
int _read(int fd, char *buf, int len);
int _close(int fd);
int _fstat(int fd, struct stat *st);
int _isatty(int fd);
int _lseek(int fd, int offset, int whence);
void *_sbrk(int incr);
void _exit(int status);
int _kill(int pid, int sig);
int _getpid(void);

int _write(int fd, const char *buf, int len)
{
    if (fd != 1 && fd != 2) {
        errno = EBADF;
        return -1;
    }
    board_console_write(buf, len);
    return len;
}

int _read(int fd, char *buf, int len)
{
    (void)fd;
    (void)buf;
    (void)len;
    return 0;
}

int _close(int fd)
{
    (void)fd;
    return -1;
}

int _fstat(int fd, struct stat *st)
{
    (void)fd;
    st->st_mode = S_IFCHR;
    return 0;
}

int _isatty(int fd)
{
    return fd <= 2;
}

int _lseek(int fd, int offset, int whence)
{
    (void)fd;
    (void)offset;
    (void)whence;
    return 0;
}

/* main() returned (the application stops only on an error): say so, then sleep; a reset restarts. */
void _exit(int status)
{
    char line[24] = "\nexit ";
    int n = 6;
    if (status < 0 || status > 255) {
        status = 255;
    }
    if (status >= 100) {
        line[n++] = (char)('0' + status / 100);
    }
    if (status >= 10) {
        line[n++] = (char)('0' + status / 10 % 10);
    }
    line[n++] = (char)('0' + status % 10);
    line[n++] = '\n';
    board_console_write(line, n);
    for (;;) {
        __asm__ volatile("wfi");
    }
}

int _kill(int pid, int sig)
{
    (void)pid;
    (void)sig;
    errno = EINVAL;
    return -1;
}

int _getpid(void)
{
    return 1;
}
