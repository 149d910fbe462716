// Model runner on TFLite Micro: a MicroMutableOpResolver with exactly the ops of the exported graph
// (KWS_REGISTER_OPS from model_settings.h: the int8-only kernel variants where TFLM has them, so that
// an optimised library links no int16/int4 kernels the model never calls) and an arena of the size
// the export measured. model_settings.h and model_data.* come from `dadarts export`.
#include "model_runner.h"

#include <cstdio>

#include "board.h"
#include "frontend_tables.h"
#include "model_data.h"
#include "model_settings.h"
// The int8-only registrations KWS_REGISTER_OPS may name (dadarts/export/resolver.py, INT8_KERNELS).
#include "tensorflow/lite/micro/kernels/add.h"
#include "tensorflow/lite/micro/kernels/batch_matmul.h"
#include "tensorflow/lite/micro/kernels/conv.h"
#include "tensorflow/lite/micro/kernels/depthwise_conv.h"
#include "tensorflow/lite/micro/kernels/fully_connected.h"
#include "tensorflow/lite/micro/kernels/maximum_minimum.h"
#include "tensorflow/lite/micro/kernels/mul.h"
#include "tensorflow/lite/micro/kernels/pad.h"
#include "tensorflow/lite/micro/kernels/pooling.h"
#include "tensorflow/lite/micro/kernels/softmax.h"
#include "tensorflow/lite/micro/kernels/svdf.h"
#include "tensorflow/lite/micro/kernels/transpose.h"
#include "tensorflow/lite/micro/kernels/transpose_conv.h"
#include "tensorflow/lite/micro/micro_interpreter.h"
#include "tensorflow/lite/micro/micro_mutable_op_resolver.h"
#include "tensorflow/lite/schema/schema_generated.h"
#ifdef KWS_TFLM_DEBUG_LOG_CALLBACK
#include "tensorflow/lite/micro/cortex_m_generic/debug_log_callback.h"
#endif

static_assert(KWS_INPUT_FEATURES == KWS_FRONTEND_N_MFCC,
              "model_settings.h and frontend_tables.h come from different runs (feature count)");
static_assert(KWS_INPUT_FRAMES == KWS_FRONTEND_N_FRAMES,
              "model_settings.h and frontend_tables.h come from different runs (frame count)");
static_assert(KWS_INPUT_ZERO_POINT == KWS_FRONTEND_INPUT_ZERO_POINT,
              "model_settings.h and frontend_tables.h come from different exports (input zero point)");

// -DKWS_GENERIC_KERNELS registers every op with its all-types kernel instead (to measure what the
// int8-only registrations save); exports older than the int8-only resolver only have that form.
#if defined(KWS_GENERIC_KERNELS) && defined(KWS_REGISTER_OPS_GENERIC)
#define KWS_REGISTER KWS_REGISTER_OPS_GENERIC
#define KWS_KERNELS "all-types kernels"
#else
#define KWS_REGISTER KWS_REGISTER_OPS
#define KWS_KERNELS "int8-only kernels where TFLM has them"
#endif

namespace {

alignas(16) uint8_t tensor_arena[KWS_TENSOR_ARENA_SIZE];
tflite::MicroInterpreter *interpreter = nullptr;

#ifdef KWS_TFLM_DEBUG_LOG_CALLBACK
// cortex_m_generic's DebugLog formats a line and hands it to a callback: send it to the console.
void log_to_console(const char *s)
{
    int n = 0;
    while (s[n]) {
        n++;
    }
    board_console_write(s, n);
}
#endif

}  // namespace

extern "C" int kws_model_init(void)
{
#ifdef KWS_TFLM_DEBUG_LOG_CALLBACK
    RegisterDebugLogCallback(log_to_console);
#endif
    const tflite::Model *model = tflite::GetModel(g_kws_model_data);
    if (model->version() != TFLITE_SCHEMA_VERSION) {
        std::printf("kws: model schema %lu, this TFLM reads %d\n", (unsigned long)model->version(),
                    TFLITE_SCHEMA_VERSION);
        return -1;
    }
    static tflite::MicroMutableOpResolver<KWS_NUM_OPS> resolver;
    KWS_REGISTER(resolver);
    static tflite::MicroInterpreter static_interpreter(model, resolver, tensor_arena, KWS_TENSOR_ARENA_SIZE);
    interpreter = &static_interpreter;
    if (interpreter->AllocateTensors() != kTfLiteOk) {
        std::printf("kws: AllocateTensors failed: the arena of %d bytes is too small or an op is missing\n",
                    KWS_TENSOR_ARENA_SIZE);
        return -1;
    }
    const TfLiteTensor *in = interpreter->input(0);
    const TfLiteTensor *out = interpreter->output(0);
    if (in->type != kTfLiteInt8 || in->bytes != (size_t)KWS_INPUT_FRAMES * KWS_INPUT_FEATURES ||
        in->params.zero_point != KWS_INPUT_ZERO_POINT || out->type != kTfLiteInt8 ||
        out->bytes != (size_t)KWS_NUM_LABELS) {
        std::printf("kws: the model's tensors do not match model_settings.h: re-run the export\n");
        return -1;
    }
    return 0;
}

extern "C" int8_t *kws_model_input(void)
{
    return interpreter->input(0)->data.int8;
}

extern "C" int kws_model_invoke(void)
{
    return interpreter->Invoke() == kTfLiteOk ? 0 : -1;
}

extern "C" const int8_t *kws_model_output(void)
{
    return interpreter->output(0)->data.int8;
}

extern "C" uint32_t kws_model_arena_used(void)
{
    return (uint32_t)interpreter->arena_used_bytes();
}

extern "C" uint32_t kws_model_arena_size(void)
{
    return KWS_TENSOR_ARENA_SIZE;
}

extern "C" const char *kws_model_description(void)
{
    return "TFLite Micro, " KWS_KERNELS;
}
