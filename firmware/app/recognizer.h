/* Command recogniser: turns the model's per-inference int8 scores into keyword detections.
 *
 * As in TFLM's micro_speech RecognizeCommands: scores are averaged over a sliding time window, the best
 * label is reported when its average reaches a threshold, enough results fill the window, and no
 * detection happened during the suppression time before. Non-keyword labels (silence, unknown) never
 * trigger and never start a suppression.
 */
#ifndef KWS_RECOGNIZER_H
#define KWS_RECOGNIZER_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef KWS_MAX_LABELS
#define KWS_MAX_LABELS 40
#endif
#ifndef KWS_MAX_HISTORY
#define KWS_MAX_HISTORY 32
#endif

typedef struct {
    int n_labels;
    int32_t average_window_ms;   /* scores of the last window are averaged */
    int32_t suppression_ms;      /* quiet time after a detection */
    int detection_threshold;     /* on scores 0..255 (int8 score minus the output zero point) */
    int minimum_count;           /* results needed in the window before anything is reported */
    int output_zero_point;       /* int8 zero point of the model's output (probabilities) */
    const uint8_t *is_keyword;   /* [n_labels] 1 for words that may trigger; NULL: every label */
} kws_recognizer_config_t;

typedef struct {
    kws_recognizer_config_t cfg;
    int32_t times[KWS_MAX_HISTORY];
    uint8_t scores[KWS_MAX_HISTORY][KWS_MAX_LABELS];
    int head, count;             /* ring of the most recent results */
    int32_t last_detection_ms;
    int has_detection;
} kws_recognizer_t;

typedef struct {
    int label;                   /* index of the best label over the window */
    int score;                   /* its average score, 0..255 */
    int is_new;                  /* 1 when this call detected a keyword */
} kws_detection_t;

/* Returns 0, or -1 when n_labels exceeds KWS_MAX_LABELS or a setting is out of range. */
int kws_recognizer_init(kws_recognizer_t *r, const kws_recognizer_config_t *cfg);

/* Add one inference result (n_labels int8 scores at time_ms, non-decreasing). Returns 0, or -1 when
 * time goes backwards. `out` receives the current best label and whether it is a new detection. */
int kws_recognizer_process(kws_recognizer_t *r, const int8_t *scores, int32_t time_ms, kws_detection_t *out);

#ifdef __cplusplus
}
#endif

#endif /* KWS_RECOGNIZER_H */
