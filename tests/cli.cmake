# The command line: report's numbers and table against real programs, and every option of every
# command in its --help and in the man page.
add_test(NAME report_cli COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/test_report_cli.sh ${CMAKE_BINARY_DIR}/bin)
set_tests_properties(report_cli PROPERTIES LABELS integration TIMEOUT 120)
add_test(NAME options_documented
  COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/test_options_doc.py ${CMAKE_BINARY_DIR}/bin ${PROJECT_SOURCE_DIR})
set_tests_properties(options_documented PROPERTIES LABELS unit TIMEOUT 60)
