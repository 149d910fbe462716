// The keyword-spotting application: audio provider -> front-end/feature provider -> model runner ->
// recogniser -> responder, one hop of audio at a time, as a device runs it. On the host the WAV file is
// argv[1]; under QEMU it is the first semihosting argument. A file shorter than one second is padded
// with silence to a second, as the Python pipeline pads its clips, and the label of the last inference
// is printed so that it can be compared with `dadarts` on the same file.
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "audio_provider.h"
#include "feature_provider.h"
#include "frontend_tables.h"
#include "model_runner.h"
#include "model_settings.h"
#include "recognizer.h"
#include "responder.h"

#ifdef KWS_SEMIHOSTING
#include "semihost.h"
#endif

#ifndef KWS_INFERENCE_EVERY_FRAMES
#define KWS_INFERENCE_EVERY_FRAMES 2   /* run the model every this many new frames */
#endif

namespace {

const char *const kLabels[KWS_NUM_LABELS] = KWS_LABELS;
kws_frontend_t frontend;
kws_features_t features;
kws_recognizer_t recognizer;
int8_t ring[KWS_INPUT_FRAMES * KWS_INPUT_FEATURES];
uint8_t is_keyword[KWS_NUM_LABELS];

// The exported model ends in logits; the recogniser averages probabilities. TFLite's int8 softmax
// output always has scale 1/256 and zero point -128, so such an output is used as it is.
void probabilities(const int8_t *out, int8_t *prob)
{
    if (KWS_OUTPUT_SCALE == 0.00390625f && KWS_OUTPUT_ZERO_POINT == -128) {
        for (int i = 0; i < KWS_NUM_LABELS; i++) {
            prob[i] = out[i];
        }
        return;
    }
    float e[KWS_NUM_LABELS], top = -1e30f, sum = 0.0f;
    for (int i = 0; i < KWS_NUM_LABELS; i++) {
        e[i] = KWS_OUTPUT_SCALE * (float)(out[i] - KWS_OUTPUT_ZERO_POINT);
        top = e[i] > top ? e[i] : top;
    }
    for (int i = 0; i < KWS_NUM_LABELS; i++) {
        e[i] = std::exp(e[i] - top);
        sum += e[i];
    }
    for (int i = 0; i < KWS_NUM_LABELS; i++) {
        const int q = (int)(e[i] / sum * 255.0f + 0.5f);
        prob[i] = (int8_t)(q - 128);
    }
}

}  // namespace

int main(int argc, char **argv)
{
#ifdef KWS_SEMIHOSTING
    char *semi_argv[4];
    argc = kws_semihost_args(semi_argv, 4);
    argv = semi_argv;
#endif
    if (argc < 2) {
        std::printf("usage: kws_app FILE.wav   (16 kHz mono 16-bit)\n");
        return 2;
    }
    std::printf("model from %s, front-end %s\n", KWS_MODEL_SOURCE, KWS_FRONTEND_CONFIG);
    if (kws_frontend_init(&frontend, &kws_frontend_tables) != 0 ||
        kws_features_init(&features, &frontend, ring, KWS_INPUT_FRAMES) != 0 || kws_model_init() != 0 ||
        kws_audio_open(argv[1]) != 0) {
        return 2;
    }
    for (int i = 0; i < KWS_NUM_LABELS; i++) {
        is_keyword[i] = kLabels[i][0] != '_';   // _silence_ and _unknown_ never trigger
    }
    const kws_recognizer_config_t cfg = {KWS_NUM_LABELS, 1000, 1500, 200, 3, -128, is_keyword};
    if (kws_recognizer_init(&recognizer, &cfg) != 0) {
        std::printf("too many labels for the recogniser (KWS_MAX_LABELS)\n");
        return 2;
    }
    int16_t hop[KWS_FRONTEND_HOP];
    long samples = 0;
    int since_inference = 0, inferences = 0, last_label = -1, last_score = 0;
    for (;;) {
        if (kws_audio_read(hop, KWS_FRONTEND_HOP) != KWS_FRONTEND_HOP) {
            if (samples >= 16000) {
                break;
            }
            for (int i = 0; i < KWS_FRONTEND_HOP; i++) {
                hop[i] = 0;   // pad a short file to one second
            }
        }
        samples += KWS_FRONTEND_HOP;
        since_inference += kws_features_push_audio(&features, hop);
        const int last_frame = samples >= 16000 && samples - KWS_FRONTEND_HOP < 16000;
        if (!kws_features_full(&features) || (since_inference < KWS_INFERENCE_EVERY_FRAMES && !last_frame)) {
            continue;
        }
        since_inference = 0;
        kws_features_copy(&features, kws_model_input());
        if (kws_model_invoke() != 0) {
            std::printf("inference failed\n");
            return 1;
        }
        inferences++;
        const int32_t now = (int32_t)(samples / 16);
        int8_t prob[KWS_NUM_LABELS];
        probabilities(kws_model_output(), prob);
        kws_detection_t d;
        kws_recognizer_process(&recognizer, prob, now, &d);
        if (d.is_new) {
            kws_respond(now, kLabels[d.label], d.score);
        }
        const int8_t *out = kws_model_output();   // the raw output orders labels without softmax ties
        last_label = 0;
        for (int i = 1; i < KWS_NUM_LABELS; i++) {
            last_label = out[i] > out[last_label] ? i : last_label;
        }
        last_score = prob[last_label] + 128;
    }
    std::printf("inferences %d arena_used %lu\n", inferences, (unsigned long)kws_model_arena_used());
    if (last_label >= 0) {
        std::printf("last %s score %d\n", kLabels[last_label], last_score);
    }
    return 0;
}
