/* Responder: what the device does with a detection. A port replaces responder_print.c with its own
 * (a LED, a GPIO line, a message to a host). */
#ifndef KWS_RESPONDER_H
#define KWS_RESPONDER_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Called for each new detection: the label, its averaged score (0..255) and the time in ms (a clock that
 * wraps at 2^32). */
void kws_respond(uint32_t time_ms, const char *label, int score);

#ifdef __cplusplus
}
#endif

#endif /* KWS_RESPONDER_H */
