# The pipeline (issue 7): discovery without delay, one drain cadence for every command, a newer
# producer's records counted as unknown.
add_executable(tk_burst tools/tk_burst.c)
target_link_libraries(tk_burst PRIVATE timekeeper_static)
tk_add_test(test_pipeline SOURCES test_pipeline.c LABELS unit)
add_test(NAME pipeline_cadence COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/test_pipeline.sh ${CMAKE_BINARY_DIR}/bin)
set_tests_properties(pipeline_cadence PROPERTIES LABELS "integration;slow" TIMEOUT 120)
