/* Command recogniser: sliding-window score averaging, threshold and suppression (see recognizer.h). */
#include "recognizer.h"

#include <string.h>

int kws_recognizer_init(kws_recognizer_t *r, const kws_recognizer_config_t *cfg)
{
    if (cfg->n_labels <= 0 || cfg->n_labels > KWS_MAX_LABELS || cfg->average_window_ms <= 0 ||
        cfg->minimum_count < 1 || cfg->minimum_count > KWS_MAX_HISTORY || cfg->detection_threshold < 0 ||
        cfg->detection_threshold > 255 || cfg->suppression_ms < 0) {
        return -1;
    }
    memset(r, 0, sizeof(*r));
    r->cfg = *cfg;
    return 0;
}

int kws_recognizer_process(kws_recognizer_t *r, const int8_t *scores, int32_t time_ms, kws_detection_t *out)
{
    const kws_recognizer_config_t *c = &r->cfg;
    if (r->count > 0 && time_ms < r->times[(r->head + KWS_MAX_HISTORY - 1) % KWS_MAX_HISTORY]) {
        return -1;
    }
    /* Store the scores as 0..255 so that averaging is plain unsigned arithmetic. */
    for (int i = 0; i < c->n_labels; i++) {
        int s = scores[i] - c->output_zero_point;
        r->scores[r->head][i] = (uint8_t)(s < 0 ? 0 : s > 255 ? 255 : s);
    }
    r->times[r->head] = time_ms;
    r->head = (r->head + 1) % KWS_MAX_HISTORY;
    if (r->count < KWS_MAX_HISTORY) {
        r->count++;
    }
    /* Drop results older than the averaging window (the ring also forgets beyond its capacity). */
    while (r->count > 1 &&
           time_ms - r->times[(r->head + KWS_MAX_HISTORY - r->count) % KWS_MAX_HISTORY] >= c->average_window_ms) {
        r->count--;
    }
    int best = 0;
    int32_t best_sum = -1;
    for (int i = 0; i < c->n_labels; i++) {
        int32_t sum = 0;
        for (int k = 0; k < r->count; k++) {
            sum += r->scores[(r->head + KWS_MAX_HISTORY - 1 - k) % KWS_MAX_HISTORY][i];
        }
        if (sum > best_sum) {
            best_sum = sum;
            best = i;
        }
    }
    out->label = best;
    out->score = (int)(best_sum / r->count);
    out->is_new = 0;
    const int keyword = c->is_keyword ? c->is_keyword[best] : 1;
    const int quiet = !r->has_detection || time_ms - r->last_detection_ms >= c->suppression_ms;
    if (keyword && quiet && r->count >= c->minimum_count && out->score >= c->detection_threshold) {
        out->is_new = 1;
        r->has_detection = 1;
        r->last_detection_ms = time_ms;
    }
    return 0;
}
