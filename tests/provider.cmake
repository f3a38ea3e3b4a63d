# The OpenSSL provider (provider/, hwjose.so) driven by real programs: openssl pkeyutl, req,
# s_server and s_client, curl, and hwjose serve with its TLS key in the token.
if(HWJ_WITH_PKCS11 AND TARGET hwjose_server)
  hwj_script_test(test_provider provider/test_provider.sh TIMEOUT 240)
  set_property(TEST test_provider APPEND PROPERTY ENVIRONMENT
    "HWJ_PROVIDER_DIR=$<TARGET_FILE_DIR:hwjose_provider>"
    "HWJ_SOFTHSM_MODULE=${HWJ_SOFTHSM_MODULE}")
endif()
