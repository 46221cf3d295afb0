# Async task profiling: the metric semantics (aggregator), the library's lifecycle calls and totals.
tk_add_test(test_task_agg SOURCES test_task_agg.c LABELS unit)
tk_add_test(test_task_lib SOURCES test_task_lib.c LABELS unit concurrency)
