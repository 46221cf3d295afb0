# Recordings: the SQLite writer (schema, kill -9, full disk), `timekeeper record`.
get_property(TK_HAVE_SQLITE GLOBAL PROPERTY TK_HAVE_SQLITE)
if(TK_HAVE_SQLITE)
  tk_add_test(test_recdb SOURCES test_recdb.c LABELS integration)
endif()
