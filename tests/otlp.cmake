# OTLP/HTTP export: encodings, exponential buckets, delivery against a receiver on 127.0.0.1.
if(TK_HAVE_OTLP)
  tk_add_test(test_otlp SOURCES test_otlp.c LABELS integration concurrency)
endif()
if(TK_HAVE_OTLP)
  add_test(NAME otlp_cli COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/test_otlp_cli.sh ${CMAKE_BINARY_DIR}/bin ${PROJECT_SOURCE_DIR})
  set_tests_properties(otlp_cli PROPERTIES LABELS integration TIMEOUT 120)
endif()
