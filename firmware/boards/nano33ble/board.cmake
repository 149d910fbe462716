# Arduino Nano 33 BLE Sense (nRF52840, Cortex-M4F, 1 MiB flash - 64 KiB bootloader, 256 KiB RAM):
# register-level board, PDM microphone provider. Built in CI, not run (QEMU emulates no nRF52840).
include("${KWS_BOARDS_DIR}/cortex_m/cortex_m.cmake")
kws_cortex_m_board(
  LINKER_SCRIPT "${CMAKE_CURRENT_LIST_DIR}/nano33ble.ld"
  SOURCES "${CMAKE_CURRENT_LIST_DIR}/board.c" "${CMAKE_CURRENT_LIST_DIR}/vectors.c"
          "${CMAKE_CURRENT_LIST_DIR}/audio_provider_pdm.c" "${KWS_CORTEX_M_DIR}/audio_ring.c")
target_include_directories(kws_board PUBLIC "${CMAKE_CURRENT_LIST_DIR}")
set(KWS_BOARD_HAS_LINK TRUE)
option(KWS_WATCHDOG "start the watchdog (about 2 s), refreshed once per hop of audio" ON)
if(KWS_WATCHDOG)
  target_compile_definitions(kws_board PRIVATE KWS_WATCHDOG)
endif()
