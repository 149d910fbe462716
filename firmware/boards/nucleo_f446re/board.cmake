# NUCLEO-F446RE (STM32F446RE, Cortex-M4F, 512 KiB flash, 128 KiB SRAM): the STM32F4 code of
# boards/stm32f4/ with this board's clock and pins; the default audio provider is an I2S microphone
# on SPI2. Built in CI, not run (QEMU has no STM32F446 machine).
include("${KWS_BOARDS_DIR}/stm32f4/stm32f4.cmake")
kws_stm32f4_board(IRQS 97 LINKER_SCRIPT "${CMAKE_CURRENT_LIST_DIR}/nucleo_f446re.ld"
                  CONFIG "${CMAKE_CURRENT_LIST_DIR}/board_config.c" DEFAULT_AUDIO i2s)
