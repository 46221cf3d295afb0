# Counters, gauges and stages (lib/counter.c, core/decode-counter.c, agg/counters.c), /proc
# sampling (core/procstat.c) and the stats lines (sink/stats-line.c).
# test_counters compiles the collector files it checks directly, with a stand-in for the few core
# functions they call (tests/counters_fake_core.h), so it does not wait for the core.
add_executable(test_counters test_counters.c
  ${PROJECT_SOURCE_DIR}/collector/core/decode-counter.c ${PROJECT_SOURCE_DIR}/collector/core/counters-read.c
  ${PROJECT_SOURCE_DIR}/collector/agg/counters.c)
target_include_directories(test_counters PRIVATE ${PROJECT_SOURCE_DIR} ${PROJECT_SOURCE_DIR}/tests
  ${PROJECT_SOURCE_DIR}/collector)
target_link_libraries(test_counters PRIVATE tkcollector timekeeper_static PkgConfig::CMOCKA)
add_test(NAME test_counters COMMAND test_counters)
set_tests_properties(test_counters PROPERTIES LABELS "unit;concurrency" TIMEOUT 120)

tk_add_test(test_procstat SOURCES test_procstat.c LABELS integration)
tk_add_test(test_stats_line SOURCES test_stats_line.c LABELS unit)
add_test(NAME plot COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/test_plot.sh ${CMAKE_BINARY_DIR}/bin ${PROJECT_SOURCE_DIR})
set_tests_properties(plot PROPERTIES LABELS integration TIMEOUT 60)
# `plot` of `record` files: needs SQLite (the recorder and the recording reader)
get_property(TK_HAVE_SQLITE GLOBAL PROPERTY TK_HAVE_SQLITE)
if(TK_HAVE_SQLITE)
  add_test(NAME plot_recording COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/test_plot_record.sh ${CMAKE_BINARY_DIR}/bin ${PROJECT_SOURCE_DIR})
  set_tests_properties(plot_recording PROPERTIES LABELS integration TIMEOUT 60)
endif()
add_test(NAME bench_end_to_end COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/test_bench.sh ${CMAKE_BINARY_DIR}/bin)
set_tests_properties(bench_end_to_end PROPERTIES LABELS integration TIMEOUT 120)
add_test(NAME report_stats COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/test_report_stats.sh ${CMAKE_BINARY_DIR}/bin)
set_tests_properties(report_stats PROPERTIES LABELS integration TIMEOUT 60)
