# STM32F4 family part of a board.cmake: the shared STM32F4 sources plus the board's board_config.c and
# linker script, and the audio provider chosen with -DKWS_AUDIO=uart|i2s.
#   kws_stm32f4_board(IRQS 82 LINKER_SCRIPT file.ld CONFIG board_config.c DEFAULT_AUDIO uart)
include("${KWS_BOARDS_DIR}/cortex_m/cortex_m.cmake")
set(KWS_STM32F4_DIR "${CMAKE_CURRENT_LIST_DIR}")

function(kws_stm32f4_board)
  cmake_parse_arguments(B "" "IRQS;LINKER_SCRIPT;CONFIG;DEFAULT_AUDIO" "" ${ARGN})
  set(KWS_AUDIO "${B_DEFAULT_AUDIO}" CACHE STRING "audio provider: uart (PCM streamed into a UART) or i2s (I2S microphone)")
  set_property(CACHE KWS_AUDIO PROPERTY STRINGS uart i2s)
  if(NOT KWS_AUDIO MATCHES "^(uart|i2s)$")
    message(FATAL_ERROR "KWS_AUDIO=${KWS_AUDIO}: use uart or i2s.")
  endif()
  # Another STM32F4's memory map for this board's image: the emulated STM32F405 linked with the limits of a
  # chip QEMU does not emulate (e.g. boards/nucleo_f446re/nucleo_f446re.ld: 512 KB flash, no CCM), so that
  # a model too big for that chip fails the link.
  set(KWS_LINKER_SCRIPT "" CACHE FILEPATH "link with this linker script instead of the board's own (another STM32F4's memory map)")
  if(KWS_LINKER_SCRIPT)
    set(B_LINKER_SCRIPT "${KWS_LINKER_SCRIPT}")
    message(STATUS "Linker script: ${KWS_LINKER_SCRIPT}")
  endif()
  kws_cortex_m_board(LINKER_SCRIPT "${B_LINKER_SCRIPT}"
    SOURCES "${B_CONFIG}" "${KWS_STM32F4_DIR}/board.c" "${KWS_STM32F4_DIR}/stm32f4.c" "${KWS_STM32F4_DIR}/vectors.c"
            "${KWS_STM32F4_DIR}/audio_provider_${KWS_AUDIO}.c" "${KWS_CORTEX_M_DIR}/audio_ring.c")
  target_include_directories(kws_board PUBLIC "${KWS_STM32F4_DIR}")
  target_compile_definitions(kws_board PRIVATE STM32_NUM_IRQS=${B_IRQS})
  option(KWS_WATCHDOG "start the independent watchdog (about 2 s), refreshed once per hop of audio" ON)
  if(KWS_WATCHDOG)
    target_compile_definitions(kws_board PRIVATE KWS_WATCHDOG)
  endif()
  set(KWS_BOARD_HAS_LINK TRUE PARENT_SCOPE)
  message(STATUS "Audio provider: ${KWS_AUDIO}")
endfunction()
