# TPM 2.0 backend against a real swtpm that the fixture starts on free loopback ports with its
# state under the build tree (scripts/swtpm.sh), and stops and removes afterwards.
if(HWJ_WITH_TPM2)
  set(hwj_tpm_dir ${CMAKE_CURRENT_BINARY_DIR}/state/swtpm)
  set(hwj_tpm_script ${PROJECT_SOURCE_DIR}/scripts/swtpm.sh)
  add_test(NAME tpm2_swtpm_setup COMMAND bash -c
    "bash '${hwj_tpm_script}' destroy '${hwj_tpm_dir}' && bash '${hwj_tpm_script}' start '${hwj_tpm_dir}'")
  set_tests_properties(tpm2_swtpm_setup PROPERTIES FIXTURES_SETUP swtpm)
  add_test(NAME tpm2_swtpm_cleanup COMMAND bash ${hwj_tpm_script} destroy ${hwj_tpm_dir})
  set_tests_properties(tpm2_swtpm_cleanup PROPERTIES FIXTURES_CLEANUP swtpm)

  hwj_unit_test(test_tpm2 SOURCES test_tpm2.c FIXTURES swtpm TIMEOUT 180)
  # One swtpm, few object slots, no resource manager: TPM tests do not run alongside each other.
  set_property(TEST test_tpm2 APPEND PROPERTY ENVIRONMENT "HWJ_TPM_DIR=${hwj_tpm_dir}")
  set_property(TEST test_tpm2 PROPERTY RESOURCE_LOCK swtpm)
endif()

# The library never prints: a missing or unreachable TCTI leaves stderr empty (no TPM needed).
if(HWJ_WITH_TPM2)
  hwj_unit_test(test_tpm2_quiet SOURCES test_tpm2_quiet.c TIMEOUT 60)
  # ROCA (CVE-2017-15361): a vulnerable key imported into the TPM (tpm2-tools) is refused at open.
  hwj_unit_test(test_roca_tpm2 SOURCES test_roca_tokens.c FIXTURES swtpm TIMEOUT 120)
  add_dependencies(test_roca_tpm2 hwjose-cli)
  set_property(TEST test_roca_tpm2 APPEND PROPERTY ENVIRONMENT "HWJ_TPM_DIR=${hwj_tpm_dir}")
  set_property(TEST test_roca_tpm2 PROPERTY RESOURCE_LOCK swtpm)
endif()

# Nested JWTs between a TPM key and a SoftHSM key, through the CLI (needs both fixtures).
if(HWJ_WITH_TPM2 AND HWJ_WITH_PKCS11)
  hwj_script_test(test_tpm2_nested tpm2/test_nested.sh FIXTURES "swtpm;pkcs11_token" TIMEOUT 120)
  set_property(TEST test_tpm2_nested APPEND PROPERTY ENVIRONMENT "HWJ_TPM_DIR=${hwj_tpm_dir}"
    "HWJ_P11_DIR=${CMAKE_CURRENT_BINARY_DIR}/state/softhsm-pkcs11"
    "SOFTHSM2_CONF=${CMAKE_CURRENT_BINARY_DIR}/state/softhsm-pkcs11/softhsm2.conf")
  set_property(TEST test_tpm2_nested PROPERTY RESOURCE_LOCK swtpm)
endif()
