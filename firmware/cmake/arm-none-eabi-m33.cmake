# CMake toolchain: Cortex-M33 with the DSP extension and FPU (TFLM TARGET_ARCH=cortex-m33).
set(KWS_CPU_FLAGS "-mcpu=cortex-m33 -mthumb -mfloat-abi=hard -mfpu=auto")
include("${CMAKE_CURRENT_LIST_DIR}/arm-none-eabi-cortex-m.cmake")
