# The host as a board (gcc on this machine): the application parts' tests, the front-end runner and,
# with TFLM_ROOT, kws_app on WAV files. Defines kws_board and kws_add_firmware(), as every board does.
add_library(kws_board STATIC "${CMAKE_CURRENT_LIST_DIR}/board.c" "${KWS_APP_DIR}/audio_provider_wav.c")
target_include_directories(kws_board PUBLIC "${KWS_BOARDS_DIR}" "${KWS_APP_DIR}")
target_compile_options(kws_board PRIVATE ${KWS_WARNINGS})

function(kws_add_firmware name)
  add_executable(${name} ${ARGN})
  target_link_libraries(${name} PRIVATE kws_board m)
endfunction()

enable_testing()
add_executable(kws_frontend_runner tools/frontend_runner.c)
target_link_libraries(kws_frontend_runner PRIVATE kws_frontend)
target_compile_options(kws_frontend_runner PRIVATE ${KWS_WARNINGS})
foreach(t recognizer feature_provider audio_provider responder)
  add_executable(test_${t} tests/test_${t}.c)
  target_link_libraries(test_${t} PRIVATE kws_app_parts kws_board)
  target_compile_options(test_${t} PRIVATE ${KWS_WARNINGS})
  add_test(NAME ${t} COMMAND test_${t})
endforeach()
