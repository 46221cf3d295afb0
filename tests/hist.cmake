tk_add_test(test_hist SOURCES test_hist.c LABELS unit)
