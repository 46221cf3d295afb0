# The SQLite recorder (`timekeeper record`): Debian's libsqlite3-dev, found with pkg-config.
# Without it the command says the build has no SQLite.
pkg_check_modules(SQLITE3 IMPORTED_TARGET GLOBAL sqlite3)
if(SQLITE3_FOUND)
  file(GLOB TK_SQLITE_SOURCES CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/*.c)
  target_sources(tkcollector PRIVATE ${TK_SQLITE_SOURCES})
  target_link_libraries(tkcollector PUBLIC PkgConfig::SQLITE3)
  target_compile_definitions(tkcollector PUBLIC TK_HAVE_SQLITE=1)
  set_property(GLOBAL PROPERTY TK_HAVE_SQLITE ON)
else()
  message(STATUS "SQLite (libsqlite3-dev) not found: timekeeper record is built without it")
endif()
