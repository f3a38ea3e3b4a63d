# The hwjose CLI contract (docs/cli.md): sign, verify, jwt, jwks, thumbprint.
hwj_script_test(test_cli cli/test_cli.sh TIMEOUT 120)
# Interop with panva/jose (node): JWT and JWS both ways for RS256, PS256, ES256, EdDSA.
hwj_script_test(test_interop_jose cli/test_interop_jose.sh TIMEOUT 180)
# JWE and nested JWTs with every private key in a SoftHSM token the test makes and removes with
# scripts/softhsm-token.sh (its own token store: SoftHSM's file store is racy across processes,
# see fault.cmake), and the encrypt/decrypt exit-code contract. test_demo runs scripts/demo.sh
# (the README's first command) against this build's CLI, its token under the build tree.
if(HWJ_WITH_PKCS11)
  foreach(t test_cli_jwe test_demo)
    hwj_script_test(${t} cli/${t}.sh TIMEOUT 180)
    set_property(TEST ${t} APPEND PROPERTY ENVIRONMENT "HWJ_SOFTHSM_MODULE=${HWJ_SOFTHSM_MODULE}")
  endforeach()
endif()
