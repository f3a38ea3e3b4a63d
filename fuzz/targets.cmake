# The fuzz targets, shared by fuzz/CMakeLists.txt (libFuzzer binaries, -DHWJ_FUZZ=ON with clang)
# and tests/fuzz.cmake (a replay driver per target in every build, run by ctest over the seed
# corpus and the regression inputs). One target is fuzz/fuzz_<name>.c.
set(HWJ_FUZZ_DIR ${PROJECT_SOURCE_DIR}/fuzz)
set(HWJ_FUZZ_TARGETS jws_compact jws_json jwe jwk jwt dpop jview)
if(TARGET hwjose_server)
  list(APPEND HWJ_FUZZ_TARGETS server_config server_request)
endif()

# hwj_fuzz_executable(EXE NAME [REPLAY]): the executable EXE for target NAME; with REPLAY it
# gets replay.c's main(), else libFuzzer's.
function(hwj_fuzz_executable exe name)
  set(src ${HWJ_FUZZ_DIR}/fuzz_${name}.c ${HWJ_FUZZ_DIR}/common.c)
  if(name MATCHES "^jws_")
    list(APPEND src ${HWJ_FUZZ_DIR}/jws_verify.c)
  endif()
  if(ARGV2 STREQUAL "REPLAY")
    list(APPEND src ${HWJ_FUZZ_DIR}/replay.c)
  endif()
  add_executable(${exe} ${src})
  target_include_directories(${exe} PRIVATE ${HWJ_FUZZ_DIR} ${PROJECT_SOURCE_DIR}/src)
  target_compile_definitions(${exe} PRIVATE HWJ_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
  if(name MATCHES "^server_")
    target_link_libraries(${exe} PRIVATE hwjose_server hwjose_obj)
  else()
    target_link_libraries(${exe} PRIVATE hwjose_obj)
  endif()
  if(NOT ARGV2 STREQUAL "REPLAY")
    target_link_options(${exe} PRIVATE -fsanitize=fuzzer)
  endif()
endfunction()

# fuzz_mkseeds: regenerates the gen-* seeds (see fuzz/mkseeds.c); not a test.
function(hwj_fuzz_mkseeds)
  add_executable(fuzz_mkseeds ${HWJ_FUZZ_DIR}/mkseeds.c ${HWJ_FUZZ_DIR}/common.c)
  target_include_directories(fuzz_mkseeds PRIVATE ${HWJ_FUZZ_DIR} ${PROJECT_SOURCE_DIR}/src)
  target_compile_definitions(fuzz_mkseeds PRIVATE HWJ_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
  target_link_libraries(fuzz_mkseeds PRIVATE hwjose_obj)
endfunction()
