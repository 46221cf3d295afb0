# Async task profiling: the metric semantics (aggregator), the library's lifecycle calls and totals.
tk_add_test(test_task_agg SOURCES test_task_agg.c LABELS unit)
tk_add_test(test_task_lib SOURCES test_task_lib.c LABELS unit concurrency)
if(TARGET uv-server)
  add_test(NAME uv_server_profiles_requests_and_their_children
           COMMAND sh ${PROJECT_SOURCE_DIR}/examples/uv-server/test_uv_server.sh $<TARGET_FILE:uv-server>)
  set_tests_properties(uv_server_profiles_requests_and_their_children PROPERTIES
    LABELS "integration;concurrency" TIMEOUT 60)
endif()
