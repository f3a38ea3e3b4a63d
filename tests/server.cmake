# hwjose serve: the real server on a free loopback port, driven by curl and panva/jose.
if(TARGET hwjose_server)
  hwj_script_test(test_server server/test_server.sh TIMEOUT 120)
  # The audit module's parts alone: rollback, tail read, rotation, the denial table, the verifier.
  hwj_unit_test(test_audit_log SOURCES test_audit_log.c LIBS hwjose_server TIMEOUT 60)
  # The HTTP/1.1 layer alone: parsing, framing refusals, pipelining (no sockets, no keys).
  hwj_unit_test(test_http1 SOURCES test_http1.c LIBS hwjose_server TIMEOUT 60)
endif()
# The HTTP/1.1 contract (keep-alive, pipelining, HEAD, 100-continue, framing errors, timeouts,
# max_connections, audit of failed operations), plain and TLS, every key in SoftHSM.
if(TARGET hwjose_server AND HWJ_WITH_PKCS11)
  hwj_script_test(test_server_http server/test_server_http.sh TIMEOUT 180)
  set_property(TEST test_server_http APPEND PROPERTY ENVIRONMENT
    "HWJ_SOFTHSM_MODULE=${HWJ_SOFTHSM_MODULE}")
endif()
# The audit trail (issue 16): flood of unauthenticated requests, ENOSPC mid-record (the shim
# below), tampering against checkpoints signed by an audit key in SoftHSM, start-up RSS.
if(TARGET hwjose_server AND HWJ_WITH_PKCS11)
  add_library(hwj_audit_shim_enospc MODULE server/shim_enospc.c)
  target_link_libraries(hwj_audit_shim_enospc PRIVATE ${CMAKE_DL_LIBS})
  hwj_script_test(test_audit server/test_audit.sh TIMEOUT 240)
  set_property(TEST test_audit APPEND PROPERTY ENVIRONMENT
    "HWJ_SOFTHSM_MODULE=${HWJ_SOFTHSM_MODULE}"
    "HWJ_ENOSPC_SHIM=$<TARGET_FILE:hwj_audit_shim_enospc>")
endif()
