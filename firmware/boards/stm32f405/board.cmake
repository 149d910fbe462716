# STM32F405 (Cortex-M4F, 1 MiB flash, 128 KiB SRAM + 64 KiB CCM) as on the Netduino Plus 2, which QEMU
# emulates as -M netduinoplus2. Register-level code in boards/stm32f4/, no vendor HAL. The default audio
# provider is 16-bit PCM streamed into USART2 (what the emulator and `dadarts firmware stream` use);
# -DKWS_AUDIO=i2s builds the I2S microphone provider for a real board instead.
include("${KWS_BOARDS_DIR}/stm32f4/stm32f4.cmake")
kws_stm32f4_board(IRQS 82 LINKER_SCRIPT "${CMAKE_CURRENT_LIST_DIR}/stm32f405.ld"
                  CONFIG "${CMAKE_CURRENT_LIST_DIR}/board_config.c" DEFAULT_AUDIO uart)
