hwj_unit_test(test_b64url SOURCES test_b64url.c)
hwj_unit_test(test_json SOURCES test_json.c)
# Error messages: no key URI query or pin-value shown; OpenSSL errors from the failing call.
hwj_unit_test(test_errors SOURCES test_errors.c)
