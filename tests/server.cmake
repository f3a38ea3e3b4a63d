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
# What an operator runs and reads: --check-config, structured and access logs, sd_notify, /livez,
# /readyz (a SoftHSM token moved away), and the operational metrics.
if(TARGET hwjose_server AND HWJ_WITH_PKCS11)
  hwj_script_test(test_server_ops server/test_server_ops.sh TIMEOUT 120)
  set_property(TEST test_server_ops APPEND PROPERTY ENVIRONMENT
  "HWJ_SOFTHSM_MODULE=${HWJ_SOFTHSM_MODULE}")
endif()
# SIGHUP applies a renewed TLS certificate, key and client CA to new connections, or is rejected.
if(TARGET hwjose_server)
  hwj_script_test(test_server_tls_reload server/test_server_tls_reload.sh TIMEOUT 60)
endif()
# The token directory moved away and back under load: 503 while gone, served again within 2 s
# (the PKCS#11 backend re-initialises the module), no restart. Its own SoftHSM token.
if(TARGET hwjose_server AND HWJ_WITH_PKCS11)
  hwj_script_test(test_server_token_recovery server/test_server_token_recovery.sh TIMEOUT 60)
  set_property(TEST test_server_token_recovery APPEND PROPERTY ENVIRONMENT
    "HWJ_SOFTHSM_MODULE=${HWJ_SOFTHSM_MODULE}")
endif()
# The audit trail (issue 16): flood of unauthenticated requests, ENOSPC mid-record (the shim
# below), tampering against checkpoints signed by an audit key in SoftHSM, start-up RSS.
if(TARGET hwjose_server AND HWJ_WITH_PKCS11)
  add_library(hwj_audit_shim_enospc MODULE server/shim_enospc.c)
  target_link_libraries(hwj_audit_shim_enospc PRIVATE ${CMAKE_DL_LIBS})
  # Preloaded into the test's helper programs too (seq, sed): never instrumented, so it loads
  # into a program without the sanitizer runtime.
  target_compile_options(hwj_audit_shim_enospc PRIVATE -fno-sanitize=all)
  target_link_options(hwj_audit_shim_enospc PRIVATE -fno-sanitize=all)
  hwj_script_test(test_audit server/test_audit.sh TIMEOUT 240)
  set_property(TEST test_audit APPEND PROPERTY ENVIRONMENT
    "HWJ_SOFTHSM_MODULE=${HWJ_SOFTHSM_MODULE}"
    "HWJ_ENOSPC_SHIM=$<TARGET_FILE:hwj_audit_shim_enospc>")
endif()
