# Remote JWKS cache (libcurl) against a controllable static server on loopback
# (tests/jwks_server.py); the injected clock keeps the binary fast.
if(HWJ_WITH_CURL)
  hwj_unit_test(test_jwks_cache SOURCES test_jwks_cache.c TIMEOUT 60)
  # `hwjose jwt verify --jwks-uri` against the real service, across a key rotation.
  if(TARGET hwjose_server)
    hwj_script_test(test_jwks_cache_service test_jwks_cache_service.sh TIMEOUT 60)
  endif()
endif()
