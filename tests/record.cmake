# Recordings: the SQLite writer (schema, kill -9, full disk), `timekeeper record`.
get_property(TK_HAVE_SQLITE GLOBAL PROPERTY TK_HAVE_SQLITE)
if(TK_HAVE_SQLITE)
  tk_add_test(test_recdb SOURCES test_recdb.c LABELS integration)
endif()
if(TK_HAVE_SQLITE)
  add_test(NAME record_event_pipeline COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/test_record.sh ${CMAKE_BINARY_DIR}/bin ${PROJECT_SOURCE_DIR})
  set_tests_properties(record_event_pipeline PROPERTIES LABELS integration TIMEOUT 120)
endif()
