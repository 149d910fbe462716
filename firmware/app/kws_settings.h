/* Streaming and recogniser settings of the application.
 *
 * `dadarts export` (and `dadarts calibrate`, which tunes them on long recordings) writes
 * recognizer_settings.h next to model_settings.h; when the build finds it, its values win. Every
 * setting can also be given with -D. The defaults below are TFLM micro_speech's recogniser settings.
 */
#ifndef KWS_SETTINGS_H
#define KWS_SETTINGS_H

#if defined(__has_include)
#if __has_include("recognizer_settings.h")
#include "recognizer_settings.h"
#define KWS_RECOGNIZER_SETTINGS_SOURCE "recognizer_settings.h"
#endif
#endif
#ifndef KWS_RECOGNIZER_SETTINGS_SOURCE
#define KWS_RECOGNIZER_SETTINGS_SOURCE "defaults (kws_settings.h)"
#endif

#ifndef KWS_AVERAGE_WINDOW_MS
#define KWS_AVERAGE_WINDOW_MS 1000     /* scores of the last second are averaged */
#endif
#ifndef KWS_DETECTION_THRESHOLD
#define KWS_DETECTION_THRESHOLD 200    /* on the averaged score, 0..255 */
#endif
#ifndef KWS_SUPPRESSION_MS
#define KWS_SUPPRESSION_MS 1500        /* quiet time after a detection */
#endif
#ifndef KWS_MINIMUM_COUNT
#define KWS_MINIMUM_COUNT 3            /* inference results needed in the window */
#endif
#ifndef KWS_INFERENCE_EVERY_HOPS
#define KWS_INFERENCE_EVERY_HOPS 2     /* run the model every this many new feature frames */
#endif
#ifndef KWS_STATS_EVERY_MS
#define KWS_STATS_EVERY_MS 2000        /* a stats line per this much audio */
#endif

#endif /* KWS_SETTINGS_H */
