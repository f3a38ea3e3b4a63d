# hwjose serve: the real server on a free loopback port, driven by curl and panva/jose.
if(TARGET hwjose_server)
  hwj_script_test(test_server server/test_server.sh TIMEOUT 120)
endif()
