# The TFLM library as an imported target `tflm` (include directories and compile definitions attached),
# from TFLM_ROOT (create_tflm_tree.py output) and TFLM_LIB (libtensorflow-microlite.a of TFLM's make).
# The definitions must be the library's own (TF_LITE_STATIC_MEMORY changes struct layouts; a
# BUILD_TYPE=release library has no MicroPrintf): unless -DTFLM_DEFINES gives them they are read off
# the library's symbols. Sets TFLM_HAS_CMSIS_NN when the library holds CMSIS-NN's kernels.
set(TFLM_LIB "" CACHE FILEPATH "libtensorflow-microlite.a built by TFLM's make for this target")
set(TFLM_DEFINES "" CACHE STRING "compile definitions the TFLM library was built with (default: read off the library)")

get_filename_component(TFLM_ROOT "${TFLM_ROOT}" ABSOLUTE)
if(NOT EXISTS "${TFLM_ROOT}/tensorflow/lite/micro/micro_interpreter.h")
  message(FATAL_ERROR "TFLM_ROOT=${TFLM_ROOT} is not a TFLite Micro tree (no tensorflow/lite/micro/micro_interpreter.h): "
                      "point it at the folder TFLM's create_tflm_tree.py wrote.")
endif()
if(NOT TFLM_LIB)
  file(GLOB_RECURSE _tflm_libs "${TFLM_ROOT}/libtensorflow-microlite.a" "${TFLM_ROOT}/*/libtensorflow-microlite.a")
  list(LENGTH _tflm_libs _n)
  if(NOT _n EQUAL 1)
    message(FATAL_ERROR "Found ${_n} libtensorflow-microlite.a under ${TFLM_ROOT}: set -DTFLM_LIB to the one built for this core.")
  endif()
  list(GET _tflm_libs 0 TFLM_LIB)
endif()
get_filename_component(TFLM_LIB "${TFLM_LIB}" ABSOLUTE)
if(NOT EXISTS "${TFLM_LIB}")
  message(FATAL_ERROR "TFLM_LIB=${TFLM_LIB} does not exist: give the libtensorflow-microlite.a TFLM's Makefile built.")
endif()

set(_nm "${CMAKE_NM}")
if(NOT _nm)
  set(_nm nm)
endif()
execute_process(COMMAND "${_nm}" -C --defined-only "${TFLM_LIB}" OUTPUT_VARIABLE _syms ERROR_QUIET)
set(TFLM_HAS_CMSIS_NN OFF)
if(_syms MATCHES "[TW] arm_convolve_s8")
  set(TFLM_HAS_CMSIS_NN ON)
endif()
set(_tflm_defines ${TFLM_DEFINES})
if(NOT TFLM_DEFINES)
  if(NOT TFLM_LIB MATCHES "_no_tf_lite_static_memory/")
    list(APPEND _tflm_defines TF_LITE_STATIC_MEMORY)
  endif()
  if(NOT _syms MATCHES "[TW] MicroPrintf\\(")
    list(APPEND _tflm_defines TF_LITE_STRIP_ERROR_STRINGS)
  endif()
  if(TFLM_HAS_CMSIS_NN)
    list(APPEND _tflm_defines CMSIS_NN)
  endif()
endif()

set(TFLM_DEFINES_USED "${_tflm_defines}" CACHE INTERNAL "compile definitions the application uses with the TFLM library")

add_library(tflm STATIC IMPORTED)
set(_tflm_includes "${TFLM_ROOT}")
foreach(dir flatbuffers/include gemmlowp ruy kissfft cmsis_nn cmsis_nn/Include cmsis/CMSIS/Core/Include)
  if(EXISTS "${TFLM_ROOT}/third_party/${dir}")
    list(APPEND _tflm_includes "${TFLM_ROOT}/third_party/${dir}")
  endif()
endforeach()
set_target_properties(tflm PROPERTIES IMPORTED_LOCATION "${TFLM_LIB}"
                      INTERFACE_INCLUDE_DIRECTORIES "${_tflm_includes}"
                      INTERFACE_COMPILE_DEFINITIONS "${_tflm_defines}")
