"""Flash and RAM of the KWS firmware on a target, term by term.

flash = model bytes + TFLM core + kernel code of the ops the model uses (with CMSIS-NN's functions)
        + board and libc + front-end code and tables + application
RAM   = TFLM arena as the firmware reserves it (the measured arena + ARENA_MARGIN, rounded up to
        ARENA_ROUND; the export writes that size into model_settings.h) + CMSIS-NN scratch + front-end
        state + feature ring + audio ring + the stacks and heap the linker script reserves + application
        and board data

TFLM core, per-op kernel and board/libc code sizes are measured per core and library by
benchmarks/measure_op_counts.py (TFLM's own -Os/-O2 builds, --gc-sections; see code_table). The
stack and heap terms are what firmware/boards/cortex_m/sections.ld reserves (8 KiB of stacks, the
high-water mark on the emulated STM32F405 was 1.6 KB; 1 KiB of heap), the audio ring what
firmware/boards/cortex_m/pcm_ring.h declares (tests/test_costmodel_memory_terms.py reads both files). Front-end tables and state are exact: computed
from the same generator the firmware uses. docs/mcu_eval.md has the numbers.
"""
from __future__ import annotations

from ..frontend.spec import MfccConfig
from .kernels import CMSIS_DSP, CMSIS_MVE, CMSIS_SCALAR, REFERENCE, coefficients
from .layer import Layer

KB = 1024

# Code sizes are measured (coefficients.json "flash", from data/code_sizes.json): the flash (text +
# data) of firmware/tools/op_profiler/code_size_app.cc linked per core and kernel library with no op
# (TFLM's core), with each op alone (what registering it adds: its TFLM kernel and, with CMSIS-NN, the
# library functions it reaches), and the board alone (startup, semihosting, newlib-nano). A model's
# kernels are the sum of its ops' increments less the code every op shares (fitted on the measured
# models' op sets linked together), counted once; the benchmark checks it on held-out models.
# The application's own code, from the linker map of the whole firmware on the STM32F405 (the README's
# main-job model, `python benchmarks/bench_firmware_sizes.py --run runs/floor`, firmware_sizes.json):
# "front-end" 8,754 B less its generated tables (6,566 B, frontend_table_bytes) and "application"
# (main loop, feature provider, model runner, recogniser). Board drivers and libc are board_and_libc.
# These and APPLICATION_RAM_BYTES are read from that one build, so its own firmware check is not a
# held-out test of them; any other run's `dadarts firmware check` is.
FRONTEND_CODE_BYTES = 2188             # kws_frontend.c (FFT, mel, log, DCT), -O2
APPLICATION_BYTES = 3455               # firmware/app/ without the front-end

STACK_BYTES = 8 * KB                   # the two stacks of firmware/boards/cortex_m/sections.ld, 7 + 1 KiB (reserved, not used)
HEAP_BYTES = 1 * KB                    # .heap of sections.ld (__heap_size 0x400; newlib's malloc, _sbrk in heap.c)
AUDIO_RING_BYTES = 2 * 2048 + 16       # pcm_ring_t: PCM_RING_SAMPLES int16 and head/tail (cortex_m/pcm_ring.h)

# The firmware's tensor arena: the arena measured with the tflite-micro interpreter on the 64-bit host
# plus a margin for the 32-bit layout and padding, rounded up (dadarts export writes this size as
# KWS_TENSOR_ARENA_SIZE; on the emulated STM32F405 the README's model used 54.5 of its 68 KiB).
ARENA_MARGIN = 1.10
ARENA_ROUND = 1024


