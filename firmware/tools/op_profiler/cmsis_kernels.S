/* Which CMSIS-NN kernel each operator ran: every int8 kernel entry point TFLM's cmsis_nn glue can
 * reach is linked with -Wl,--wrap=NAME, so calls to it land here first. The trampoline records the
 * kernel's number for the profiler event in progress (op_profiler_note_kernel) and jumps to the real
 * kernel with the arguments untouched (r0-r3 restored, stack arguments never moved). It adds about a
 * dozen instructions per kernel call, which happens once per operator. Assembled only for TFLM
 * libraries built with OPTIMIZED_KERNEL_DIR=cmsis_nn; the list and its order must match
 * kKernelNames in op_profiler.cc. */
    .syntax unified
    .thumb
    .text

    .macro KERNEL name, id
    .global __wrap_\name
    .type __wrap_\name, %function
    .thumb_func
__wrap_\name:
    push {r0-r3, r12, lr}
    movs r0, #\id
    bl op_profiler_note_kernel
    pop {r0-r3, r12, lr}
    b.w __real_\name
    .size __wrap_\name, . - __wrap_\name
    .endm

    KERNEL arm_convolve_1x1_s8_fast, 0
    KERNEL arm_convolve_1x1_s8, 1
    KERNEL arm_convolve_1_x_n_s8, 2
    KERNEL arm_convolve_s8, 3
    KERNEL arm_depthwise_conv_3x3_s8, 4
    KERNEL arm_depthwise_conv_s8_opt, 5
    KERNEL arm_depthwise_conv_s8, 6
    KERNEL arm_fully_connected_s8, 7
    KERNEL arm_fully_connected_per_channel_s8, 8
    KERNEL arm_avgpool_s8, 9
    KERNEL arm_max_pool_s8, 10
    KERNEL arm_elementwise_add_s8, 11
    KERNEL arm_elementwise_mul_s8, 12
    KERNEL arm_softmax_s8, 13
    KERNEL arm_pad_s8, 14
    KERNEL arm_transpose_s8, 15
    KERNEL arm_batch_matmul_s8, 16
    KERNEL arm_maximum_s8, 17
    KERNEL arm_minimum_s8, 18
