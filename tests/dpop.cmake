# DPoP (RFC 9449): proofs and their verification with software keys and an injected clock.
hwj_unit_test(test_dpop SOURCES test_dpop.c TIMEOUT 60)