def arena_reserve_bytes(arena_bytes: int) -> int:
    """Bytes the firmware reserves for a tensor arena measured (or planned) at `arena_bytes`."""
    padded = int(arena_bytes * ARENA_MARGIN)
    return -(-padded // ARENA_ROUND) * ARENA_ROUND
# Data of the application and board not in another term: recogniser history, the interpreter and
# resolver objects, the UART block and clock state of the board, TFLM's and libc's statics. From the
# linker map of the STM32F405 build (benchmarks/results/firmware_sizes.json, ram_by_part): application +
# board + TFLM + C/C++ runtime, less front-end state, feature ring and audio ring, which have terms.
APPLICATION_RAM_BYTES = 3960


def code_table(library: str, core: str | None = None) -> dict:
    """The measured code sizes of (core, library), or of the library's stand-in build."""
    flash = coefficients()["flash"]
    key = f"{core}/{library}"
    return flash[key] if key in flash else flash[coefficients()["stand_in"][library]]


def kernel_code_bytes(op_names: list[str], library: str, core: str | None = None) -> int:
    """Flash of the kernels (and CMSIS-NN functions) of the distinct ops a model uses: their single-op
    increments, less the code they share counted once for every op but the first."""
    table = code_table(library, core)
    sizes = [table["op_bytes"].get(op, table["unmeasured_op_bytes"]) for op in dict.fromkeys(op_names)]
    if not sizes:
        return 0
    return max(sum(sizes) - (len(sizes) - 1) * table["shared_op_bytes"], max(sizes))


def frontend_table_bytes(config: MfccConfig) -> int:
    """Bytes of the generated front-end tables (dadarts.frontend.fixed.make_tables) for `config`."""
    from ..frontend.fixed import make_tables
    # Table sizes depend only on the configuration, not on the normalisation values.
    t = make_tables(config, [0.0] * config.n_mfcc, [1.0] * config.n_mfcc, 0.1, 0)
    arrays = (t.window_q31, t.twiddle_cos, t.twiddle_sin, t.bitrev, t.mel_start, t.mel_length,
              t.mel_weights, t.dct_q15, t.log2_table, t.norm_mult, t.norm_shift, t.norm_bias)
    return int(sum(a.nbytes for a in arrays)) + 64      # + the kws_frontend_tables_t struct


def feature_ring_bytes(config: MfccConfig) -> int:
    """The feature provider's ring: the model input's int8 frames."""
    return config.n_frames * config.n_mfcc


def frontend_state_bytes(config: MfccConfig) -> int:
    """kws_frontend_t sized for this configuration (KWS_FE_MAX_* set to its window/FFT/mels)."""
    return 16 + 2 * config.window + 8 * (config.n_fft // 2 + 1) + 4 * config.n_mels


def cmsis_scratch_bytes(layers: list[Layer], library: str) -> int:
    """Largest CMSIS-NN scratch buffer (TFLM plans one per op; the largest bounds the extra)."""
    if library == REFERENCE:
        return 0
    best = 0
    for layer in layers:
        kh, kw = (layer.kernel + [1, 1])[:2]
        if layer.op == "CONV_2D":
            fast_1x1 = layer.kernel == [1, 1] and layer.stride in ([1, 1], []) and layer.in_ch % 4 == 0
            # arm_convolve_s8_get_buffer_size: im2col of two columns as int16.
            need = 0 if fast_1x1 else 2 * layer.in_ch * kh * kw * 2
        elif layer.op == "DEPTHWISE_CONV_2D" and layer.multiplier == 1 and library in (CMSIS_DSP, CMSIS_MVE):
            # arm_depthwise_conv_s8_opt_get_buffer_size: one int16 im2col column (MVE: 4 columns int8).
            three = layer.kernel == [3, 3] and library == CMSIS_DSP
            need = 0 if three else (layer.in_ch * kh * kw * (2 if library == CMSIS_DSP else 4))
        elif layer.op == "FULLY_CONNECTED" and library == CMSIS_MVE:
            need = 4 * layer.out_ch      # kernel sums
        elif layer.op in ("AVERAGE_POOL_2D",) and library != CMSIS_SCALAR:
            need = 4 * layer.in_ch       # int32 accumulators per channel
        else:
            need = 0
        best = max(best, need)
    return best


def flash_terms(model_bytes: int, op_names: list[str], config: MfccConfig | None, library: str,
                core: str | None = None) -> dict[str, int]:
    """Flash term by term; without a configuration (a model whose front-end is unknown) no front-end terms."""
    table = code_table(library, core)
    terms = {
        "model": int(model_bytes),
        "tflm_core": table["tflm_core_bytes"],
        "kernels": kernel_code_bytes(op_names, library, core),
        "board_and_libc": table["board_and_libc_bytes"],
        "application": APPLICATION_BYTES,
    }
    if config is not None:
        terms |= {"frontend_code": FRONTEND_CODE_BYTES, "frontend_tables": frontend_table_bytes(config)}
    return terms


def ram_terms(arena_bytes: int, layers: list[Layer], config: MfccConfig | None, library: str) -> dict[str, int]:
    """RAM term by term; without a configuration no front-end terms. `arena_bytes` is the arena as
    measured or planned; the term is what the firmware reserves for it."""
    terms = {
        "tflm_arena": arena_reserve_bytes(arena_bytes),
        "cmsis_scratch": cmsis_scratch_bytes(layers, library),
        "stack": STACK_BYTES,
        "heap": HEAP_BYTES,
        "application": APPLICATION_RAM_BYTES,
    }
    if config is not None:
        terms |= {"frontend_state": frontend_state_bytes(config),
                  "feature_ring": feature_ring_bytes(config),
                  "audio_ring": AUDIO_RING_BYTES}                     # samples between the ISR and the main loop
    return terms



# TFLite Micro's arena: the activations, placed by its GreedyMemoryPlanner (the "head"), and
# persistent data (the "tail": tensor and node structs, per-channel quantisation, kernel data).
ARENA_ALIGNMENT = 16


def _align(n: int) -> int:
    return -(-int(n) // ARENA_ALIGNMENT) * ARENA_ALIGNMENT


def tensor_lifetimes(graph) -> list[tuple[int, int, int]]:
    """(bytes, first op, last op) of every int8 activation of a costmodel.network.NetGraph, in tensor
    order, as TFLM's allocation info records them (graph inputs from op 0, outputs to the last op)."""
    first = {t: 0 for t in graph.inputs}
    last: dict[int, int] = {}
    for i, op in enumerate(graph.ops):
        first.setdefault(op.output, i)
        for t in op.inputs:
            last[t] = i
    end = len(graph.ops) - 1
    for t in graph.outputs:
        last[t] = end
    return [(_align(graph.tensors[t]), first[t], last.get(t, first[t])) for t in sorted(first)]


def greedy_plan(buffers: list[tuple[int, int, int]]) -> int:
    """Bytes TFLM's GreedyMemoryPlanner needs for `buffers` (size, first use, last use).

    The algorithm of tensorflow/lite/micro/memory_planner/greedy_memory_planner.cc: buffers by
    decreasing size (equal sizes: the later-listed first, as TFLM fills its sort array from the
    tail), each at the lowest offset where it overlaps in neither time nor space any buffer placed
    before it.
    """
    order = sorted(range(len(buffers)), key=lambda i: (-buffers[i][0], -i))
    placed: list[tuple[int, int, int, int]] = []        # (offset, size, first, last), by offset
    top = 0
    for i in order:
        size, first, last = buffers[i]
        offset = 0
        for p_off, p_size, p_first, p_last in placed:
            if p_first > last or first > p_last:
                continue                                   # not alive at the same time
            if p_off - offset >= size:
                break                                      # fits in the gap before this one
            offset = max(offset, p_off + p_size)
        placed.append((offset, size, first, last))
        placed.sort()
        top = max(top, offset + size)
    return top


# Persistent arena bytes, as the tflite-micro interpreter (64-bit host) records them in its
# RecordingMicroAllocator breakdown: one TfLiteEvalTensor (24 B) per tensor, one NodeAndRegistration
# (64 B) per operator, per-channel requantisation (int32 multiplier + shift) and the OpData of each
# conv / depthwise / fully connected (~130 B), a little per-op data, a fixed part. Read off the
# breakdowns of exported searched networks (docs/mcu_eval.md); tests compare with measure_arena.
TAIL_PER_TENSOR = 24
TAIL_PER_OP = 64 + 15
TAIL_PER_CHANNEL = 8
TAIL_PER_MAC_OP = 130
TAIL_FIXED = 840
CONSTANT_TENSORS = {"CONV_2D": 2, "DEPTHWISE_CONV_2D": 2, "FULLY_CONNECTED": 2, "MEAN": 1, "PAD": 1,
                    "MIRROR_PAD": 1, "STRIDED_SLICE": 3}
MAC_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")
# Flatbuffer bytes beyond the weights: per tensor (name, shape, quantisation table header), per output
# channel of a MAC op (float scale + int64 zero point of the weight and of the bias), fixed header.
FLATBUFFER_PER_TENSOR = 185
FLATBUFFER_PER_CHANNEL = 24
FLATBUFFER_FIXED = 1024


def graph_counts(layers: list[Layer], activations: int) -> dict[str, int]:
    constants = sum(CONSTANT_TENSORS.get(layer.op, 0) for layer in layers)
    mac = [layer for layer in layers if layer.op in MAC_OPS]
    return {"ops": len(layers), "tensors": activations + constants, "mac_ops": len(mac),
            "channels": sum(layer.out_ch for layer in mac), "weight_bytes": sum(layer.weight_bytes for layer in layers)}


def arena_tail_bytes(counts: dict[str, int]) -> int:
    return (TAIL_PER_TENSOR * counts["tensors"] + TAIL_PER_OP * counts["ops"] + TAIL_PER_CHANNEL * counts["channels"]
            + TAIL_PER_MAC_OP * counts["mac_ops"] + TAIL_FIXED)


def model_bytes_estimate(counts: dict[str, int], fixed: bool = True) -> int:
    """Bytes of the .tflite; without the fixed header for a part of a graph (an edge's ops)."""
    return (counts["weight_bytes"] + FLATBUFFER_PER_TENSOR * counts["tensors"]
            + FLATBUFFER_PER_CHANNEL * counts["channels"] + (FLATBUFFER_FIXED if fixed else 0))
