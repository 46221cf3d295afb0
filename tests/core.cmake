# The producer library and the collector core: rings, loss accounting, crashes, clock conversion.
tk_add_test(test_ring SOURCES test_ring.c LABELS unit concurrency)
tk_add_test(test_crash SOURCES test_crash.c LABELS integration concurrency)
tk_add_test(test_clock SOURCES test_clock.c LABELS unit)
add_executable(tk_clock_child tk_clock_child.c)
target_link_libraries(tk_clock_child PRIVATE timekeeper_static)
if(NOT TK_SANITIZE) # an installed sanitizer build can't be linked into a plain program
  add_test(NAME install COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/test_install.sh ${CMAKE_BINARY_DIR})
  set_tests_properties(install PROPERTIES LABELS integration TIMEOUT 120)
endif()
add_test(NAME demo COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/test_demo.sh ${CMAKE_BINARY_DIR}/bin ${PROJECT_SOURCE_DIR})
set_tests_properties(demo PROPERTIES LABELS integration TIMEOUT 120)
