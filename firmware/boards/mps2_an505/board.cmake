# QEMU mps2-an505 (Cortex-M33 at 20 MHz; ARM AN505, the Cortex-M33 IoT Kit image of the MPS2 board, Secure state):
# semihosting console and files, SysTick cycle counter. mps2_an386's board with another core, clock and
# memory map: its board.c and vectors.c are shared, the linker script is this board's. The op profiler
# (firmware/tools/op_profiler, benchmarks/measure_op_counts.py) runs on it:
#   qemu-system-arm -M mps2-an505 -nographic -monitor none -serial null -icount shift=0,sleep=off \
#     -semihosting-config enable=on,target=native,arg=op_profiler,arg=model.tflite -kernel op_profiler.elf
include("${KWS_BOARDS_DIR}/cortex_m/cortex_m.cmake")
kws_cortex_m_board(SEMIHOSTING
  LINKER_SCRIPT "${CMAKE_CURRENT_LIST_DIR}/mps2_an505.ld"
  SOURCES "${KWS_BOARDS_DIR}/mps2_an386/board.c" "${KWS_BOARDS_DIR}/mps2_an386/vectors.c"
          "${KWS_APP_DIR}/audio_provider_wav.c")
target_compile_definitions(kws_board PRIVATE KWS_QEMU_CORE_HZ=20000000u "KWS_QEMU_BOARD_NAME=\"mps2-an505 (QEMU, Cortex-M33)\"")
