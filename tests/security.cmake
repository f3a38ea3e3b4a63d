# Security (RFC 8725 and adversarial conformance; docs/security.md maps each item to its test).
hwj_unit_test(test_rfc8725 SOURCES test_rfc8725.c LIBS hwj_test_jws_util TIMEOUT 60)
# A published JWK Set holds public keys only (the remote JWKS cache), against a loopback server.
if(HWJ_WITH_CURL)
  hwj_unit_test(test_rfc8725_jwks SOURCES test_rfc8725_jwks.c TIMEOUT 60)
endif()
# ROCA (CVE-2017-15361): refused at JWK/JWKS import and key open; test vectors in tests/data/roca.
hwj_unit_test(test_roca SOURCES test_roca.c TIMEOUT 60)
# Key-set rules and serializations by request (issue 18).
hwj_unit_test(test_trust SOURCES test_trust.c TIMEOUT 60)
