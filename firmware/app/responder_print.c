/* Responder that prints each detection on stdout (host terminal, or QEMU's semihosting console). */
#include "responder.h"

#include <stdio.h>

void kws_respond(int32_t time_ms, const char *label, int score)
{
    printf("detected %s score %d at %ld ms\n", label, score, (long)time_ms);
}
