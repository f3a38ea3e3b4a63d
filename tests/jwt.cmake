# JWT (RFC 7519, RFC 8725): issue and validation with an injected clock, durations.
hwj_unit_test(test_jwt SOURCES test_jwt.c TIMEOUT 60)
