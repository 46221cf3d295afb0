# The producer library and the collector core: rings, loss accounting, crashes, clock conversion.
tk_add_test(test_ring SOURCES test_ring.c LABELS unit concurrency)
tk_add_test(test_crash SOURCES test_crash.c LABELS integration concurrency)
tk_add_test(test_clock SOURCES test_clock.c LABELS unit)
add_executable(tk_clock_child tk_clock_child.c)
target_link_libraries(tk_clock_child PRIVATE timekeeper_static)
