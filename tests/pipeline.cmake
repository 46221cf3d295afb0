# The pipeline (issue 7): discovery without delay, one drain cadence for every command, a newer
# producer's records counted as unknown.
add_executable(tk_burst tools/tk_burst.c)
target_link_libraries(tk_burst PRIVATE timekeeper_static)
tk_add_test(test_pipeline SOURCES test_pipeline.c LABELS unit)
add_test(NAME pipeline_cadence COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/test_pipeline.sh ${CMAKE_BINARY_DIR}/bin)
set_tests_properties(pipeline_cadence PROPERTIES LABELS "integration;slow" TIMEOUT 120
  RUN_SERIAL TRUE) # rates of millions per second: measured alone, not beside other tests
add_test(NAME namespace_liveness COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/test_namespace.sh ${CMAKE_BINARY_DIR}/bin)
set_tests_properties(namespace_liveness PROPERTIES LABELS integration TIMEOUT 60)
add_test(NAME scribbled_live_segment COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/test_scribble.sh ${CMAKE_BINARY_DIR}/bin)
set_tests_properties(scribbled_live_segment PROPERTIES LABELS integration TIMEOUT 120)
add_executable(tk_sparse_segment tools/tk_sparse_segment.c)
target_include_directories(tk_sparse_segment PRIVATE ${PROJECT_SOURCE_DIR})
add_test(NAME sparse_hostile_segments COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/test_sparse.sh ${CMAKE_BINARY_DIR}/bin)
set_tests_properties(sparse_hostile_segments PROPERTIES LABELS integration TIMEOUT 60)
