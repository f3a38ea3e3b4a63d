# PKCS#11 backend against a real SoftHSM token that the fixture creates under the build tree
# (scripts/softhsm-token.sh) and removes afterwards.
if(HWJ_WITH_PKCS11)
  set(hwj_p11_script ${PROJECT_SOURCE_DIR}/scripts/softhsm-token.sh)
  add_test(NAME pkcs11_token_setup COMMAND bash -c
    "bash '${hwj_p11_script}' destroy '${hwj_p11_dir}' && bash '${hwj_p11_script}' create '${hwj_p11_dir}' hwj-test && bash '${hwj_p11_script}' create '${hwj_p11_dir}' hwj-pin && bash '${hwj_p11_script}' create '${hwj_p11_dir}' hwj-interop && bash '${hwj_p11_script}' create '${hwj_p11_dir}' hwj-roca")
  set_tests_properties(pkcs11_token_setup PROPERTIES FIXTURES_SETUP pkcs11_token
    ENVIRONMENT "HWJ_SOFTHSM_MODULE=${HWJ_SOFTHSM_MODULE}")
  add_test(NAME pkcs11_token_cleanup COMMAND bash ${hwj_p11_script} destroy ${hwj_p11_dir})
  set_tests_properties(pkcs11_token_cleanup PROPERTIES FIXTURES_CLEANUP pkcs11_token)

  # A fault-injecting module over SoftHSM (locked PIN), loaded by module-path=.
  add_library(hwj_p11_shim_locked MODULE pkcs11/shim_locked.c)
  target_include_directories(hwj_p11_shim_locked PRIVATE ${P11KIT_INCLUDE_DIRS})
  target_compile_definitions(hwj_p11_shim_locked PRIVATE HWJ_SOFTHSM_MODULE="${HWJ_SOFTHSM_MODULE}")
  target_link_libraries(hwj_p11_shim_locked PRIVATE ${CMAKE_DL_LIBS})

  hwj_unit_test(test_pkcs11 SOURCES test_pkcs11.c test_jwe_p11import.c FIXTURES pkcs11_token
    TIMEOUT 180)
  target_compile_definitions(test_pkcs11 PRIVATE HWJ_SOFTHSM_MODULE="${HWJ_SOFTHSM_MODULE}")
  add_dependencies(test_pkcs11 hwj_p11_shim_locked)
  set_property(TEST test_pkcs11 APPEND PROPERTY ENVIRONMENT
    "SOFTHSM2_CONF=${hwj_p11_dir}/softhsm2.conf"
    "HWJ_P11_TOKEN=hwj-test"
    "HWJ_P11_PIN_TOKEN=hwj-pin"
    "HWJ_P11_PIN_FILE=${hwj_p11_dir}/user.pin"
    "HWJ_P11_LOCKED_SHIM=$<TARGET_FILE:hwj_p11_shim_locked>")

  # Extractable token keys: signing, decryption and key agreement refused without opt-in.
  hwj_unit_test(test_pkcs11_extractable SOURCES test_pkcs11_extractable.c test_jwe_p11import.c
    FIXTURES pkcs11_token TIMEOUT 60)
  target_compile_definitions(test_pkcs11_extractable PRIVATE
    HWJ_SOFTHSM_MODULE="${HWJ_SOFTHSM_MODULE}")
  set_property(TEST test_pkcs11_extractable APPEND PROPERTY ENVIRONMENT
    "SOFTHSM2_CONF=${hwj_p11_dir}/softhsm2.conf"
    "HWJ_P11_TOKEN=hwj-test"
    "HWJ_P11_PIN_FILE=${hwj_p11_dir}/user.pin")

  hwj_script_test(test_pkcs11_interop pkcs11/test_interop.sh FIXTURES pkcs11_token TIMEOUT 120)
  set_property(TEST test_pkcs11_interop APPEND PROPERTY ENVIRONMENT
    "SOFTHSM2_CONF=${hwj_p11_dir}/softhsm2.conf" "HWJ_P11_DIR=${hwj_p11_dir}"
    "HWJ_SOFTHSM_MODULE=${HWJ_SOFTHSM_MODULE}")

  # ROCA (CVE-2017-15361): a vulnerable key imported into the token is refused at open. A token
  # of its own: SoftHSM processes writing one token at once can miss it (test_pkcs11 runs beside).
  # A module over SoftHSM whose RSA "generator" is the flawed one (keygen is refused).
  add_library(hwj_p11_shim_roca MODULE pkcs11/shim_roca.c)
  target_include_directories(hwj_p11_shim_roca PRIVATE ${P11KIT_INCLUDE_DIRS})
  target_compile_definitions(hwj_p11_shim_roca PRIVATE HWJ_SOFTHSM_MODULE="${HWJ_SOFTHSM_MODULE}")
  target_link_libraries(hwj_p11_shim_roca PRIVATE ${CMAKE_DL_LIBS} PkgConfig::OPENSSL)
  hwj_unit_test(test_roca_pkcs11 SOURCES test_roca_tokens.c test_jwe_p11import.c
    FIXTURES pkcs11_token TIMEOUT 60)
  target_compile_definitions(test_roca_pkcs11 PRIVATE ROCA_PKCS11
    HWJ_SOFTHSM_MODULE="${HWJ_SOFTHSM_MODULE}")
  add_dependencies(test_roca_pkcs11 hwjose-cli hwj_p11_shim_roca)
  set_property(TEST test_roca_pkcs11 APPEND PROPERTY ENVIRONMENT
    "SOFTHSM2_CONF=${hwj_p11_dir}/softhsm2.conf" "HWJ_P11_TOKEN=hwj-roca"
    "HWJ_P11_PIN_FILE=${hwj_p11_dir}/user.pin"
    "HWJ_P11_ROCA_SHIM=$<TARGET_FILE:hwj_p11_shim_roca>")
endif()
