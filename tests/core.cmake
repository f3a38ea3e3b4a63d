hwj_unit_test(test_b64url SOURCES test_b64url.c)
hwj_unit_test(test_json SOURCES test_json.c)
