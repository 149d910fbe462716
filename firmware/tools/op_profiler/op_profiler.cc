// Operator profiler: executed instructions of every operator of one TFLite Micro Invoke, on QEMU.
//
//   qemu-system-arm -M mps2-an386 -icount shift=0 -nographic -semihosting-config enable=on,arg=... \
//       -kernel op_profiler.elf                    (semihosting args: op_profiler MODEL.tflite)
//   ... arg=op_profiler,--check                    (the counter against loops of known length)
//
// Loads the .tflite through semihosting, registers every builtin op an int8 model is likely to use,
// and runs the model twice over: an interpreter without a profiler gives the whole Invoke, a second
// one with a MicroProfilerInterface gives each operator (TFLM calls BeginEvent/EndEvent around every
// kernel's Invoke unless it is built with TF_LITE_STRIP_ERROR_STRINGS). Each interpreter runs one
// warm-up Invoke first. The input is a fixed pseudo-random int8 pattern (kernel costs do not depend
// on the values). Counting: insn_counter.h. With a CMSIS-NN library (OP_PROFILER_CMSIS_NN), each
// operator also names the CMSIS-NN kernels it called (cmsis_kernels.S). Output, one fact per line,
// read by benchmarks/measure_op_counts.py:
//
//   counter insn_per_tick_milli 40000 event_overhead 61
//   invoke 7701280                   whole Invoke, no profiler attached
//   arena_used 22756
//   op 0 CONV_2D 1234567 arm_convolve_s8      one line per operator, event overhead removed
//   invoke_profiled 7712345
//   done
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>

#include "board.h"
#include "insn_counter.h"
#include "tensorflow/lite/micro/micro_interpreter.h"
#include "tensorflow/lite/micro/micro_mutable_op_resolver.h"
#include "tensorflow/lite/micro/micro_profiler_interface.h"
#include "tensorflow/lite/schema/schema_generated.h"
#if __has_include("tensorflow/lite/micro/cortex_m_generic/debug_log_callback.h")
#include "tensorflow/lite/micro/cortex_m_generic/debug_log_callback.h"
#define OP_PROFILER_LOG_CALLBACK 1
#endif

namespace {

constexpr int kMaxEvents = 1024;
constexpr int kNumOps = 48;

// Names of the kernels cmsis_kernels.S numbers, in its order.
const char *const kKernelNames[] = {
    "arm_convolve_1x1_s8_fast", "arm_convolve_1x1_s8",     "arm_convolve_1_x_n_s8",
    "arm_convolve_s8",          "arm_depthwise_conv_3x3_s8", "arm_depthwise_conv_s8_opt",
    "arm_depthwise_conv_s8",    "arm_fully_connected_s8",  "arm_fully_connected_per_channel_s8",
    "arm_avgpool_s8",           "arm_max_pool_s8",         "arm_elementwise_add_s8",
    "arm_elementwise_mul_s8",   "arm_softmax_s8",          "arm_pad_s8",
    "arm_transpose_s8",         "arm_batch_matmul_s8",     "arm_maximum_s8",
    "arm_minimum_s8",
};
constexpr uint32_t kNumKernels = sizeof(kKernelNames) / sizeof(kKernelNames[0]);

// Every event's instruction count, in the order TFLM reports them (operator order of the subgraph).
class InsnProfiler : public tflite::MicroProfilerInterface {
 public:
  uint32_t BeginEvent(const char *tag) override {
    if (count_ >= kMaxEvents) {
      return kMaxEvents;
    }
    tags_[count_] = tag;
    kernels_[count_] = 0;
    open_ = count_;
    marks_[count_] = insn_begin();
    return count_++;
  }
  void EndEvent(uint32_t handle) override {
    if (handle < kMaxEvents) {
      insns_[handle] = insn_end(marks_[handle]);
    }
    open_ = -1;
  }
  void NoteKernel(uint32_t id) {
    if (open_ >= 0 && id < kNumKernels) {
      kernels_[open_] |= 1u << id;
    }
  }
  void Reset() { count_ = 0; }
  int count() const { return count_; }
  const char *tag(int i) const { return tags_[i]; }
  uint64_t insns(int i) const { return insns_[i]; }
  uint32_t kernels(int i) const { return kernels_[i]; }

