"""Python side of the firmware: golden vectors, CMake builds (host, QEMU Cortex-M4) and benchmarks."""
