# The service's key-version timeline (pure functions) and its state store.
if(TARGET hwjose_server)
  hwj_unit_test(test_lifecycle SOURCES test_lifecycle.c LIBS hwjose_server TIMEOUT 30)
endif()
# The store: one binary, run against SQLite (a temp file) and against a real PostgreSQL 15 that
# the fixture starts under the build tree (tests/fixtures/postgres.sh) and removes afterwards.
if(TARGET hwjose_server AND (HWJ_WITH_SQLITE OR HWJ_WITH_POSTGRESQL))
  add_executable(test_store test_store.c)
  target_link_libraries(test_store PRIVATE hwj_testutil hwjose_server)
endif()
if(TARGET hwjose_server AND HWJ_WITH_SQLITE)
  add_test(NAME test_store_sqlite COMMAND test_store sqlite)
  set_tests_properties(test_store_sqlite PROPERTIES TIMEOUT 120
    ENVIRONMENT "HWJ_TEST_STATE=${CMAKE_CURRENT_BINARY_DIR}/state")
endif()
if(TARGET hwjose_server AND HWJ_WITH_POSTGRESQL)
  add_test(NAME postgres_setup COMMAND bash -c
    "bash '${hwj_pg_script}' destroy '${hwj_pg_dir}' && bash '${hwj_pg_script}' start '${hwj_pg_dir}'")
  set_tests_properties(postgres_setup PROPERTIES FIXTURES_SETUP postgres TIMEOUT 120)
  add_test(NAME postgres_cleanup COMMAND bash ${hwj_pg_script} destroy ${hwj_pg_dir})
  set_tests_properties(postgres_cleanup PROPERTIES FIXTURES_CLEANUP postgres)

  # Stops and restarts the server mid-test: nothing else may use it meanwhile.
  add_test(NAME test_store_pg COMMAND test_store postgresql)
  set_tests_properties(test_store_pg PROPERTIES TIMEOUT 120 FIXTURES_REQUIRED postgres
    RESOURCE_LOCK postgres ENVIRONMENT
    "HWJ_TEST_STATE=${CMAKE_CURRENT_BINARY_DIR}/state;HWJ_PG_DIR=${hwj_pg_dir};HWJ_PG_SCRIPT=${hwj_pg_script}")
endif()
