# JWT (RFC 7519, RFC 8725): issue and validation with an injected clock, durations.
hwj_unit_test(test_jwt SOURCES test_jwt.c TIMEOUT 60)
# The signing hot path (core/jwrite.c) and the Jansson path give the same bytes.
hwj_unit_test(test_jwt_paths SOURCES test_jwt_paths.c TIMEOUT 60)
