# The OpenSSL provider (provider/, hwjose.so) driven by real programs: openssl pkeyutl, req,
# s_server and s_client, curl, and hwjose serve with its TLS key in the token.
# A sanitized hwjose.so needs the sanitizer runtime in the (unsanitized) openssl that loads it:
# the tests preload it there.
set(hwj_prov_preload "")
if(HWJ_SANITIZE)
  if(CMAKE_C_COMPILER_ID MATCHES "Clang")
    set(hwj_asan_rt libclang_rt.asan-${CMAKE_SYSTEM_PROCESSOR}.so)
  else()
    set(hwj_asan_rt libasan.so)
  endif()
  execute_process(COMMAND ${CMAKE_C_COMPILER} -print-file-name=${hwj_asan_rt}
    OUTPUT_VARIABLE hwj_prov_preload OUTPUT_STRIP_TRAILING_WHITESPACE)
endif()

if(HWJ_WITH_PKCS11 AND TARGET hwjose_server)
  hwj_script_test(test_provider provider/test_provider.sh TIMEOUT 240)
  set_property(TEST test_provider APPEND PROPERTY ENVIRONMENT
    "HWJ_PROVIDER_DIR=$<TARGET_FILE_DIR:hwjose_provider>" "HWJ_PROVIDER_PRELOAD=${hwj_prov_preload}"
    "HWJ_SOFTHSM_MODULE=${HWJ_SOFTHSM_MODULE}")
endif()

# A TPM key through the same store (swtpm fixture; one TPM, so never alongside other TPM tests).
if(HWJ_WITH_TPM2)
  hwj_script_test(test_provider_tpm2 provider/test_provider_tpm2.sh FIXTURES swtpm TIMEOUT 240)
  set_property(TEST test_provider_tpm2 APPEND PROPERTY ENVIRONMENT
    "HWJ_PROVIDER_DIR=$<TARGET_FILE_DIR:hwjose_provider>" "HWJ_PROVIDER_PRELOAD=${hwj_prov_preload}"
    "HWJ_TPM_DIR=${CMAKE_CURRENT_BINARY_DIR}/state/swtpm")
  set_property(TEST test_provider_tpm2 PROPERTY RESOURCE_LOCK swtpm)
endif()
