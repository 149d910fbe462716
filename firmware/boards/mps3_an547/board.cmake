# QEMU mps3-an547 (Cortex-M55 at 32 MHz; ARM AN547, the Cortex-M55 (Helium) SSE-300 image of the MPS3 board):
# semihosting console and files, SysTick cycle counter. mps2_an386's board with another core, clock and
# memory map: its board.c and vectors.c are shared, the linker script is this board's. The op profiler
# (firmware/tools/op_profiler, benchmarks/measure_op_counts.py) runs on it:
#   qemu-system-arm -M mps3-an547 -nographic -monitor none -serial null -icount shift=0,sleep=off \
#     -semihosting-config enable=on,target=native,arg=op_profiler,arg=model.tflite -kernel op_profiler.elf
include("${KWS_BOARDS_DIR}/cortex_m/cortex_m.cmake")
kws_cortex_m_board(SEMIHOSTING
  LINKER_SCRIPT "${CMAKE_CURRENT_LIST_DIR}/mps3_an547.ld"
  SOURCES "${KWS_BOARDS_DIR}/mps2_an386/board.c" "${KWS_BOARDS_DIR}/mps2_an386/vectors.c"
          "${KWS_APP_DIR}/audio_provider_wav.c")
target_compile_definitions(kws_board PRIVATE KWS_QEMU_CORE_HZ=32000000u "KWS_QEMU_BOARD_NAME=\"mps3-an547 (QEMU, Cortex-M55)\"")
