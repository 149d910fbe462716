// Model runner on TFLite Micro: MicroMutableOpResolver with exactly the ops model_settings.h lists and
// an arena of the size the export measured (model_settings.h and model_data.* come from `dadarts export`).
#include "model_runner.h"

#include <cstdio>

#include "frontend_tables.h"
#include "model_data.h"
#include "model_settings.h"
#include "tensorflow/lite/micro/micro_interpreter.h"
#include "tensorflow/lite/micro/micro_mutable_op_resolver.h"
#include "tensorflow/lite/schema/schema_generated.h"

static_assert(KWS_INPUT_FEATURES == KWS_FRONTEND_N_MFCC,
              "model_settings.h and frontend_tables.h come from different runs (feature count)");
static_assert(KWS_INPUT_FRAMES == KWS_FRONTEND_N_FRAMES,
              "model_settings.h and frontend_tables.h come from different runs (frame count)");
static_assert(KWS_INPUT_ZERO_POINT == KWS_FRONTEND_INPUT_ZERO_POINT,
              "model_settings.h and frontend_tables.h come from different exports (input zero point)");

namespace {

alignas(16) uint8_t tensor_arena[KWS_TENSOR_ARENA_SIZE];
tflite::MicroInterpreter *interpreter = nullptr;

}  // namespace

extern "C" int kws_model_init(void)
{
    const tflite::Model *model = tflite::GetModel(g_kws_model_data);
    if (model->version() != TFLITE_SCHEMA_VERSION) {
        std::printf("model schema %lu, this TFLM reads %d\n", (unsigned long)model->version(), TFLITE_SCHEMA_VERSION);
        return -1;
    }
    static tflite::MicroMutableOpResolver<KWS_NUM_OPS> resolver;
    KWS_REGISTER_OPS(resolver);
    static tflite::MicroInterpreter static_interpreter(model, resolver, tensor_arena, KWS_TENSOR_ARENA_SIZE);
    interpreter = &static_interpreter;
    if (interpreter->AllocateTensors() != kTfLiteOk) {
        std::printf("AllocateTensors failed: the arena of %d bytes is too small or an op is missing\n",
                    KWS_TENSOR_ARENA_SIZE);
        return -1;
    }
    const TfLiteTensor *in = interpreter->input(0);
    const TfLiteTensor *out = interpreter->output(0);
    if (in->type != kTfLiteInt8 || in->bytes != (size_t)KWS_INPUT_FRAMES * KWS_INPUT_FEATURES ||
        in->params.zero_point != KWS_INPUT_ZERO_POINT || out->type != kTfLiteInt8 ||
        out->bytes != (size_t)KWS_NUM_LABELS) {
        std::printf("the model's tensors do not match model_settings.h: re-run the export\n");
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
