// Code size probe: the smallest TFLite Micro application that runs a model with exactly the builtin ops
// listed in CODE_SIZE_OPS (an X-macro list of MicroMutableOpResolver Add* names, each with the registration
// the firmware's resolver passes, e.g. X(Conv2D, tflite::Register_CONV_2D_INT8()) X(Relu, ): the int8-only
// kernels where TFLM has them, as dadarts/export/resolver.py registers them for an int8 model),
// so that its link map and `size` give what those ops add to the flash. benchmarks/measure_op_counts.py
// links it with no op (TFLM's core), with one op at a time, and with the op set of each measured model.
// Built with CODE_SIZE_NO_TFLM it is the board alone (startup, semihosting, libc).
#include <cstdint>
#include <cstdio>

#include "board.h"

#ifndef CODE_SIZE_NO_TFLM
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

#ifndef CODE_SIZE_OPS
#define CODE_SIZE_OPS
#endif

namespace {
#define X(op, registration) +1
constexpr int kNumOps = 0 CODE_SIZE_OPS;
#undef X
alignas(16) uint8_t arena[16 * 1024];
}  // namespace
#endif

int main(int argc, char **argv) {
  board_init();
  if (argc < 2) {
    return 1;
  }
  // The model comes from outside (a semihosting argument naming a file mapped by the caller), so that
  // the compiler cannot drop the interpreter.
  FILE *f = std::fopen(argv[1], "rb");
  if (!f) {
    return 1;
  }
  static uint8_t data[4096];
  const size_t n = std::fread(data, 1, sizeof(data), f);
  std::fclose(f);
#ifdef CODE_SIZE_NO_TFLM
  return static_cast<int>(n & 1u);
#else
  static tflite::MicroMutableOpResolver<kNumOps + 1> resolver;
#define X(op, registration) resolver.Add##op(registration);
  CODE_SIZE_OPS
#undef X
  tflite::MicroInterpreter interpreter(tflite::GetModel(data), resolver, arena, sizeof(arena));
  if (n == 0 || interpreter.AllocateTensors() != kTfLiteOk) {
    return 1;
  }
  return interpreter.Invoke() == kTfLiteOk ? 0 : 1;
#endif
}
