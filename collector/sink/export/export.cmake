# Reading recordings (SQLite files of `timekeeper record`) for `export` and `diff`. Needs
# libsqlite3 (Debian libsqlite3-dev); without it those commands say so and stop.
pkg_check_modules(TK_EXPORT_SQLITE IMPORTED_TARGET sqlite3)
if(TK_EXPORT_SQLITE_FOUND)
  target_sources(tkcollector PRIVATE ${CMAKE_CURRENT_LIST_DIR}/recording-read.c)
  target_link_libraries(tkcollector PUBLIC PkgConfig::TK_EXPORT_SQLITE)
  target_compile_definitions(tkcollector PUBLIC TK_HAVE_RECORDING_READ=1)
else()
  message(STATUS "sqlite3 not found: `timekeeper export` and `diff` cannot read recordings")
endif()
