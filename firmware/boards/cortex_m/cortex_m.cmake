# Helpers for Cortex-M boards (included by their board.cmake): the board library from the shared
# Cortex-M sources plus the board's own, and kws_add_firmware(), which links an ELF against the
# board's linker script and writes a map file next to it (the flash/SRAM report reads it).
#
#   kws_cortex_m_board(LINKER_SCRIPT file.ld SOURCES a.c b.c [SEMIHOSTING])
# An audio provider fed by an interrupt adds ${KWS_CORTEX_M_DIR}/audio_ring.c (the reading half) to SOURCES.
set(KWS_CORTEX_M_DIR "${CMAKE_CURRENT_LIST_DIR}")

function(kws_cortex_m_board)
  cmake_parse_arguments(B "SEMIHOSTING" "LINKER_SCRIPT" "SOURCES" ${ARGN})
  set(common "${KWS_CORTEX_M_DIR}/startup.c" "${KWS_CORTEX_M_DIR}/cycles.c" "${KWS_CORTEX_M_DIR}/board_cortex_m.c"
             "${KWS_CORTEX_M_DIR}/heap.c")
  if(B_SEMIHOSTING)
    list(APPEND common "${KWS_CORTEX_M_DIR}/semihosting.c")
    set(specs --specs=rdimon.specs)
  else()
    list(APPEND common "${KWS_CORTEX_M_DIR}/syscalls.c")
    set(specs --specs=nosys.specs)
  endif()
  # An OBJECT library: the vector table and the handlers must be linked even though nothing calls them.
  add_library(kws_board OBJECT ${common} ${B_SOURCES})
  target_include_directories(kws_board PUBLIC "${KWS_BOARDS_DIR}" "${KWS_CORTEX_M_DIR}" "${KWS_APP_DIR}")
  target_compile_options(kws_board PRIVATE ${KWS_WARNINGS})
  if(B_SEMIHOSTING)
    target_compile_definitions(kws_board PRIVATE KWS_SEMIHOSTING)
  endif()
  target_link_options(kws_board INTERFACE ${specs} "-L${KWS_CORTEX_M_DIR}" "-T${B_LINKER_SCRIPT}")
  # The application's stack (sections.ld's __stack_size) for boards whose linker script leaves it to the default.
  set(KWS_STACK_SIZE "" CACHE STRING "bytes of the application's stack (default: the linker script's, 8 KiB)")
  if(KWS_STACK_SIZE)
    target_link_options(kws_board INTERFACE "-Wl,--defsym=__stack_size=${KWS_STACK_SIZE}")
  endif()
endfunction()

function(kws_add_firmware name)
  add_executable(${name} ${ARGN})
  target_link_libraries(${name} PRIVATE kws_board m)
  target_link_options(${name} PRIVATE "-Wl,-Map=$<TARGET_FILE_DIR:${name}>/${name}.map")
  set_target_properties(${name} PROPERTIES SUFFIX ".elf")
endfunction()
