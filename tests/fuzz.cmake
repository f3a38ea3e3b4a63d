# Fuzz regressions: every fuzz target (fuzz/fuzz_<name>.c) is built with a replay main() and
# run over its seed corpus (fuzz/corpus/<name>/) and past findings (fuzz/regress/<name>/),
# so each finding stays a test. The fuzzers themselves: scripts/fuzz.sh.
include(${PROJECT_SOURCE_DIR}/fuzz/targets.cmake)
foreach(t ${HWJ_FUZZ_TARGETS})
  hwj_fuzz_executable(fuzz_replay_${t} ${t} REPLAY)
  add_test(NAME fuzz_replay_${t} COMMAND fuzz_replay_${t} ${HWJ_FUZZ_DIR}/corpus/${t}
                                          ${HWJ_FUZZ_DIR}/regress/${t})
  set_tests_properties(fuzz_replay_${t} PROPERTIES TIMEOUT 120 LABELS fuzz)
endforeach()
hwj_fuzz_mkseeds()
