# The Prometheus exposition: its writer needs nothing; the HTTP server of `timekeeper serve` needs
# libmicrohttpd (Debian libmicrohttpd-dev). Without it, `serve` says it was built without it.
target_sources(tkcollector PRIVATE ${CMAKE_CURRENT_LIST_DIR}/prom-write.c
                                   ${CMAKE_CURRENT_LIST_DIR}/prom-counts.c
                                   ${CMAKE_CURRENT_LIST_DIR}/prom-values.c)
pkg_check_modules(MICROHTTPD IMPORTED_TARGET libmicrohttpd)
if(MICROHTTPD_FOUND)
  target_sources(tkcollector PRIVATE ${CMAKE_CURRENT_LIST_DIR}/prom-serve.c)
  target_link_libraries(tkcollector PUBLIC PkgConfig::MICROHTTPD)
  target_compile_definitions(tkcollector PUBLIC TK_HAVE_MICROHTTPD=1)
else()
  message(STATUS "libmicrohttpd not found: `timekeeper serve` is built without its HTTP server")
endif()
