# The OpenSSL provider (provider/, hwjose.so) driven by real programs: openssl pkeyutl, req,
# s_server and s_client, curl, and hwjose serve with its TLS key in the token.
if(HWJ_WITH_PKCS11 AND TARGET hwjose_server)
  hwj_script_test(test_provider provider/test_provider.sh TIMEOUT 240)
  set_property(TEST test_provider APPEND PROPERTY ENVIRONMENT
    "HWJ_PROVIDER_DIR=$<TARGET_FILE_DIR:hwjose_provider>"
    "HWJ_SOFTHSM_MODULE=${HWJ_SOFTHSM_MODULE}")
endif()

# A TPM key through the same store (swtpm fixture; one TPM, so never alongside other TPM tests).
if(HWJ_WITH_TPM2)
  hwj_script_test(test_provider_tpm2 provider/test_provider_tpm2.sh FIXTURES swtpm TIMEOUT 240)
  set_property(TEST test_provider_tpm2 APPEND PROPERTY ENVIRONMENT
    "HWJ_PROVIDER_DIR=$<TARGET_FILE_DIR:hwjose_provider>"
    "HWJ_TPM_DIR=${CMAKE_CURRENT_BINARY_DIR}/state/swtpm")
  set_property(TEST test_provider_tpm2 PROPERTY RESOURCE_LOCK swtpm)
endif()
