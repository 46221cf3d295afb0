# Robustness (issue 2): hostile segments, bad environment values, bad command lines, and the segment
# fuzz target, whose corpus is replayed in every test run. tests/fuzz/README.md: running libFuzzer.

tk_add_test(test_segment SOURCES test_segment.c LABELS unit)

# test_env runs this helper program with chosen environments ($TK_BIN/tk_env_child).
add_executable(tk_env_child env_child.c)
target_link_libraries(tk_env_child PRIVATE timekeeper_static)
tk_add_test(test_env SOURCES test_env.c LABELS unit)
add_dependencies(test_env tk_env_child)

# test_cli runs the real command ($TK_BIN/timekeeper).
tk_add_test(test_cli SOURCES test_cli.c LABELS integration)
add_dependencies(test_cli timekeeper)

# The fuzz target without libFuzzer: replays the corpus (and writes the seeds: --write-seeds DIR).
add_executable(fuzz_segment_replay fuzz/fuzz_segment.c)
target_include_directories(fuzz_segment_replay PRIVATE ${PROJECT_SOURCE_DIR}
                           ${PROJECT_SOURCE_DIR}/tests)
target_link_libraries(fuzz_segment_replay PRIVATE tkcollector timekeeper_static)
add_test(NAME fuzz_segment_replay
         COMMAND fuzz_segment_replay ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/corpus/segment)
set_tests_properties(fuzz_segment_replay PROPERTIES LABELS unit TIMEOUT 300)

# `cmake --build B --target fuzz`: builds the libFuzzer target with clang (whatever compiler the
# build uses) and fuzzes for TK_FUZZ_SECONDS (default 60) from the corpus. New inputs go to
# B/fuzz-corpus/segment, crashes to B/fuzz-artifacts/; the checked-in corpus is only read.
find_program(TK_CLANG NAMES clang clang-19 clang-18 clang-17 clang-16 clang-15 clang-14)
if(TK_CLANG)
  set(TK_FUZZ_SECONDS 60 CACHE STRING "Seconds the `fuzz` target runs libFuzzer")
  set(TK_FUZZ_EXTRA_FLAGS "" CACHE STRING
      "More clang flags for the fuzz target (e.g. -fno-sanitize=float-cast-overflow)")
  separate_arguments(fuzz_extra UNIX_COMMAND "${TK_FUZZ_EXTRA_FLAGS}")
  set(fuzz_bin ${CMAKE_BINARY_DIR}/bin/fuzz_segment)
  file(GLOB fuzz_collector_sources ${PROJECT_SOURCE_DIR}/collector/*.c
       ${PROJECT_SOURCE_DIR}/collector/core/*.c ${PROJECT_SOURCE_DIR}/collector/agg/*.c
       ${PROJECT_SOURCE_DIR}/collector/analyze/*.c ${PROJECT_SOURCE_DIR}/collector/sink/*.c
       ${PROJECT_SOURCE_DIR}/collector/util/*.c)
  add_custom_command(
    OUTPUT ${fuzz_bin}
    COMMAND ${TK_CLANG} -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
            ${fuzz_extra} -D_GNU_SOURCE -DTK_FUZZ_LIBFUZZER
            -I${PROJECT_SOURCE_DIR}/include -I${PROJECT_SOURCE_DIR}
            -I${PROJECT_SOURCE_DIR}/collector
            -I${PROJECT_SOURCE_DIR}/tests
            ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/fuzz_segment.c ${fuzz_collector_sources}
            -lm -o ${fuzz_bin}
    DEPENDS fuzz/fuzz_segment.c ${fuzz_collector_sources}
    COMMENT "Building the libFuzzer target fuzz_segment with ${TK_CLANG}"
    VERBATIM)
  add_custom_target(fuzz
    COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/fuzz-corpus/segment
            ${CMAKE_BINARY_DIR}/fuzz-artifacts
    COMMAND ${fuzz_bin} -max_total_time=${TK_FUZZ_SECONDS}
            -artifact_prefix=${CMAKE_BINARY_DIR}/fuzz-artifacts/
            ${CMAKE_BINARY_DIR}/fuzz-corpus/segment ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/corpus/segment
    DEPENDS ${fuzz_bin}
    USES_TERMINAL
    VERBATIM)
endif()
