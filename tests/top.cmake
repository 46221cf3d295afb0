# `timekeeper top`: unit tests of its model, plots and screen (no terminal needed), and an
# end-to-end run of the real program in a real terminal (tmux) beside running producers.
tk_add_test(test_tui
  SOURCES test_tui.c ${PROJECT_SOURCE_DIR}/cli/tui-model.c ${PROJECT_SOURCE_DIR}/cli/tui-plot.c
          ${PROJECT_SOURCE_DIR}/cli/tui-screen.c
  LABELS unit LIBS m)
target_include_directories(test_tui PRIVATE ${PROJECT_SOURCE_DIR}/cli)

# An instrumented program with N timers at a steady rate (also used by bench/bench_top.sh).
add_executable(top_producer top_producer.c)
target_link_libraries(top_producer PRIVATE timekeeper_static)

add_test(NAME top_tmux COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/test_top_tmux.sh ${CMAKE_BINARY_DIR}/bin)
set_tests_properties(top_tmux PROPERTIES LABELS integration TIMEOUT 240)
