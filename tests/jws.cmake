# JWS (RFC 7515, 7797, 8037): the RFC 7520 cookbook, round trips for every alg, attacks.
add_library(hwj_test_jws_util STATIC test_jws_util.c)
target_link_libraries(hwj_test_jws_util PUBLIC hwj_testutil)
hwj_unit_test(test_jws_conformance SOURCES test_jws_conformance.c LIBS hwj_test_jws_util
              TIMEOUT 60)
hwj_unit_test(test_jws SOURCES test_jws.c LIBS hwj_test_jws_util TIMEOUT 60)
hwj_unit_test(test_jws_attacks SOURCES test_jws_attacks.c LIBS hwj_test_jws_util TIMEOUT 60)
