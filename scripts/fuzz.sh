#!/usr/bin/env bash
# Run the libFuzzer targets (fuzz/, docs/security.md "Fuzzing").
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]   fuzz each target for the given time
#                                                      (default 60 s; default all targets)
#   scripts/fuzz.sh --merge [TARGET...]                minimise the grown corpus into the seed
#                                                      corpus fuzz/corpus/<target>/ (-merge=1)
#   scripts/fuzz.sh --list                             the targets
#
# Builds with clang into $HWJ_FUZZ_BUILD (default build-fuzz): -fsanitize=fuzzer plus
# ASan+UBSan (HWJ_SANITIZE). Targets run one after another, never two at once. Each grows its
# corpus in $HWJ_FUZZ_BUILD/fuzz-work/<target>/corpus (seeded from fuzz/corpus/<target>/ and
# fuzz/regress/<target>/); a crash, leak or sanitizer report lands there as crash-*/leak-*/
# timeout-*/oom-*. Prints execs, exec/s, coverage and findings per target; exits 1 on any finding.
# Each new crash-*, leak-* and timeout-* input is also copied to fuzz/regress/<target>/, where
# ctest's fuzz_replay_<target> replays it in every build from then on (fix the bug in src/ and
# commit the input with the fix). oom-* inputs stay in the work folder: replaying them would
# take gigabytes in every ctest run.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${HWJ_FUZZ_BUILD:-$top/build-fuzz}
all=(jws_compact jws_json jwe jwk jwt dpop jview server_config server_request)

dict_of() {
  case $1 in
  server_*) echo "$top/fuzz/dict/server.dict" ;;
  *) echo "$top/fuzz/dict/jose.dict" ;;
  esac
}

configure() {
  mkdir -p "$build"
  if ! { cmake -S "$top" -B "$build" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DHWJ_FUZZ=ON -DHWJ_SANITIZE=ON -DHWJ_BUILD_TESTS=OFF -DHWJ_BUILD_BENCH=OFF &&
    cmake --build "$build" -j2 --target fuzzers; } >"$build/fuzz-build.log" 2>&1; then
    tail -20 "$build/fuzz-build.log" >&2
    echo "fuzz.sh: the clang fuzz build failed (log: $build/fuzz-build.log)" >&2
    exit 2
  fi
}

mode=run
secs=60
case ${1:-} in
--list) printf '%s\n' "${all[@]}"; exit 0 ;;
--merge) mode=merge; shift ;;
'' | *[!0-9]*) ;;
*) secs=$1; shift ;;
esac
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all[@]}")
for t in "${targets[@]}"; do
  [[ " ${all[*]} " == *" $t "* ]] || { echo "fuzz.sh: unknown target '$t' (--list)" >&2; exit 2; }
done
command -v clang >/dev/null || { echo "fuzz.sh: clang is required (scripts/install-deps.sh)" >&2; exit 2; }
configure

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

if [ $mode = merge ]; then
  for t in "${targets[@]}"; do
    work=$build/fuzz-work/$t
    seeds=$top/fuzz/corpus/$t
    tmp=$(mktemp -d)
    mkdir -p "$work/corpus"
    "$build/fuzz/fuzz_$t" -merge=1 -timeout=10 -rss_limit_mb=2048 "$tmp" "$seeds" "$work/corpus" \
      >"$build/fuzz-work/$t.merge.log" 2>&1
    rm -f "$seeds"/*
    cp "$tmp"/* "$seeds"/
    rm -rf "$tmp"
    echo "$t: $(ls "$seeds" | wc -l) seeds"
  done
  exit 0
fi

findings=0
printf '%-16s %12s %9s %8s %8s %8s  %s\n' target execs exec/s cov ft corpus findings
for t in "${targets[@]}"; do
  work=$build/fuzz-work/$t
  mkdir -p "$work/corpus"
  log=$work/log.txt
  rc=0
  artifacts() { find "$work" -maxdepth 1 \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' \
    -o -name 'oom-*' \) | sort; }
  before=$(artifacts)
  "$build/fuzz/fuzz_$t" -max_total_time="$secs" -print_final_stats=1 -timeout=10 \
    -rss_limit_mb=2048 -max_len=16384 -dict="$(dict_of "$t")" -artifact_prefix="$work/" \
    "$work/corpus" "$top/fuzz/corpus/$t" "$top/fuzz/regress/$t" >"$log" 2>&1 || rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  last=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  corp=$(sed -n 's/.* corp: \([0-9]*\/[0-9a-zA-Z]*\).*/\1/p' <<<"$last")
  found=
  while IFS= read -r a; do
    [ -n "$a" ] || continue
    case ${a##*/} in
    oom-*) found+="$a " ;;
    *) mkdir -p "$top/fuzz/regress/$t"
      cp "$a" "$top/fuzz/regress/$t/"
      found+="fuzz/regress/$t/${a##*/} " ;;
    esac
  done < <(comm -13 <(echo "$before") <(artifacts))
  note=none
  if [ $rc -ne 0 ] || [ -n "$found" ]; then
    findings=$((findings + 1))
    note="FOUND (exit $rc): ${found:-see $log}"
  fi
  printf '%-16s %12s %9s %8s %8s %8s  %s\n' "$t" "${execs:-?}" "${eps:-?}" "${cov:-?}" \
    "${ft:-?}" "${corp:-?}" "$note"
  if [ "$note" != none ]; then
    grep -E 'ERROR: |runtime error|SUMMARY' "$log" | head -5 | sed 's/^/    /'
  fi
done
[ $findings -eq 0 ] || {
  echo "fuzz.sh: $findings target(s) with findings; logs in $build/fuzz-work/; crash, leak and" \
    "timeout inputs copied to fuzz/regress/<target>/ (ctest replays them)" >&2
  exit 1
}
