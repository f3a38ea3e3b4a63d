hwj_unit_test(test_b64url SOURCES test_b64url.c)
hwj_unit_test(test_json SOURCES test_json.c)
# The verify hot path's JSON object view (src/core/jview.c); fuzz_jview compares it with Jansson.
hwj_unit_test(test_jview SOURCES test_jview.c)
# Error messages: no key URI query or pin-value shown; OpenSSL errors from the failing call.
hwj_unit_test(test_errors SOURCES test_errors.c)
# The options-struct ABI, through the shared library as an installed program links it.
add_executable(test_abi test_abi.c)
target_link_libraries(test_abi PRIVATE hwjose PkgConfig::CMOCKA)
target_compile_definitions(test_abi PRIVATE HWJ_TEST_DATA_DIR="${CMAKE_CURRENT_SOURCE_DIR}/data")
add_test(NAME test_abi COMMAND test_abi)
set_tests_properties(test_abi PROPERTIES TIMEOUT 60)
