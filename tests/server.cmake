# hwjose serve: the real server on a free loopback port, driven by curl and panva/jose.
if(TARGET hwjose_server)
  hwj_script_test(test_server server/test_server.sh TIMEOUT 120)
endif()
# The HTTP/1.1 layer alone: parsing, framing refusals, pipelining (no sockets, no keys).
if(TARGET hwjose_server)
  hwj_unit_test(test_http1 SOURCES test_http1.c LIBS hwjose_server TIMEOUT 60)
endif()
