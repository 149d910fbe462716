/* Responder that prints each detection on the console (stdout: a UART, semihosting or the terminal). */
#include "responder.h"

#include <stdio.h>

void kws_respond(uint32_t time_ms, const char *label, int score)
{
    printf("detected %s score %d at %lu ms\n", label, score, (unsigned long)time_ms);
}
