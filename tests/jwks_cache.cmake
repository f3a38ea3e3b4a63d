# Remote JWKS cache (libcurl) against a controllable static server on loopback
# (tests/jwks_server.py); the injected clock keeps the binary fast.
if(HWJ_WITH_CURL)
  hwj_unit_test(test_jwks_cache SOURCES test_jwks_cache.c TIMEOUT 60)
endif()
