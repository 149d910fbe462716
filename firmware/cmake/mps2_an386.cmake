# QEMU mps2-an386 (Cortex-M4F) board support: startup, linker script, and the front-end test/benchmark
# program that runs under qemu-system-arm with semihosting.
set(KWS_BOARD_DIR "${CMAKE_CURRENT_LIST_DIR}/../boards/mps2_an386")
add_library(kws_board STATIC "${KWS_BOARD_DIR}/startup.c" "${KWS_BOARD_DIR}/semihost.c")
target_include_directories(kws_board PUBLIC "${KWS_BOARD_DIR}")
target_compile_options(kws_board PRIVATE ${KWS_WARNINGS})
target_link_options(kws_board INTERFACE "-T${KWS_BOARD_DIR}/mps2_an386.ld")

add_executable(kws_frontend_m4 "${KWS_BOARD_DIR}/frontend_m4.c")
target_link_libraries(kws_frontend_m4 PRIVATE kws_frontend kws_board)
target_compile_options(kws_frontend_m4 PRIVATE ${KWS_WARNINGS})
set_target_properties(kws_frontend_m4 PROPERTIES SUFFIX ".elf")