 private:
  int count_ = 0;
  int open_ = -1;
  const char *tags_[kMaxEvents] = {};
  uint64_t marks_[kMaxEvents] = {};
  uint64_t insns_[kMaxEvents] = {};
  uint32_t kernels_[kMaxEvents] = {};
};

InsnProfiler profiler;

void print_u64(const char *before, uint64_t v, const char *after) {
  char digits[24];
  int n = 0;
  do {
    digits[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v);
  std::fputs(before, stdout);
  while (n) {
    std::putchar(digits[--n]);
  }
  std::fputs(after, stdout);
}

// 16-byte aligned heap memory (flatbuffers and the arena want it; newlib's C++ has no std::aligned_alloc).
uint8_t *alloc16(size_t bytes) {
  auto *raw = static_cast<uint8_t *>(std::malloc(bytes + 15));
  return raw ? reinterpret_cast<uint8_t *>((reinterpret_cast<uintptr_t>(raw) + 15) & ~uintptr_t{15}) : nullptr;
}

uint8_t *read_file(const char *path, long *size) {
  FILE *f = std::fopen(path, "rb");
  if (!f) {
    return nullptr;
  }
  std::fseek(f, 0, SEEK_END);
  *size = std::ftell(f);
  std::fseek(f, 0, SEEK_SET);
  uint8_t *buf = alloc16(static_cast<size_t>(*size));
  if (buf && std::fread(buf, 1, static_cast<size_t>(*size), f) != static_cast<size_t>(*size)) {
    buf = nullptr;
  }
  std::fclose(f);
  return buf;
}

void register_ops(tflite::MicroMutableOpResolver<kNumOps> &r) {
  r.AddAdd();
  r.AddAveragePool2D();
  r.AddBatchMatMul();
  r.AddConcatenation();
  r.AddConv2D();
  r.AddDepthwiseConv2D();
  r.AddDequantize();
  r.AddExpandDims();
  r.AddFullyConnected();
  r.AddHardSwish();
  r.AddLeakyRelu();
  r.AddLogistic();
  r.AddMaximum();
  r.AddMaxPool2D();
  r.AddMean();
  r.AddMinimum();
  r.AddMirrorPad();
  r.AddMul();
  r.AddPack();
  r.AddPad();
  r.AddPadV2();
  r.AddQuantize();
  r.AddReduceMax();
  r.AddRelu();
  r.AddRelu6();
  r.AddReshape();
  r.AddShape();
  r.AddSlice();
  r.AddSoftmax();
  r.AddSplit();
  r.AddSplitV();
  r.AddSqueeze();
  r.AddStridedSlice();
  r.AddSub();
  r.AddSum();
  r.AddTanh();
  r.AddTranspose();
  r.AddTransposeConv();
  r.AddUnpack();
}

void fill_inputs(tflite::MicroInterpreter &interpreter) {
  uint32_t state = 12345u;
  for (size_t i = 0; i < interpreter.inputs_size(); i++) {
    TfLiteTensor *t = interpreter.input(i);
    auto *bytes = reinterpret_cast<uint8_t *>(t->data.raw);
    for (size_t j = 0; j < t->bytes; j++) {
      state = state * 1664525u + 1013904223u;
      bytes[j] = static_cast<uint8_t>(state >> 24);
    }
  }
}

// The instructions a profiler event adds around the kernel it times: an empty event through the
// same virtual calls TFLM makes.
uint64_t event_overhead() {
  tflite::MicroProfilerInterface *interface = &profiler;
  uint64_t best = UINT64_MAX;
  for (int i = 0; i < 8; i++) {
    const uint32_t handle = interface->BeginEvent("empty");
    interface->EndEvent(handle);
    const uint64_t n = profiler.insns(static_cast<int>(handle));
    best = n < best ? n : best;
  }
  profiler.Reset();
  return best;
}

int check_counter() {
  // Lengths that walk every phase of the tick (P = 31.25..50) and a few long ones.
  static const uint32_t lengths[] = {0,  1,  2,  3,  4,   5,   6,   7,   8,   9,    10,    11,    12,     13,
                                     17, 23, 31, 40, 41,  49,  50,  63,  64,  99,   100,   101,   1000,   1001,
                                     4099, 65536, 100001, 1000000, 16777217, 100000000};
  for (uint32_t n : lengths) {
    print_u64("check ", n, " ");
    print_u64("", insn_measure_known_loop(n), "\n");
  }
  std::puts("done");
  return 0;
}

}  // namespace

// Called by the trampolines of cmsis_kernels.S with the number of the kernel about to run.
extern "C" void op_profiler_note_kernel(uint32_t id) { profiler.NoteKernel(id); }

int main(int argc, char **argv) {
  if (board_init() != 0) {
    return 2;
  }
  insn_counter_start();
#ifdef OP_PROFILER_LOG_CALLBACK
  // TFLM's cortex_m_generic port prints its errors (an unsupported op, a bad model) through a callback.
  RegisterDebugLogCallback([](const char *text) { std::fputs(text, stdout); });
#endif
  if (argc >= 2 && std::strcmp(argv[1], "--check") == 0) {
    print_u64("counter insn_per_tick_milli ", insn_per_tick_milli(), "\n");
    return check_counter();
  }
  if (argc < 2) {
    std::puts("usage: op_profiler MODEL.tflite [ARENA_BYTES] (semihosting args), or op_profiler --check");
    return 2;
  }
  long size = 0;
  const uint8_t *data = read_file(argv[1], &size);
  if (!data) {
    std::printf("error cannot read %s\n", argv[1]);
    return 2;
  }
  const tflite::Model *model = tflite::GetModel(data);
  if (model->version() != TFLITE_SCHEMA_VERSION) {
    std::printf("error model schema %lu, this TFLM reads %d\n", static_cast<unsigned long>(model->version()),
                TFLITE_SCHEMA_VERSION);
    return 2;
  }
  static tflite::MicroMutableOpResolver<kNumOps> resolver;
  register_ops(resolver);
  const size_t arena_size = argc >= 3 ? static_cast<size_t>(std::atol(argv[2])) : (2u << 20);
  uint8_t *arena = alloc16(arena_size);
  if (!arena) {
    std::printf("error no room for an arena of %lu bytes\n", static_cast<unsigned long>(arena_size));
    return 2;
  }
  const uint64_t overhead = event_overhead();
  print_u64("counter insn_per_tick_milli ", insn_per_tick_milli(), " ");
  print_u64("event_overhead ", overhead, "\n");

  // Interpreters live in static storage, one after the other, over the same arena.
  alignas(tflite::MicroInterpreter) static uint8_t slot[sizeof(tflite::MicroInterpreter)];
  for (int pass = 0; pass < 2; pass++) {
    auto *interpreter = new (slot) tflite::MicroInterpreter(model, resolver, arena, arena_size, nullptr,
                                                             pass == 1 ? &profiler : nullptr);
    if (interpreter->AllocateTensors() != kTfLiteOk) {
      std::printf("error AllocateTensors failed: an op is not supported or the arena of %lu bytes is too small\n",
                  static_cast<unsigned long>(arena_size));
      return 2;
    }
    fill_inputs(*interpreter);
    if (interpreter->Invoke() != kTfLiteOk) {
      std::puts("error Invoke failed");
      return 2;
    }
    profiler.Reset();
    const uint64_t mark = insn_begin();
    const TfLiteStatus status = interpreter->Invoke();
    const uint64_t total = insn_end(mark);
    if (status != kTfLiteOk) {
      std::puts("error Invoke failed");
      return 2;
    }
    if (pass == 0) {
      print_u64("invoke ", total, "\n");
      print_u64("arena_used ", interpreter->arena_used_bytes(), "\n");
    } else {
      for (int i = 0; i < profiler.count(); i++) {
        const uint64_t n = profiler.insns(i);
        print_u64("op ", static_cast<uint64_t>(i), " ");
        std::fputs(profiler.tag(i), stdout);
        print_u64(" ", n > overhead ? n - overhead : 0, "");
        for (uint32_t k = 0; k < kNumKernels; k++) {
          if (profiler.kernels(i) & (1u << k)) {
            std::putchar(' ');
            std::fputs(kKernelNames[k], stdout);
          }
        }
        std::putchar('\n');
      }
      print_u64("invoke_profiled ", total, "\n");
    }
    std::destroy_at(interpreter);
  }
  std::puts("done");
  return 0;
}
