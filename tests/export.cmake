# Histogram encoding, trace encoders (Perfetto protobuf, Chrome JSON), export and diff.
tk_add_test(test_hist_codec SOURCES test_hist_codec.c LABELS unit)
tk_add_test(test_trace_encoders SOURCES test_trace_encoders.c LABELS unit)
if(TK_EXPORT_SQLITE_FOUND)
  tk_add_test(test_recording_read SOURCES test_recording_read.c LABELS unit)
  add_executable(tk_fake_recording tools/tk_fake_recording.c)
  target_link_libraries(tk_fake_recording PRIVATE tkcollector m)
endif()
if(TK_EXPORT_SQLITE_FOUND)
  add_test(NAME export_formats COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/test_export.sh
           ${CMAKE_BINARY_DIR}/bin ${PROJECT_SOURCE_DIR})
  set_tests_properties(export_formats PROPERTIES LABELS integration TIMEOUT 60)
endif()
if(TK_EXPORT_SQLITE_FOUND)
  add_test(NAME diff_regression_vs_jitter COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/test_diff.sh
           ${CMAKE_BINARY_DIR}/bin)
  set_tests_properties(diff_regression_vs_jitter PROPERTIES LABELS integration TIMEOUT 60)
endif()
