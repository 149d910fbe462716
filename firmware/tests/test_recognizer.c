/* Host test of the recogniser: averaging window, threshold, suppression, non-keyword labels, a history
 * long enough for the window, and the integer softmax that turns model outputs into scores. */
#include "check.h"
#include "recognizer.h"

#define HISTORY 11   /* ceil(1000 ms window / 100 ms per result) + 1, as recognizer_settings.h sizes it */

static const uint8_t keyword[4] = {0, 1, 1, 1};   /* label 0 is silence */
static uint32_t times[HISTORY];
static uint8_t scores[HISTORY * 4];

static kws_detection_t feed(kws_recognizer_t *r, int label, int score, uint32_t t)
{
    int8_t s[4];
    for (int i = 0; i < 4; i++) {
        s[i] = (int8_t)(-128 + (i == label ? score : (255 - score) / 3));
    }
    kws_detection_t d;
    CHECK(kws_recognizer_process(r, s, t, &d) == 0);
    return d;
}

static void test_window_threshold_suppression(void)
{
    kws_recognizer_config_t cfg = {4, 1000, 1500, 200, 3, -128, keyword};
    kws_recognizer_t r;
    CHECK(kws_recognizer_init(&r, &cfg, times, scores, HISTORY) == 0);

    /* Two confident results are not enough (minimum_count 3); the third triggers. */
    CHECK(!feed(&r, 2, 250, 0).is_new);
    CHECK(!feed(&r, 2, 250, 100).is_new);
    kws_detection_t d = feed(&r, 2, 250, 200);
    CHECK(d.is_new && d.label == 2 && d.score >= 240);

    /* Within the suppression time the same or another word does not trigger again. */
    CHECK(!feed(&r, 2, 250, 300).is_new);
    for (int t = 400; t < 1700; t += 100) {
        CHECK(!feed(&r, 3, 250, t).is_new || t - 200 >= 1500);
    }
    /* After suppression, a word averaged over the window triggers. */
    d = feed(&r, 3, 250, 1800);
    CHECK(d.is_new && d.label == 3);

    /* Silence never triggers, however confident, and does not start a suppression. */
    CHECK(kws_recognizer_init(&r, &cfg, times, scores, HISTORY) == 0);
    for (int t = 0; t < 1000; t += 100) {
        d = feed(&r, 0, 255, t);
        CHECK(!d.is_new && d.label == 0);
    }
    /* Averaging: one confident keyword result among silence stays below the threshold. */
    d = feed(&r, 1, 255, 1000);
    CHECK(!d.is_new && d.label == 0);

    /* Below the threshold nothing triggers. */
    CHECK(kws_recognizer_init(&r, &cfg, times, scores, HISTORY) == 0);
    for (int t = 0; t < 1000; t += 100) {
        CHECK(!feed(&r, 1, 150, t).is_new);
    }
    /* Time going backwards is refused; bad settings are refused. */
    int8_t s[4] = {0};
    CHECK(kws_recognizer_process(&r, s, 10, &d) == -1);
    kws_recognizer_config_t bad = cfg;
    bad.n_labels = KWS_MAX_LABELS + 1;
    CHECK(kws_recognizer_init(&r, &bad, times, scores, HISTORY) == -1);
    bad = cfg;
    bad.minimum_count = HISTORY + 1;
    CHECK(kws_recognizer_init(&r, &bad, times, scores, HISTORY) == -1);
    CHECK(kws_recognizer_init(&r, &cfg, NULL, scores, HISTORY) == -1);
}

/* The whole window is averaged at every result: one silent result 900 ms back still counts (with the
 * old fixed 32-entry ring at 20 ms per result it had been forgotten). */
static void test_history_covers_the_window(void)
{
    enum { STEP = 20, WINDOW = 1000, H = WINDOW / STEP + 1 };
    static uint32_t t_buf[H];
    static uint8_t s_buf[H * 4];
    kws_recognizer_config_t cfg = {4, WINDOW, 0, 0, 1, -128, keyword};
    kws_recognizer_t r;
    CHECK(kws_recognizer_init(&r, &cfg, t_buf, s_buf, H) == 0);
    kws_detection_t d = feed(&r, 0, 255, 0);
    for (int t = STEP; t < WINDOW; t += STEP) {
        d = feed(&r, 1, 255, t);
    }
    CHECK(r.count == WINDOW / STEP);
    /* 49 keyword results and one silence result: the keyword's average includes the silence's 0. */
    CHECK(d.label == 1 && d.score == (49 * 255 + 0) / 50);
    d = feed(&r, 1, 255, WINDOW);   /* the silence result leaves the window */
    CHECK(r.count == WINDOW / STEP && d.score == 255);
}

/* The ms clock wraps at 2^32 (49.7 days): a sequence across the wrap decides exactly as the same sequence
 * at small times. */
static void test_clock_wrap(void)
{
    kws_recognizer_config_t cfg = {4, 1000, 1500, 200, 3, -128, keyword};
    kws_recognizer_t a, b;
    static uint32_t t_a[HISTORY], t_b[HISTORY];
    static uint8_t s_a[HISTORY * 4], s_b[HISTORY * 4];
    CHECK(kws_recognizer_init(&a, &cfg, t_a, s_a, HISTORY) == 0);
    CHECK(kws_recognizer_init(&b, &cfg, t_b, s_b, HISTORY) == 0);
    const uint32_t start = 0xFFFFFFFFu - 450u;   /* the wrap falls between the 5th and the 6th result */
    int detections = 0;
    for (uint32_t k = 0; k < 40; k++) {
        const int label = (k / 8) % 2 ? 0 : 1 + (int)(k / 16) % 3;
        const kws_detection_t da = feed(&a, label, 250, 100 * k), db = feed(&b, label, 250, start + 100 * k);
        CHECK(da.label == db.label && da.score == db.score && da.is_new == db.is_new);
        detections += da.is_new;
    }
    CHECK(detections >= 2);
    /* Time going backwards across the wrap is still refused. */
    int8_t s[4] = {0};
    kws_detection_t d;
    CHECK(kws_recognizer_process(&b, s, start + 100 * 38, &d) == -1);
}

static void test_scores(void)
{
    /* Softmax output (scale 1/256, zero point -128) is copied. */
    const int8_t out[4] = {-128, 100, 20, -50};
    int8_t p[4];
    CHECK(kws_recognizer_scores(out, 4, NULL, 0, p) == 0);
    CHECK(p[0] == -128 && p[1] == 100 && p[2] == 20 && p[3] == -50);
    /* Logits at scale ln(2): each step down halves the probability. */
    const uint16_t half[4] = {32768, 16384, 8192, 4096};
    const int8_t logits[4] = {10, 9, 8, 0};
    CHECK(kws_recognizer_scores(logits, 4, half, 4, p) == 0);
    /* e = 32768, 16384, 8192, 0 (beyond the table); sum 57344 */
    CHECK(p[0] == (int8_t)((32768u * 255u + 28672u) / 57344u - 128));
    CHECK(p[1] == (int8_t)((16384u * 255u + 28672u) / 57344u - 128));
    CHECK(p[3] == -128);
    CHECK(kws_recognizer_scores(logits, KWS_MAX_LABELS + 1, half, 4, p) == -1);
}

int main(void)
{
    test_window_threshold_suppression();
    test_history_covers_the_window();
    test_clock_wrap();
    test_scores();
    CHECK_DONE();
}
