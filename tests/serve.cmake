# `timekeeper serve`: its exposition writer on hand-made snapshots (unit), its HTTP server with a
# thread playing the driver (concurrency), and end-to-end runs of the real command against
# promtool, the OpenMetrics parser of python3-prometheus-client and a real Prometheus server.
tk_add_test(test_prom SOURCES test_prom.c LABELS unit)
if(MICROHTTPD_FOUND)
  tk_add_test(test_prom_server SOURCES test_prom_server.c LABELS concurrency)
endif()
