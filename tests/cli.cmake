# The hwjose CLI contract (docs/cli.md): sign, verify, jwt, jwks, thumbprint.
hwj_script_test(test_cli cli/test_cli.sh TIMEOUT 120)
# Interop with panva/jose (node): JWT and JWS both ways for RS256, PS256, ES256, EdDSA, Ed25519.
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
# Man pages: every option `--help` lists is in the command's page; bash completion (subcommands,
# options, key URIs from `hwjose keys` on a SoftHSM token of the test's own).
if(HWJ_WITH_MAN AND HWJ_WITH_PKCS11)
  hwj_script_test(test_man man/test_man.sh TIMEOUT 120)
  set_property(TEST test_man APPEND PROPERTY ENVIRONMENT "HWJ_MAN_DIR=${PROJECT_BINARY_DIR}/man"
    "HWJ_SOFTHSM_MODULE=${HWJ_SOFTHSM_MODULE}")
endif()
