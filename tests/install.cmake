# Packaging: install into a temp prefix, build and run a consumer with pkg-config and with
# find_package(hwjose), run the installed CLI.
add_test(NAME test_install COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/install/test_install.sh)
set_tests_properties(test_install PROPERTIES TIMEOUT 300 ENVIRONMENT
  "HWJ_BINARY_DIR=${PROJECT_BINARY_DIR};HWJ_SOURCE_DIR=${PROJECT_SOURCE_DIR};HWJ_TEST_STATE=${CMAKE_CURRENT_BINARY_DIR}/state")
