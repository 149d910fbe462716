/* Command recogniser: sliding-window score averaging, threshold and suppression (see recognizer.h). */
#include "recognizer.h"

#include <string.h>

int kws_recognizer_init(kws_recognizer_t *r, const kws_recognizer_config_t *cfg, uint32_t *times,
                        uint8_t *scores, int history)
{
    if (cfg->n_labels <= 0 || cfg->n_labels > KWS_MAX_LABELS || cfg->average_window_ms <= 0 ||
        cfg->minimum_count < 1 || cfg->minimum_count > history || cfg->detection_threshold < 0 ||
        cfg->detection_threshold > 255 || cfg->suppression_ms < 0 || !times || !scores) {
        return -1;
    }
    memset(r, 0, sizeof(*r));
    r->cfg = *cfg;
    r->times = times;
    r->scores = scores;
    r->history = history;
    return 0;
}

/* Elapsed ms from `then` to `now` on the wrapping clock (modulo 2^32: valid for spans under 2^31 ms). */
static int32_t elapsed(uint32_t now, uint32_t then)
{
    return (int32_t)(now - then);
}

int kws_recognizer_process(kws_recognizer_t *r, const int8_t *scores, uint32_t time_ms, kws_detection_t *out)
{
    const kws_recognizer_config_t *c = &r->cfg;
    const int h = r->history;
    if (r->count > 0 && elapsed(time_ms, r->times[(r->head + h - 1) % h]) < 0) {
        return -1;
    }
    /* Forget a detection once its suppression is over, so that a quiet spell longer than the clock's
     * wrap does not read as a recent detection. */
    if (r->has_detection && elapsed(time_ms, r->last_detection_ms) >= c->suppression_ms) {
        r->has_detection = 0;
    }
    /* Store the scores as 0..255 so that averaging is plain unsigned arithmetic. */
    uint8_t *slot = r->scores + (long)r->head * c->n_labels;
    for (int i = 0; i < c->n_labels; i++) {
        int s = scores[i] - c->output_zero_point;
        slot[i] = (uint8_t)(s < 0 ? 0 : s > 255 ? 255 : s);
    }
    r->times[r->head] = time_ms;
    r->head = (r->head + 1) % h;
    if (r->count < h) {
        r->count++;
    }
    /* Drop results older than the averaging window (the ring also forgets beyond its capacity). */
    while (r->count > 1 && elapsed(time_ms, r->times[(r->head + h - r->count) % h]) >= c->average_window_ms) {
        r->count--;
    }
    int best = 0;
    int32_t best_sum = -1;
    for (int i = 0; i < c->n_labels; i++) {
        int32_t sum = 0;
        for (int k = 0; k < r->count; k++) {
            sum += r->scores[(long)((r->head + h - 1 - k) % h) * c->n_labels + i];
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
    const int quiet = !r->has_detection;
    if (keyword && quiet && r->count >= c->minimum_count && out->score >= c->detection_threshold) {
        out->is_new = 1;
        r->has_detection = 1;
        r->last_detection_ms = time_ms;
    }
    return 0;
}

int kws_recognizer_scores(const int8_t *output, int n_labels, const uint16_t *exp_q15, int exp_len,
                           int8_t *scores)
{
    if (n_labels <= 0 || n_labels > KWS_MAX_LABELS) {
        return -1;
    }
    if (exp_len <= 0) {
        memcpy(scores, output, (size_t)n_labels);
        return 0;
    }
    int top = output[0];
    for (int i = 1; i < n_labels; i++) {
        top = output[i] > top ? output[i] : top;
    }
    /* exp_q15[0] = 32768, so sum >= 32768; e * 255 <= 2^23 and sum <= KWS_MAX_LABELS * 2^15 fit 32 bits. */
    uint32_t e[KWS_MAX_LABELS], sum = 0;
    for (int i = 0; i < n_labels; i++) {
        const int d = top - output[i];
        e[i] = d < exp_len ? exp_q15[d] : 0u;
        sum += e[i];
    }
    for (int i = 0; i < n_labels; i++) {
        scores[i] = (int8_t)((int)((e[i] * 255u + sum / 2u) / sum) - 128);
    }
    return 0;
}
