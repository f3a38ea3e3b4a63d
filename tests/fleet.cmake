# The fleet (issue 15 item 6): key versions rotated under load through HAProxy, three `hwjose
# serve` replicas on one SoftHSM token and the PostgreSQL of the store tests' fixture; and the
# same on one node with the default SQLite store. RUN_SERIAL: timing matters and it loads both
# cores; RESOURCE_LOCK postgres: test_store_pg stops that server mid-test.
if(TARGET hwjose_server AND HWJ_WITH_PKCS11 AND HWJ_WITH_SQLITE)
  set(hwj_fleet_env
    "HWJOSE=$<TARGET_FILE:hwjose-cli>;HWJ_SOURCE_DIR=${PROJECT_SOURCE_DIR};HWJ_TEST_STATE=${CMAKE_CURRENT_BINARY_DIR}/state;HWJ_SOFTHSM_MODULE=${HWJ_SOFTHSM_MODULE}")
  add_test(NAME test_fleet_sqlite COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/fleet/test_fleet.sh sqlite)
  set_tests_properties(test_fleet_sqlite PROPERTIES TIMEOUT 120 RUN_SERIAL TRUE
    ENVIRONMENT "${hwj_fleet_env}")
  if(HWJ_WITH_POSTGRESQL)
    add_test(NAME test_fleet_pg COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/fleet/test_fleet.sh pg)
    set_tests_properties(test_fleet_pg PROPERTIES TIMEOUT 120 RUN_SERIAL TRUE
      FIXTURES_REQUIRED postgres RESOURCE_LOCK postgres ENVIRONMENT
      "${hwj_fleet_env};HWJ_PG_DIR=${hwj_pg_dir};HWJ_PG_SCRIPT=${hwj_pg_script}")
  endif()
endif()
