# Production safety (issue 8, the producer side): a full filesystem, fork storms, a full name table,
# pipes nobody reads, bad segment directories, the life lock and the health counters. The tmpfs and
# PID-namespace cases need root (or user namespaces) and skip with a message otherwise.
add_executable(tk_safety_child safety_child.c)
target_include_directories(tk_safety_child PRIVATE ${PROJECT_SOURCE_DIR})
target_link_libraries(tk_safety_child PRIVATE timekeeper_static)
tk_add_test(test_safety SOURCES test_safety.c LABELS integration concurrency)
add_dependencies(test_safety tk_safety_child)
if(NOT TK_SANITIZE) # a sanitized extension can't be loaded into the plain interpreter
  target_compile_definitions(test_safety PRIVATE TK_TEST_PYTHONPATH="${CMAKE_BINARY_DIR}/python")
endif()
tk_add_test(test_liveness SOURCES test_liveness.c LABELS unit)
add_dependencies(test_liveness tk_safety_child)
