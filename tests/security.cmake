# Security (RFC 8725 and adversarial conformance; docs/security.md maps each item to its test).
hwj_unit_test(test_rfc8725 SOURCES test_rfc8725.c LIBS hwj_test_jws_util TIMEOUT 60)
