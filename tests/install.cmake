# Packaging: install into a temp prefix, build and run a consumer with pkg-config and with
# find_package(hwjose), run the installed CLI.
add_test(NAME test_install COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/install/test_install.sh)
# A sanitized libhwjose.so needs its consumers built by the same compiler with the same runtime.
set(hwj_consumer_san "")
if(HWJ_SANITIZE)
  set(hwj_consumer_san "-fsanitize=address,undefined")
endif()
set_tests_properties(test_install PROPERTIES TIMEOUT 300 ENVIRONMENT
  "HWJ_BINARY_DIR=${PROJECT_BINARY_DIR};HWJ_SOURCE_DIR=${PROJECT_SOURCE_DIR};HWJ_TEST_STATE=${CMAKE_CURRENT_BINARY_DIR}/state;HWJ_CC=${CMAKE_C_COMPILER};HWJ_CONSUMER_SAN=${hwj_consumer_san}")
