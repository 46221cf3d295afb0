# Python bindings (python/) and the async-flow example (examples/async-flow): their pytest suites,
# run against the build tree with Debian's /usr/bin/python3. Every test uses its own TK_DIR, so they
# run in parallel (ctest -j).
if(NOT TK_HAVE_PYTHON)
  return()
endif()

# A collector client printing the points and timers of a TK_DIR as JSON lines (for the tests).
add_executable(tk_points_dump tools/tk_points_dump.c)
target_link_libraries(tk_points_dump PRIVATE tkcollector)

set(TK_PY_TEST_ENV
  "PYTHONPATH=${CMAKE_BINARY_DIR}/python"
  "PYTHONDONTWRITEBYTECODE=1"
  "TK_BIN=${CMAKE_BINARY_DIR}/bin"
  "TK_POINTS_DUMP=$<TARGET_FILE:tk_points_dump>"
  "TK_SOURCE_DIR=${PROJECT_SOURCE_DIR}")

# A sanitized extension needs its runtime loaded before the (unsanitized) interpreter's libraries.
# CPython keeps memory alive at exit on purpose, so leak detection is off. Under ThreadSanitizer the
# interpreter's own synchronisation is invisible to it: the Python tests are not registered.
if(TK_SANITIZE MATCHES "thread")
  message(STATUS "TK_SANITIZE=${TK_SANITIZE}: the Python tests are not run under ThreadSanitizer")
  return()
endif()
set(TK_PY_PRELOAD)
foreach(san address undefined)
  if(TK_SANITIZE MATCHES "${san}")
    set(lib libasan.so)
    if(san STREQUAL "undefined")
      set(lib libubsan.so)
    endif()
    execute_process(COMMAND ${CMAKE_C_COMPILER} -print-file-name=${lib}
                    OUTPUT_VARIABLE path OUTPUT_STRIP_TRAILING_WHITESPACE)
    list(APPEND TK_PY_PRELOAD ${path})
  endif()
endforeach()
if(TK_PY_PRELOAD)
  list(JOIN TK_PY_PRELOAD " " TK_PY_PRELOAD)
  list(APPEND TK_PY_TEST_ENV "LD_PRELOAD=${TK_PY_PRELOAD}" "ASAN_OPTIONS=detect_leaks=0"
       "UBSAN_OPTIONS=print_stacktrace=1")
endif()

# tk_py_test(NAME FILE LABELS ...): one ctest per pytest file, so that ctest -j runs them together.
function(tk_py_test name file)
  cmake_parse_arguments(T "" "" "LABELS;ENV" ${ARGN})
  add_test(NAME ${name}
           COMMAND ${Python3_EXECUTABLE} -m pytest -q -p no:cacheprovider -c ${PROJECT_SOURCE_DIR}/python/pytest.ini ${file})
  set_tests_properties(${name} PROPERTIES LABELS "${T_LABELS}" TIMEOUT 300
                       ENVIRONMENT "${TK_PY_TEST_ENV};${T_ENV}")
endfunction()

file(GLOB TK_PY_TESTS CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/python/tests/test_*.py)
foreach(t ${TK_PY_TESTS})
  get_filename_component(n ${t} NAME_WE)
  tk_py_test(python_${n} ${t} LABELS python integration)
endforeach()

if(EXISTS ${PROJECT_SOURCE_DIR}/examples/async-flow/CMakeLists.txt)
  tk_py_test(async_flow_consistency ${PROJECT_SOURCE_DIR}/examples/async-flow/test_async_flow.py
             LABELS python integration example
             ENV "PYTHONPATH=${CMAKE_BINARY_DIR}/python:${CMAKE_BINARY_DIR}/examples/async-flow")
endif()
