# QEMU mps2-an500 (Cortex-M7 at 25 MHz; ARM AN500, the Cortex-M7 image of the MPS2 board):
# semihosting console and files, SysTick cycle counter. mps2_an386's board with another core, clock and
# memory map: its board.c and vectors.c are shared, the linker script is this board's. The op profiler
# (firmware/tools/op_profiler, benchmarks/measure_op_counts.py) runs on it:
#   qemu-system-arm -M mps2-an500 -nographic -monitor none -serial null -icount shift=0,sleep=off \
#     -semihosting-config enable=on,target=native,arg=op_profiler,arg=model.tflite -kernel op_profiler.elf
include("${KWS_BOARDS_DIR}/cortex_m/cortex_m.cmake")
kws_cortex_m_board(SEMIHOSTING
  LINKER_SCRIPT "${CMAKE_CURRENT_LIST_DIR}/mps2_an500.ld"
  SOURCES "${KWS_BOARDS_DIR}/mps2_an386/board.c" "${KWS_BOARDS_DIR}/mps2_an386/vectors.c"
          "${KWS_APP_DIR}/audio_provider_wav.c")
target_compile_definitions(kws_board PRIVATE KWS_QEMU_CORE_HZ=25000000u "KWS_QEMU_BOARD_NAME=\"mps2-an500 (QEMU, Cortex-M7)\"")
