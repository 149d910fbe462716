/* Model runner: the int8 keyword model behind a small C interface, so that the rest of the
 * application stays C. Two implementations: model_runner.cc runs it under TFLite Micro (built when
 * TFLM_ROOT is given, see docs/firmware.md); model_runner_tethered.c sends the input to a host over
 * the board's second serial link and reads the scores back (the model then runs in Python), which
 * tests everything around the model on the device without a TFLM build. */
#ifndef KWS_MODEL_RUNNER_H
#define KWS_MODEL_RUNNER_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Map the model, register its ops, allocate the arena. Returns 0, or -1 with a message. */
int kws_model_init(void);

/* The model's int8 input, (1, frames, features, 1) row-major: where the feature provider copies to
 * (a step model's input 0: the KWS_STEP_FRAMES new frames). */
int8_t *kws_model_input(void);

/* Run one inference. Returns 0, or -1 when the interpreter fails. A step model (KWS_STREAMING, see
 * docs/firmware.md) is given its states before Invoke and its next states are kept after it. */
int kws_model_invoke(void);

/* A step model's states back to the start of a stream: every state input at its zero point. */
void kws_model_reset_states(void);

/* Bytes of state a step model keeps between Invokes (0 for a one-window model), and the cycles the
 * last Invoke spent moving them (staging buffer -> state inputs before, state outputs -> staging after). */
uint32_t kws_model_state_bytes(void);
uint32_t kws_model_state_cycles(void);

/* The int8 scores of the last inference, one per label. */
const int8_t *kws_model_output(void);

/* Bytes of the arena the interpreter actually used, and the bytes reserved (0 when tethered). */
uint32_t kws_model_arena_used(void);
uint32_t kws_model_arena_size(void);

/* How the model runs, for the start-up banner (e.g. "TFLM, 6 ops, int8-only kernels"). */
const char *kws_model_description(void);

#ifdef __cplusplus
}
#endif

#endif /* KWS_MODEL_RUNNER_H */
