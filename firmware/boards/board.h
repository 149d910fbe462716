/* The board interface: everything the application needs from a board, and nothing else.
 *
 * Like TFLM's cortex_m_generic port (debug_log.cc: where text goes; micro_time.cc: ticks and ticks
 * per second), a board is a handful of functions behind this header; the application in firmware/app/
 * never knows which board it runs on. Audio comes through app/audio_provider.h, which each board also
 * implements (a microphone, a UART stream, a WAV file). docs/porting.md explains adding a board.
 */
#ifndef KWS_BOARD_H
#define KWS_BOARD_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Clocks, console, cycle counter. Called first thing in main(); returns 0, or -1 when the board
 * cannot run (the reason is printed on the console if it works). */
int board_init(void);

/* Write n bytes to the console (a UART, semihosting, or stdout on the host). Blocking. */
void board_console_write(const char *text, int n);

/* Free-running cycle counter: the difference of two reads (mod 2^32) is elapsed cycles, valid for
 * spans shorter than 2^32 cycles (25 s at 168 MHz). */
uint32_t board_cycles(void);

/* Frequency of board_cycles(), Hz. */
uint32_t board_cycles_per_second(void);

/* One line saying what the board is and how it was set up: chip, core clock and its source, the
 * timer behind board_cycles() (e.g. "DWT CYCCNT" or "SysTick"). */
const char *board_description(void);

/* Bytes of stack used so far (deepest point reached since reset; 0 where it cannot be measured). */
uint32_t board_stack_used(void);

/* Bytes of stack the board reserves (0 where unknown). */
uint32_t board_stack_size(void);

/* Refresh the watchdog: the application calls it once per hop of audio. A board with a watchdog starts it
 * in board_init() and restarts the chip when the application stops coming back (a hang, a stalled
 * microphone); boards without one do nothing here. */
void board_watchdog_kick(void);

/* Optional: a second serial link to a host, on boards whose board.cmake sets KWS_BOARD_HAS_LINK.
 * The tethered model runner (app/model_runner_tethered.c) uses it. Both block; read returns n. */
void board_link_write(const char *data, int n);
int board_link_read(char *data, int n);

#ifdef __cplusplus
}
#endif

#endif /* KWS_BOARD_H */
