# QEMU mps2-an386 (Cortex-M4F, 4 MiB code + 4 MiB RAM): semihosting console and files, SysTick timer.
#   qemu-system-arm -M mps2-an386 -nographic -monitor none -serial null -icount shift=0,sleep=off \
#     -semihosting-config enable=on,target=native,arg=kws_app,arg=word.wav -kernel kws_app.elf
include("${KWS_BOARDS_DIR}/cortex_m/cortex_m.cmake")
kws_cortex_m_board(SEMIHOSTING
  LINKER_SCRIPT "${CMAKE_CURRENT_LIST_DIR}/mps2_an386.ld"
  SOURCES "${CMAKE_CURRENT_LIST_DIR}/board.c" "${CMAKE_CURRENT_LIST_DIR}/vectors.c" "${KWS_APP_DIR}/audio_provider_wav.c")
