# JWE (RFC 7516/7518) and the nested JWT.
hwj_unit_test(test_jwe_rfc7520 SOURCES test_jwe_rfc7520.c test_jwe_common.c TIMEOUT 120)
hwj_unit_test(test_jwe_roundtrip SOURCES test_jwe_roundtrip.c test_jwe_common.c TIMEOUT 120)
hwj_unit_test(test_jwe_attacks SOURCES test_jwe_attacks.c test_jwe_common.c TIMEOUT 120)
hwj_script_test(test_interop_jwe cli/test_interop_jwe.sh TIMEOUT 180)
