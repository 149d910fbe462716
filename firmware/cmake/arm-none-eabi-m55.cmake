# CMake toolchain: Cortex-M55 with Helium (MVE) and FPU (TFLM TARGET_ARCH=cortex-m55).
set(KWS_CPU_FLAGS "-mcpu=cortex-m55 -mthumb -mfloat-abi=hard -mfpu=auto")
include("${CMAKE_CURRENT_LIST_DIR}/arm-none-eabi-cortex-m.cmake")
