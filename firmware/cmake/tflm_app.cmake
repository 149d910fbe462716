# kws_app: the streaming application with the model under TFLite Micro (cmake/tflm_library.cmake finds
# the library and the definitions it was built with), built only with -DTFLM_ROOT=<tree>.
include(cmake/tflm_library.cmake)
kws_add_firmware(kws_app app/kws_main.c app/model_runner.cc "${KWS_TABLES_DIR}/model_data.cc")
target_include_directories(kws_app PRIVATE app "${KWS_TABLES_DIR}")
target_link_libraries(kws_app PRIVATE kws_app_parts tflm)
message(STATUS "TFLM application kws_app: ${TFLM_LIB}, definitions ${_tflm_defines} (${_tflm_notes})")
