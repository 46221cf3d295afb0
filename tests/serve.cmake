# `timekeeper serve`: its exposition writer on hand-made snapshots (unit), its HTTP server with a
# thread playing the driver (concurrency), and end-to-end runs of the real command against
# promtool, the OpenMetrics parser of python3-prometheus-client and a real Prometheus server.
tk_add_test(test_prom SOURCES test_prom.c LABELS unit)
tk_add_test(test_prom_counts SOURCES test_prom_counts.c LABELS unit)
target_include_directories(test_prom_counts PRIVATE ${PROJECT_SOURCE_DIR}/collector)
if(MICROHTTPD_FOUND)
  tk_add_test(test_prom_server SOURCES test_prom_server.c LABELS concurrency)
endif()
if(MICROHTTPD_FOUND)
  add_test(NAME serve_output_passes_promtool_and_the_openmetrics_parser
           COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/test_serve.sh ${CMAKE_BINARY_DIR}/bin formats)
  add_test(NAME serve_is_scraped_by_a_real_prometheus
           COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/test_serve.sh ${CMAKE_BINARY_DIR}/bin prometheus)
  add_test(NAME serve_forgets_an_exited_process_after_forget_exited
           COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/test_serve.sh ${CMAKE_BINARY_DIR}/bin forget)
  set_tests_properties(serve_output_passes_promtool_and_the_openmetrics_parser
                       serve_is_scraped_by_a_real_prometheus
                       serve_forgets_an_exited_process_after_forget_exited
                       PROPERTIES LABELS integration TIMEOUT 120)
endif()
add_test(NAME grafana_dashboard_promql_passes_promtool
         COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/test_grafana_promql.py ${PROJECT_SOURCE_DIR})
set_tests_properties(grafana_dashboard_promql_passes_promtool PROPERTIES LABELS unit TIMEOUT 60)
add_executable(prom_sample prom_sample.c)
target_link_libraries(prom_sample PRIVATE tkcollector)
add_test(NAME serve_sample_with_task_types_passes_promtool_and_the_openmetrics_parser
         COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/test_serve.sh ${CMAKE_BINARY_DIR}/bin sample)
set_tests_properties(serve_sample_with_task_types_passes_promtool_and_the_openmetrics_parser
                     PROPERTIES LABELS integration TIMEOUT 60)
