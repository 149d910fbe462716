# A TFLite Micro library for the firmware: the imported target `tflm` (library + include folders +
# compile definitions), from -DTFLM_ROOT=<tree> [-DTFLM_LIB=...]. Included by tflm_app.cmake and by any
# other program built against TFLM (e.g. firmware/tools/op_profiler). The tree is what TFLM's own tools make (create_tflm_tree.py) and the library is
# the libtensorflow-microlite.a its Makefile built for the same target; nothing here fetches or builds
# TFLM. The application must be compiled with the compile definitions the library was built with
# (TF_LITE_STATIC_MEMORY changes struct layouts; a BUILD_TYPE=release library has no MicroPrintf, so
# code compiled without TF_LITE_STRIP_ERROR_STRINGS fails to link). Unless -DTFLM_DEFINES="A;B=1"
# gives them, they are read off the library: its build folder name (TFLM's Makefile writes
# gen/<target>_<arch>_<build type>/lib/) and its symbols (nm).
enable_language(CXX)
set(CMAKE_CXX_STANDARD 17)
set(CMAKE_CXX_STANDARD_REQUIRED ON)
set(TFLM_LIB "" CACHE FILEPATH "libtensorflow-microlite.a built by TFLM's make for this target")
set(TFLM_DEFINES "" CACHE STRING "compile definitions the TFLM library was built with (default: read off the library)")

get_filename_component(TFLM_ROOT "${TFLM_ROOT}" ABSOLUTE)
if(NOT EXISTS "${TFLM_ROOT}/tensorflow/lite/micro/micro_interpreter.h")
  message(FATAL_ERROR "TFLM_ROOT=${TFLM_ROOT} is not a TFLite Micro tree (no tensorflow/lite/micro/micro_interpreter.h): "
                      "point it at the folder TFLM's create_tflm_tree.py wrote (docs/firmware.md, step 3).")
endif()
if(NOT TFLM_LIB)
  file(GLOB_RECURSE _tflm_libs "${TFLM_ROOT}/libtensorflow-microlite.a" "${TFLM_ROOT}/*/libtensorflow-microlite.a")
  list(LENGTH _tflm_libs _n)
  if(NOT _n EQUAL 1)
    message(FATAL_ERROR "Found ${_n} libtensorflow-microlite.a under ${TFLM_ROOT}: set -DTFLM_LIB to the one "
                        "built for this target.")
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
execute_process(COMMAND "${_nm}" -C --defined-only "${TFLM_LIB}" OUTPUT_VARIABLE _syms ERROR_QUIET RESULT_VARIABLE _nm_status)
set(_tflm_defines ${TFLM_DEFINES})
set(_tflm_notes "given with -DTFLM_DEFINES")
if(NOT TFLM_DEFINES)
  if(NOT _nm_status EQUAL 0)
    message(FATAL_ERROR "Could not list the symbols of ${TFLM_LIB} with ${_nm}: give the library's compile "
                        "definitions with -DTFLM_DEFINES=\"TF_LITE_STATIC_MEMORY;...\".")
  endif()
  set(_tflm_notes "read off the library")
  if(NOT TFLM_LIB MATCHES "_no_tf_lite_static_memory[_/]")
    list(APPEND _tflm_defines TF_LITE_STATIC_MEMORY)
  endif()
  if(NOT _syms MATCHES "[TW] MicroPrintf\\(")
    list(APPEND _tflm_defines TF_LITE_STRIP_ERROR_STRINGS)   # BUILD_TYPE=release
  endif()
  if(_syms MATCHES "[TW] arm_convolve_s8")
    list(APPEND _tflm_defines CMSIS_NN)                      # OPTIMIZED_KERNEL_DIR=cmsis_nn
  endif()
endif()
if(_syms MATCHES "[TW] RegisterDebugLogCallback")
  list(APPEND _tflm_defines KWS_TFLM_DEBUG_LOG_CALLBACK)     # TARGET=cortex_m_generic prints through a callback
endif()

add_library(tflm STATIC IMPORTED)
set_target_properties(tflm PROPERTIES IMPORTED_LOCATION "${TFLM_LIB}")
set(_tflm_includes "${TFLM_ROOT}")
foreach(dir flatbuffers/include gemmlowp ruy kissfft cmsis_nn cmsis_nn/Include cmsis/CMSIS/Core/Include)
  if(EXISTS "${TFLM_ROOT}/third_party/${dir}")
    list(APPEND _tflm_includes "${TFLM_ROOT}/third_party/${dir}")
  endif()
endforeach()
set_target_properties(tflm PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${_tflm_includes}"
                                      INTERFACE_COMPILE_DEFINITIONS "${_tflm_defines}")
