/* The keyword-spotting application: audio provider -> front-end/feature ring -> model runner ->
 * recogniser -> responder, one hop of audio at a time, forever on a live stream.
 *
 * Board-independent: the board (boards/board.h) gives the console, the cycle counter and the audio
 * provider. model_settings.h and recognizer_settings.h (averaging, threshold, suppression, stride) come
 * from `dadarts export` / `dadarts calibrate`; dadarts/evaluate/ holds the Python twin of this loop. Every KWS_STATS_EVERY_MS of audio a stats line reports front-end and Invoke cycles (and
 * microseconds from the board's timer), the stack and arena high-water marks and dropped audio.
 * A finite stream (a WAV file on the host or through semihosting) ends the loop: a file shorter than
 * the model's clip (KWS_MODEL_CLIP_SAMPLES, one second by default) is padded with silence to a clip, as
 * the Python pipeline pads its clips, and the label
 * of the last inference is printed so that it can be compared with `dadarts` on the same file.
 *
 * Time runs forever: the sample counter is 64-bit, and the ms clock the recogniser, the detections and the
 * stats lines use is its low 32 bits (it wraps every 49.7 days; the recogniser only takes differences).
 * -DKWS_CLOCK_START_MS=N starts that clock at N instead of 0 (the wrap test starts it just before 2^32).
 *
 * Built from a step model (model_settings.h: KWS_STREAMING), the model runs once per KWS_STEP_FRAMES new
 * frames on those frames only, its states carried from Invoke to Invoke by the model runner (reset to
 * their zero points at start). The first KWS_WARMUP_STEPS steps only fill the states; every later step
 * is one decision for the recogniser, at the ms clock of the hop that brought the step's last frame.
 * A file's end brings no extra inference. dadarts/evaluate's streaming twin follows the same schedule.
 */
#include <stdio.h>

#include "audio_provider.h"
#include "board.h"
#include "feature_provider.h"
#include "frontend_tables.h"
#include "model_runner.h"
#include "model_settings.h"
#include "recognizer.h"
#include "recognizer_settings.h"
#include "responder.h"

#ifndef KWS_STATS_EVERY_MS
#define KWS_STATS_EVERY_MS 2000   /* a stats line per this much audio */
#endif
#ifndef KWS_CLOCK_START_MS
#define KWS_CLOCK_START_MS 0u
#endif
#define SAMPLES_PER_MS 16
#ifndef KWS_MODEL_CLIP_SAMPLES
#define KWS_MODEL_CLIP_SAMPLES 16000   /* a model_settings.h exported before the clip had a length: one second */
#endif

#ifndef KWS_STREAMING
#define KWS_STREAMING 0
#endif
#if KWS_STREAMING
#define KWS_RING_FRAMES KWS_STEP_FRAMES      /* the step model's input: the new frames only */
#else
#define KWS_RING_FRAMES KWS_INPUT_FRAMES
#endif

static const char *const labels[KWS_NUM_LABELS] = KWS_LABELS;
static kws_frontend_t frontend;
static kws_features_t features;
static kws_recognizer_t recognizer;
static uint32_t recognizer_times[KWS_RECOGNIZER_HISTORY];
static uint8_t recognizer_scores[KWS_RECOGNIZER_HISTORY * KWS_NUM_LABELS];
static const uint16_t score_exp[] = KWS_SCORE_EXP_Q15;
static int8_t ring[KWS_RING_FRAMES * KWS_INPUT_FEATURES];
static uint8_t is_keyword[KWS_NUM_LABELS];

/* Cycle statistics of one stage (front-end per frame, or Invoke per inference). */
typedef struct {
    uint64_t total;
    uint32_t count, max;
} timing_t;

static void timing_add(timing_t *t, uint32_t cycles)
{
    t->total += cycles;
    t->count++;
    t->max = cycles > t->max ? cycles : t->max;
}

static unsigned long timing_avg(const timing_t *t)
{
    return t->count ? (unsigned long)(t->total / t->count) : 0;
}

static unsigned long to_us(unsigned long cycles)
{
    return (unsigned long)((uint64_t)cycles * 1000000u / board_cycles_per_second());
}

