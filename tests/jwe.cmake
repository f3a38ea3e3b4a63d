# JWE (RFC 7516/7518) and the nested JWT.
# The tests with asymmetric keys run twice: with software keys, and (suffix _pkcs11) with
# every private key imported into a SoftHSM token of the pkcs11_token fixture, so RFC 7520's
# RSA1_5, RSA-OAEP, ECDH-ES(+A*KW), multi-recipient and nested examples decrypt in the token.
set(hwj_jwe_common test_jwe_common.c)
if(HWJ_WITH_PKCS11)
  list(APPEND hwj_jwe_common test_jwe_p11import.c)
endif()

function(hwj_jwe_test name)
  hwj_unit_test(${name} SOURCES ${name}.c ${hwj_jwe_common} TIMEOUT 120)
  if(HWJ_WITH_PKCS11)
    target_compile_definitions(${name} PRIVATE HWJ_SOFTHSM_MODULE="${HWJ_SOFTHSM_MODULE}")
    add_test(NAME ${name}_pkcs11 COMMAND ${name})
    set_tests_properties(${name}_pkcs11 PROPERTIES TIMEOUT 120 FIXTURES_REQUIRED pkcs11_token
      ENVIRONMENT "HWJ_TEST_STATE=${CMAKE_CURRENT_BINARY_DIR}/state;HWJ_JWE_BACKEND=pkcs11;SOFTHSM2_CONF=${hwj_p11_dir}/softhsm2.conf;HWJ_P11_TOKEN=hwj-test;HWJ_P11_PIN_FILE=${hwj_p11_dir}/user.pin")
  endif()
endfunction()

hwj_jwe_test(test_jwe_rfc7520)
hwj_jwe_test(test_jwe_nested)
hwj_unit_test(test_jwe_roundtrip SOURCES test_jwe_roundtrip.c ${hwj_jwe_common} TIMEOUT 120)
hwj_unit_test(test_jwe_attacks SOURCES test_jwe_attacks.c ${hwj_jwe_common} TIMEOUT 120)
foreach(t test_jwe_roundtrip test_jwe_attacks)
  target_compile_definitions(${t} PRIVATE HWJ_SOFTHSM_MODULE="${HWJ_SOFTHSM_MODULE}")
endforeach()
hwj_script_test(test_interop_jwe cli/test_interop_jwe.sh TIMEOUT 180)
