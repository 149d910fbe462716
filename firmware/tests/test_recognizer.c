/* Host test of the recogniser: averaging window, threshold, suppression, non-keyword labels. */
#include "check.h"
#include "recognizer.h"

static const uint8_t keyword[4] = {0, 1, 1, 1};   /* label 0 is silence */

static kws_detection_t feed(kws_recognizer_t *r, int label, int score, int32_t t)
{
    int8_t s[4];
    for (int i = 0; i < 4; i++) {
        s[i] = (int8_t)(-128 + (i == label ? score : (255 - score) / 3));
    }
    kws_detection_t d;
    CHECK(kws_recognizer_process(r, s, t, &d) == 0);
    return d;
}

int main(void)
{
    kws_recognizer_config_t cfg = {4, 1000, 1500, 200, 3, -128, keyword};
    kws_recognizer_t r;
    CHECK(kws_recognizer_init(&r, &cfg) == 0);

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
    CHECK(kws_recognizer_init(&r, &cfg) == 0);
    for (int t = 0; t < 1000; t += 100) {
        d = feed(&r, 0, 255, t);
        CHECK(!d.is_new && d.label == 0);
    }
    /* Averaging: one confident keyword result among silence stays below the threshold. */
    d = feed(&r, 1, 255, 1000);
    CHECK(!d.is_new && d.label == 0);

    /* Below the threshold nothing triggers. */
    CHECK(kws_recognizer_init(&r, &cfg) == 0);
    for (int t = 0; t < 1000; t += 100) {
        CHECK(!feed(&r, 1, 150, t).is_new);
    }
    /* Time going backwards is refused; bad settings are refused. */
    int8_t s[4] = {0};
    CHECK(kws_recognizer_process(&r, s, 10, &d) == -1);
    kws_recognizer_config_t bad = cfg;
    bad.n_labels = KWS_MAX_LABELS + 1;
    CHECK(kws_recognizer_init(&r, &bad) == -1);
    CHECK_DONE();
}
