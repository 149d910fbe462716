# CMake toolchain: Cortex-M7 with the double-precision FPU (TFLM TARGET_ARCH=cortex-m7+fp).
set(KWS_CPU_FLAGS "-mcpu=cortex-m7 -mthumb -mfloat-abi=hard -mfpu=auto")
include("${CMAKE_CURRENT_LIST_DIR}/arm-none-eabi-cortex-m.cmake")
