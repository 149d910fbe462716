/* Model runner: the int8 keyword model under TFLite Micro, behind a small C interface so that the
 * rest of the application stays C. Built only when TFLM_ROOT is given (see docs/firmware.md). */
#ifndef KWS_MODEL_RUNNER_H
#define KWS_MODEL_RUNNER_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Map the model, register exactly its ops, allocate the arena. Returns 0, or -1 with a message. */
int kws_model_init(void);

/* The model's int8 input, (1, frames, features, 1) row-major: where the feature provider copies to. */
int8_t *kws_model_input(void);

/* Run one inference. Returns 0, or -1 when the interpreter fails. */
int kws_model_invoke(void);

/* The int8 scores of the last inference, one per label. */
const int8_t *kws_model_output(void);

/* Bytes of the arena the interpreter actually used. */
uint32_t kws_model_arena_used(void);

#ifdef __cplusplus
}
#endif

#endif /* KWS_MODEL_RUNNER_H */
