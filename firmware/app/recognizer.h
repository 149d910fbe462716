/* Command recogniser: turns the model's per-inference outputs into keyword detections.
 *
 * As in TFLM's micro_speech RecognizeCommands: scores are averaged over a sliding time window, the best
 * label is reported when its average reaches a threshold, enough results fill the window, and no
 * detection happened during the suppression time before. Non-keyword labels (silence, unknown) never
 * trigger and never start a suppression.
 *
 * The recogniser keeps its recent results in memory the caller provides, sized by the generated
 * recognizer_settings.h: KWS_RECOGNIZER_HISTORY results hold a whole averaging window at the
 * configured inference rate, so the average always covers the full window. The same header carries
 * KWS_AVERAGE_WINDOW_MS, KWS_DETECTION_THRESHOLD, KWS_SUPPRESSION_MS, KWS_MINIMUM_COUNT,
 * KWS_INFERENCE_EVERY_HOPS and the table for kws_recognizer_scores (KWS_SCORE_EXP_Q15, KWS_SCORE_EXP_LEN).
 * dadarts/evaluate/recognizer.py is the Python twin of this file, bit-exact on the same inputs.
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

typedef struct {
    int n_labels;
    int32_t average_window_ms;   /* scores of the last window are averaged */
    int32_t suppression_ms;      /* quiet time after a detection */
    int detection_threshold;     /* on scores 0..255 (int8 score minus the zero point) */
    int minimum_count;           /* results needed in the window before anything is reported */
    int output_zero_point;       /* zero point of the int8 scores (-128 for kws_recognizer_scores) */
    const uint8_t *is_keyword;   /* [n_labels] 1 for words that may trigger; NULL: every label */
} kws_recognizer_config_t;

typedef struct {
    kws_recognizer_config_t cfg;
    uint32_t *times;             /* [history] caller's memory; ms of a clock that wraps at 2^32 */
    uint8_t *scores;             /* [history][n_labels] caller's memory, scores as 0..255 */
    int history;
    int head, count;             /* ring of the most recent results */
    uint32_t last_detection_ms;
    int has_detection;           /* a detection less than suppression_ms ago */
} kws_recognizer_t;

typedef struct {
    int label;                   /* index of the best label over the window */
    int score;                   /* its average score, 0..255 */
    int is_new;                  /* 1 when this call detected a keyword */
} kws_detection_t;

/* `times` holds `history` values and `scores` history * n_labels bytes. Returns 0, or -1 when
 * n_labels exceeds KWS_MAX_LABELS, a setting is out of range or minimum_count exceeds history. */
int kws_recognizer_init(kws_recognizer_t *r, const kws_recognizer_config_t *cfg, uint32_t *times,
                        uint8_t *scores, int history);

/* Add one inference result (n_labels int8 scores at time_ms, non-decreasing). Times are a free-running
 * ms clock that wraps at 2^32 (49.7 days): only differences are used, modulo 2^32, so a device that
 * runs for months keeps working across the wrap. Returns 0, or -1 when time goes backwards (by less than
 * 2^31 ms); then `out` is not written and the result is not stored. Otherwise `out` receives the current
 * best label (0..n_labels-1) and whether it is a new detection. */
int kws_recognizer_process(kws_recognizer_t *r, const int8_t *scores, uint32_t time_ms, kws_detection_t *out);

/* Model output -> recogniser scores: softmax probabilities 0..255 as int8 with zero point -128, in
 * integer arithmetic. exp_q15[d] = round(32768 exp(-output_scale d)) for the output's int8 distance d
 * to the largest output, d < exp_len (further entries are 0). With exp_len 0 the output already is
 * a probability (an int8 softmax: scale 1/256, zero point -128) and is copied. Returns 0, or -1 when
 * n_labels is out of range. */
int kws_recognizer_scores(const int8_t *output, int n_labels, const uint16_t *exp_q15, int exp_len,
                           int8_t *scores);

#ifdef __cplusplus
}
#endif

#endif /* KWS_RECOGNIZER_H */
