// Model runner on TFLite Micro: a MicroMutableOpResolver with exactly the ops of the exported graph
// (KWS_REGISTER_OPS from model_settings.h: the int8-only kernel variants where TFLM has them, so that
// an optimised library links no int16/int4 kernels the model never calls) and an arena of the size
// the export measured. model_settings.h and model_data.* come from `dadarts export`.
//
// A step model (`dadarts export --streaming`, model_settings.h: KWS_STREAMING) takes the new frames in
// input 0 and its states in inputs KWS_STATE_INPUTS, and gives the logits in output 0 and the next
// states in outputs KWS_STATE_OUTPUTS (same shape, scale and zero point, so a byte copy carries them).
// The next states go into a static staging buffer right after Invoke and from there into the state
// inputs before the next one: TFLM's memory planner may place an output where a state input lay once
// that input was read, so copying outputs straight into inputs could overwrite an output not yet copied.
#include "model_runner.h"

#include <cstdio>
#include <cstring>

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

#ifndef KWS_STREAMING
#define KWS_STREAMING 0
#endif

static_assert(KWS_INPUT_FEATURES == KWS_FRONTEND_N_MFCC,
              "model_settings.h and frontend_tables.h come from different runs (feature count)");
#if KWS_STREAMING
// Input 0 of a step model holds the new frames only.
#define KWS_MODEL_INPUT_FRAMES KWS_STEP_FRAMES
#ifndef KWS_STATE_BYTES
#error "model_settings.h of a step model lacks KWS_STATE_BYTES: re-run `dadarts export RUN --int8 --streaming`"
#endif
namespace {
constexpr int kStateBytes[KWS_NUM_STATES] = KWS_STATE_BYTES;   // bytes of each state, in KWS_STATE_INPUTS' order
constexpr int total_state_bytes()
{
    int total = 0;
    for (int b : kStateBytes) {
        total += b;
    }
    return total;
}
}  // namespace
#else
#define KWS_MODEL_INPUT_FRAMES KWS_INPUT_FRAMES
static_assert(KWS_INPUT_FRAMES == KWS_FRONTEND_N_FRAMES,
              "model_settings.h and frontend_tables.h come from different runs (frame count)");
#endif
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

#if KWS_STREAMING
const int state_input_index[KWS_NUM_STATES] = KWS_STATE_INPUTS;
const int state_output_index[KWS_NUM_STATES] = KWS_STATE_OUTPUTS;
// Where each state lives: its input and output tensors' data (fixed once the arena is planned), its
// bytes, zero point and place in the staging buffer.
struct State {
    int8_t *input;
    const int8_t *output;
    size_t bytes, offset;
    int8_t zero_point;
};
State states[KWS_NUM_STATES];
alignas(4) int8_t state_stage[total_state_bytes()];
uint32_t state_cycles;

// Checks the step model's states against model_settings.h. Returns 0, or -1 with a message.
int map_states()
{
    size_t offset = 0;
    for (int i = 0; i < KWS_NUM_STATES; i++) {
        const int in_index = state_input_index[i], out_index = state_output_index[i];
        if (in_index <= 0 || (size_t)in_index >= interpreter->inputs_size() || out_index <= 0 ||
            (size_t)out_index >= interpreter->outputs_size()) {
            std::printf("kws: state %d maps input %d to output %d, which the model does not have: re-run the export\n",
                        i, in_index, out_index);
            return -1;
        }
        TfLiteTensor *in = interpreter->input(in_index);
        const TfLiteTensor *out = interpreter->output(out_index);
        if (in->type != kTfLiteInt8 || out->type != kTfLiteInt8 || in->bytes != out->bytes ||
            in->bytes != (size_t)kStateBytes[i] ||
            in->params.zero_point != out->params.zero_point || in->params.scale != out->params.scale) {
            std::printf("kws: state %d: input %d and output %d differ in type, size or quantisation: re-run the export\n",
                        i, in_index, out_index);
            return -1;
        }
        states[i] = State{in->data.int8, out->data.int8, in->bytes, offset, (int8_t)in->params.zero_point};
        offset += in->bytes;
    }
    return 0;
}
#endif

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
    if (in->type != kTfLiteInt8 || in->bytes != (size_t)KWS_MODEL_INPUT_FRAMES * KWS_INPUT_FEATURES ||
        in->params.zero_point != KWS_INPUT_ZERO_POINT || out->type != kTfLiteInt8 ||
        out->bytes != (size_t)KWS_NUM_LABELS) {
        std::printf("kws: the model's tensors do not match model_settings.h: re-run the export\n");
        return -1;
    }
#if KWS_STREAMING
    if (map_states() != 0) {
        return -1;
    }
    kws_model_reset_states();
#endif
    return 0;
}

extern "C" void kws_model_reset_states(void)
{
#if KWS_STREAMING
    for (const State &s : states) {
        std::memset(state_stage + s.offset, s.zero_point, s.bytes);
    }
#endif
}

extern "C" uint32_t kws_model_state_bytes(void)
{
#if KWS_STREAMING
    return total_state_bytes();
#else
    return 0;
#endif
}

extern "C" uint32_t kws_model_state_cycles(void)
{
#if KWS_STREAMING
    return state_cycles;
#else
    return 0;
#endif
}

extern "C" int8_t *kws_model_input(void)
{
    return interpreter->input(0)->data.int8;
}

extern "C" int kws_model_invoke(void)
{
#if KWS_STREAMING
    const uint32_t t0 = board_cycles();
    for (const State &s : states) {
        std::memcpy(s.input, state_stage + s.offset, s.bytes);
    }
    const uint32_t before = board_cycles() - t0;
    if (interpreter->Invoke() != kTfLiteOk) {
        return -1;
    }
    const uint32_t t1 = board_cycles();
    for (const State &s : states) {
        std::memcpy(state_stage + s.offset, s.output, s.bytes);
    }
    state_cycles = before + (board_cycles() - t1);
    return 0;
#else
    return interpreter->Invoke() == kTfLiteOk ? 0 : -1;
#endif
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
