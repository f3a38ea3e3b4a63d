# Packaging: install into a temp prefix, build and run a consumer with pkg-config and with
# find_package(hwjose), run the installed CLI.
add_test(NAME test_install COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/install/test_install.sh)
# A consumer of a sanitized library is built by the same compiler with the same sanitizers (the
# library then needs their runtime from the program).
set(hwj_consumer_flags "")
if(HWJ_SANITIZE)
  set(hwj_consumer_flags "-fsanitize=address,undefined")
endif()
set_tests_properties(test_install PROPERTIES TIMEOUT 300 ENVIRONMENT
  "HWJ_BINARY_DIR=${PROJECT_BINARY_DIR};HWJ_SOURCE_DIR=${PROJECT_SOURCE_DIR};HWJ_TEST_STATE=${CMAKE_CURRENT_BINARY_DIR}/state;HWJ_CONSUMER_CC=${CMAKE_C_COMPILER};HWJ_CONSUMER_FLAGS=${hwj_consumer_flags}")