static int setup(int argc, char **argv)
{
    printf("kws: %s\n", board_description());
    printf("kws: model %s (%s), front-end %s, %d labels, %s\n", KWS_MODEL_RUN, KWS_MODEL_SOURCE, KWS_FRONTEND_CONFIG,
           KWS_NUM_LABELS, kws_model_description());
    printf("kws: recogniser: average %d ms, threshold %d, suppression %d ms, minimum %d, inference every %d hops, "
           "stats every %d ms\n", KWS_AVERAGE_WINDOW_MS, KWS_DETECTION_THRESHOLD, KWS_SUPPRESSION_MS,
           KWS_MINIMUM_COUNT, KWS_INFERENCE_EVERY_HOPS, KWS_STATS_EVERY_MS);
#if KWS_STREAMING
    printf("kws: streaming: a step of %d frames per Invoke, %d warm-up steps, %d states\n", KWS_STEP_FRAMES,
           KWS_WARMUP_STEPS, KWS_NUM_STATES);
#endif
    if (kws_frontend_init(&frontend, &kws_frontend_tables) != 0 ||
        kws_features_init(&features, &frontend, ring, KWS_RING_FRAMES) != 0) {
        printf("kws: the front-end tables do not fit this build's capacities\n");
        return -1;
    }
    if (kws_model_init() != 0 || kws_audio_open(argc > 1 ? argv[1] : NULL) != 0) {
        return -1;
    }
    if (kws_model_state_bytes()) {
        printf("kws: model states: %lu bytes in the arena, as many in the staging buffer\n",
               (unsigned long)kws_model_state_bytes());
    }
    for (int i = 0; i < KWS_NUM_LABELS; i++) {
        is_keyword[i] = labels[i][0] != '_';   /* _silence_ and _unknown_ never trigger */
    }
    const kws_recognizer_config_t cfg = {KWS_NUM_LABELS,         KWS_AVERAGE_WINDOW_MS,   KWS_SUPPRESSION_MS,
                                         KWS_DETECTION_THRESHOLD, KWS_MINIMUM_COUNT, -128, is_keyword};
    if (kws_recognizer_init(&recognizer, &cfg, recognizer_times, recognizer_scores, KWS_RECOGNIZER_HISTORY) != 0) {
        printf("kws: the recogniser settings are out of range or there are too many labels\n");
        return -1;
    }
    printf("kws: clock starts at %lu ms\n", (unsigned long)KWS_CLOCK_START_MS);
    /* A host streaming audio into a UART starts when it reads this: bytes sent earlier would be lost. */
    printf("kws: listening\n");
    return 0;
}

static timing_t frontend_time, invoke_time, state_time;
static int last_label = -1, last_score;
static unsigned long recognizer_errors;
#if KWS_STREAMING
static unsigned warm_steps;   /* steps since the start, counted up to KWS_WARMUP_STEPS */
#endif

/* Copy the feature ring into the model and run it. Returns 0, or -1 on failure. */
static int invoke(void)
{
    kws_features_copy(&features, kws_model_input());
    const uint32_t t0 = board_cycles();
    if (kws_model_invoke() != 0) {
        printf("kws: inference failed\n");
        return -1;
    }
    timing_add(&invoke_time, board_cycles() - t0);
    if (KWS_STREAMING) {
        timing_add(&state_time, kws_model_state_cycles());
    }
    return 0;
}

/* Run the model and feed the recogniser with its output. Returns 0, or -1 on failure. */
static int infer(uint32_t now_ms)
{
    if (invoke() != 0) {
        return -1;
    }
#if KWS_STREAMING
    if (warm_steps < KWS_WARMUP_STEPS) {
        warm_steps++;   /* the states are still filling: no decision */
        return 0;
    }
#endif
    const int8_t *out = kws_model_output();
#ifdef KWS_TRACE_OUTPUTS
    /* Every model output on the console, to compare a port with the Python twin (dadarts firmware stream). */
    printf("out %lu", (unsigned long)now_ms);
    for (int i = 0; i < KWS_NUM_LABELS; i++) {
        printf(" %d", out[i]);
    }
    printf("\n");
#endif
    int8_t prob[KWS_NUM_LABELS];
    kws_detection_t d;
    if (kws_recognizer_scores(out, KWS_NUM_LABELS, score_exp, KWS_SCORE_EXP_LEN, prob) != 0 ||
        kws_recognizer_process(&recognizer, prob, now_ms, &d) != 0) {
        /* Out of range or time going backwards: this result is skipped, never half-read. */
        recognizer_errors++;
        return 0;
    }
    if (d.is_new && d.label >= 0 && d.label < KWS_NUM_LABELS) {
        kws_respond(now_ms, labels[d.label], d.score);
    }
    last_label = 0;   /* the raw output orders labels without the ties of a saturated softmax */
    for (int i = 1; i < KWS_NUM_LABELS; i++) {
        last_label = out[i] > out[last_label] ? i : last_label;
    }
    last_score = prob[last_label] + 128;
    return 0;
}

