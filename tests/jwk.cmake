# JWK/JWKS (RFC 7517, 7518 §6, 7638, 8037) and the software key backend.
hwj_unit_test(test_jwk SOURCES test_jwk.c TIMEOUT 60)
hwj_unit_test(test_soft SOURCES test_soft.c TIMEOUT 60)
