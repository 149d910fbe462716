# kws_app: the streaming application with the model under TFLite Micro (cmake/tflm_library.cmake finds
# the library and the definitions it was built with), built only with -DTFLM_ROOT=<tree>.
include(cmake/tflm_library.cmake)
kws_add_firmware(kws_app app/kws_main.c app/model_runner.cc "${KWS_TABLES_DIR}/model_data.cc")
target_include_directories(kws_app PRIVATE app "${KWS_TABLES_DIR}")
target_link_libraries(kws_app PRIVATE kws_app_parts tflm)
option(KWS_GENERIC_KERNELS "register every op with its all-types kernel instead of TFLM's int8-only ones" OFF)
if(KWS_GENERIC_KERNELS)
  target_compile_definitions(kws_app PRIVATE KWS_GENERIC_KERNELS)
endif()
message(STATUS "TFLM application kws_app: ${TFLM_LIB}, definitions ${_tflm_defines} (${_tflm_notes})")
