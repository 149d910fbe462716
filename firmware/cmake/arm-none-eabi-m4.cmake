# CMake toolchain: Cortex-M4F with Debian's arm-none-eabi-gcc and newlib-nano. The board (KWS_BOARD,
# firmware/boards/<board>/board.cmake) adds its startup, linker script and console (semihosting or UART).
set(KWS_CPU_FLAGS "-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16")
include("${CMAKE_CURRENT_LIST_DIR}/arm-none-eabi-cortex-m.cmake")
