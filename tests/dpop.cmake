# DPoP (RFC 9449): proofs and their verification with software keys and an injected clock.
hwj_unit_test(test_dpop SOURCES test_dpop.c TIMEOUT 60)

# Interop with npm dpop and oauth4webapi, hostile proofs, and `hwjose serve` issuing DPoP-bound
# at+jwt, with client keys in SoftHSM (a token of its own) and swtpm (the fixture).
if(HWJ_WITH_TPM2 AND HWJ_WITH_PKCS11)
  hwj_script_test(test_dpop_interop cli/test_dpop.sh FIXTURES swtpm TIMEOUT 240)
  set_property(TEST test_dpop_interop APPEND PROPERTY ENVIRONMENT
    "HWJ_TPM_DIR=${CMAKE_CURRENT_BINARY_DIR}/state/swtpm" "HWJ_SOFTHSM_MODULE=${HWJ_SOFTHSM_MODULE}")
  set_property(TEST test_dpop_interop PROPERTY RESOURCE_LOCK swtpm)
endif()
