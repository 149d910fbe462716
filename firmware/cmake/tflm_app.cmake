# The TFLM application (model runner + kws_main), built only with -DTFLM_ROOT=<tree>. The tree is what
# TFLM's own tools make (tensorflow/lite/micro/tools/project_generation/create_tflm_tree.py) plus the
# library its Makefile built for the same target (libtensorflow-microlite.a); nothing here fetches or
# builds TFLM. Compile definitions must match the library's (TF_LITE_STATIC_MEMORY changes layouts):
# pass any extra ones with -DTFLM_DEFINES="A;B=1".
enable_language(CXX)
set(CMAKE_CXX_STANDARD 17)
set(CMAKE_CXX_STANDARD_REQUIRED ON)
set(TFLM_LIB "" CACHE FILEPATH "libtensorflow-microlite.a built by TFLM's make for this target")
set(TFLM_DEFINES "TF_LITE_STATIC_MEMORY" CACHE STRING "compile definitions the TFLM library was built with")

get_filename_component(TFLM_ROOT "${TFLM_ROOT}" ABSOLUTE)
if(NOT EXISTS "${TFLM_ROOT}/tensorflow/lite/micro/micro_interpreter.h")
  message(FATAL_ERROR "TFLM_ROOT=${TFLM_ROOT} has no tensorflow/lite/micro/micro_interpreter.h: point it at a "
                      "tree made by TFLM's create_tflm_tree.py (docs/firmware.md).")
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
foreach(f model_data.cc model_data.h model_settings.h)
  if(NOT EXISTS "${KWS_TABLES_DIR}/${f}")
    message(FATAL_ERROR "${KWS_TABLES_DIR} has no ${f}: run `dadarts export RUN --int8` first.")
  endif()
endforeach()

add_library(tflm STATIC IMPORTED)
set_target_properties(tflm PROPERTIES IMPORTED_LOCATION "${TFLM_LIB}")
set(_tflm_includes "${TFLM_ROOT}")
foreach(dir flatbuffers/include gemmlowp ruy kissfft cmsis_nn cmsis_nn/Include cmsis/CMSIS/Core/Include)
  if(EXISTS "${TFLM_ROOT}/third_party/${dir}")
    list(APPEND _tflm_includes "${TFLM_ROOT}/third_party/${dir}")
  endif()
endforeach()

add_executable(kws_app app/kws_main.cc app/model_runner.cc "${KWS_TABLES_DIR}/model_data.cc")
target_include_directories(kws_app PRIVATE app "${KWS_TABLES_DIR}" ${_tflm_includes})
target_compile_definitions(kws_app PRIVATE ${TFLM_DEFINES})
target_link_libraries(kws_app PRIVATE kws_app_parts tflm m)
if(CMAKE_CROSSCOMPILING)
  target_compile_definitions(kws_app PRIVATE KWS_SEMIHOSTING)
  target_link_libraries(kws_app PRIVATE kws_board)
  set_target_properties(kws_app PROPERTIES SUFFIX ".elf")
endif()
message(STATUS "TFLM application kws_app: ${TFLM_LIB}")
