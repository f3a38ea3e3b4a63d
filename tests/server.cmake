# hwjose serve: the real server on a free loopback port, driven by curl and panva/jose.
if(TARGET hwjose_server)
  hwj_script_test(test_server server/test_server.sh TIMEOUT 120)
endif()
# The HTTP/1.1 contract (keep-alive, pipelining, HEAD, 100-continue, framing errors, timeouts,
# max_connections, audit of failed operations), plain and TLS, every key in SoftHSM.
if(TARGET hwjose_server AND HWJ_WITH_PKCS11)
  hwj_script_test(test_server_http server/test_server_http.sh TIMEOUT 180)
  set_property(TEST test_server_http APPEND PROPERTY ENVIRONMENT
    "HWJ_SOFTHSM_MODULE=${HWJ_SOFTHSM_MODULE}")
endif()
