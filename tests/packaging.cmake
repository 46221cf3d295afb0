# Packaging: the install tree (pkg-config and the CMake package, used by examples/hello) and the
# library built alone, without the optional packages.
if(NOT TK_SANITIZE) # an installed sanitizer build can't be linked into a plain program
  add_test(NAME install COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/test_install.sh ${CMAKE_BINARY_DIR}
                                   ${PROJECT_SOURCE_DIR})
  set_tests_properties(install PROPERTIES LABELS integration TIMEOUT 120)
  add_test(NAME library_only COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/test_library_only.sh
                                        ${PROJECT_SOURCE_DIR})
  set_tests_properties(library_only PROPERTIES LABELS integration TIMEOUT 300)
endif()
