# `timekeeper analyze`: the TIMING line parser, the spec parser, the analysis engine and the CLI.
tk_add_test(test_analyze SOURCES test_analyze.c LABELS unit)

# The fuzz corpus of the TIMING line parser, replayed on every run: the fuzz target built with
# TK_FUZZ_REPLAY gets a main() that runs every file of the corpus directory.
add_executable(fuzz_timing_line_replay fuzz/fuzz_timing_line.c)
target_compile_definitions(fuzz_timing_line_replay PRIVATE TK_FUZZ_REPLAY)
target_link_libraries(fuzz_timing_line_replay PRIVATE tkcollector)
add_test(NAME fuzz_timing_line_replay
         COMMAND fuzz_timing_line_replay ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/corpus/timing_line)
set_tests_properties(fuzz_timing_line_replay PROPERTIES LABELS unit TIMEOUT 300)

# The libFuzzer target itself: configure with CC=clang -DTK_FUZZ=ON, then
#   build/bin/fuzz_timing_line -max_len=16384 tests/fuzz/corpus/timing_line
# The collector sources are compiled into it so that they are instrumented too.
if(TK_FUZZ AND CMAKE_C_COMPILER_ID MATCHES "Clang")
  file(GLOB fuzz_analyze_sources ${PROJECT_SOURCE_DIR}/collector/analyze/*.c
       ${PROJECT_SOURCE_DIR}/collector/util/*.c)
  add_executable(fuzz_timing_line fuzz/fuzz_timing_line.c ${fuzz_analyze_sources}
    ${PROJECT_SOURCE_DIR}/collector/agg/hist.c)
  target_include_directories(fuzz_timing_line PRIVATE ${PROJECT_SOURCE_DIR}/collector
                             ${PROJECT_SOURCE_DIR})
  target_compile_options(fuzz_timing_line PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_options(fuzz_timing_line PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_libraries(fuzz_timing_line PRIVATE m)
endif()