static void print_stats(uint32_t now_ms, unsigned long hops)
{
    /* invoke_cycles of a step model include its state copies; state_cycles is that part alone. */
    printf("stats t_ms=%lu hops=%lu inferences=%lu fe_cycles=%lu fe_max=%lu fe_us=%lu invoke_cycles=%lu "
           "invoke_max=%lu invoke_us=%lu state_cycles=%lu state_bytes=%lu cycles_per_s=%lu stack=%lu/%lu arena=%lu/%lu "
           "dropped=%lu recognizer_errors=%lu\n",
           (unsigned long)now_ms, hops, (unsigned long)invoke_time.count, timing_avg(&frontend_time),
           (unsigned long)frontend_time.max, to_us(timing_avg(&frontend_time)), timing_avg(&invoke_time),
           (unsigned long)invoke_time.max, to_us(timing_avg(&invoke_time)), timing_avg(&state_time),
           (unsigned long)kws_model_state_bytes(), (unsigned long)board_cycles_per_second(),
           (unsigned long)board_stack_used(), (unsigned long)board_stack_size(), (unsigned long)kws_model_arena_used(),
           (unsigned long)kws_model_arena_size(), (unsigned long)kws_audio_dropped(), recognizer_errors);
}

int main(int argc, char **argv)
{
    if (board_init() != 0 || setup(argc, argv) != 0) {
        return 2;
    }
    int16_t hop[KWS_FRONTEND_HOP];
    const uint64_t start = (uint64_t)KWS_CLOCK_START_MS * SAMPLES_PER_MS;
    uint64_t samples = start;          /* 64 bits: 36 million years at 16 kHz */
    unsigned long hops = 0;
    int since_inference = 0, inferred_last = 0;
    uint32_t next_stats = (uint32_t)KWS_CLOCK_START_MS + KWS_STATS_EVERY_MS;
    for (;;) {
        board_watchdog_kick();
        const int live = kws_audio_read(hop, KWS_FRONTEND_HOP) == KWS_FRONTEND_HOP;
        if (!live) {
            if (samples - start >= KWS_MODEL_CLIP_SAMPLES) {
                break;   /* only a file ends; a microphone or a UART stream never does */
            }
            for (int i = 0; i < KWS_FRONTEND_HOP; i++) {
                hop[i] = 0;   /* pad a short file to the model's clip (model_settings.h) */
            }
        }
        samples += KWS_FRONTEND_HOP;
        hops++;
        const uint32_t t0 = board_cycles();
        const int new_frame = kws_features_push_audio(&features, hop);
        if (new_frame) {
            timing_add(&frontend_time, board_cycles() - t0);
        }
        since_inference += new_frame;
        const uint32_t now = (uint32_t)(samples / SAMPLES_PER_MS);   /* the ms clock: wraps at 2^32 */
        inferred_last = 0;
#if KWS_STREAMING
        /* A step: the ring holds exactly the KWS_STEP_FRAMES frames that arrived since the last one. */
        if (since_inference >= KWS_STEP_FRAMES) {
#else
        /* A padded short file gets its inference at exactly one clip, where the Python pipeline looks. */
        const int at_padded_end = !live && samples - start >= KWS_MODEL_CLIP_SAMPLES;
        if (kws_features_full(&features) && (since_inference >= KWS_INFERENCE_EVERY_HOPS || at_padded_end)) {
#endif
            since_inference = 0;
            inferred_last = 1;
            if (infer(now) != 0) {
                return 1;
            }
        }
        if ((int32_t)(now - next_stats) >= 0) {
            print_stats(now, hops);
            next_stats += KWS_STATS_EVERY_MS;
        }
    }
    if (!KWS_STREAMING && !inferred_last && kws_features_full(&features) &&
        infer((uint32_t)(samples / SAMPLES_PER_MS)) != 0) {
        return 1;
    }
    print_stats((uint32_t)(samples / SAMPLES_PER_MS), hops);
    if (last_label >= 0) {
        printf("last %s score %d\n", labels[last_label], last_score);
    }
    return 0;
}
