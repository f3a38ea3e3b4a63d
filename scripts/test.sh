#!/usr/bin/env bash
# The test command: install what is needed, then run every test twice —
#   1. gcc, warnings as errors, the release-like build (BUILD_DIR, default build/);
#   2. clang with ASan+UBSan (BUILD_DIR-asan): the same suite, every binary sanitized,
#      leaks checked (third-party suppressions: tests/sanitizer/lsan.supp).
# Usage: scripts/test.sh [BUILD_DIR]
# HWJ_TEST_SANITIZE=0 skips phase 2 for a quick local run; CI always runs both.
# Both phases configure with HWJ_BUILD_TESTS=ON (a build dir configured without tests, e.g. by
# hand, keeps that in its cache) and run ctest with --no-tests=error: zero tests is a failure.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build}
jobs=$(nproc)

phase() { printf '\n== %s (%s)\n' "$1" "$(date -u +%T)"; }

phase "dependencies"
"$top/scripts/install-deps.sh"

phase "build: gcc, -Werror"
cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHWJ_WERROR=ON \
    -DHWJ_BUILD_TESTS=ON >/dev/null
cmake --build "$build" -j"$jobs"
phase "tests: gcc build"
(cd "$build" && ctest --output-on-failure --no-tests=error -j"$jobs")

if [ "${HWJ_TEST_SANITIZE:-1}" != 0 ]; then
    asan=$build-asan
    phase "build: clang, ASan+UBSan, -Werror"
    CC=clang cmake -S "$top" -B "$asan" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHWJ_WERROR=ON \
        -DHWJ_SANITIZE=ON -DHWJ_BUILD_BENCH=OFF -DHWJ_BUILD_TESTS=ON >/dev/null
    cmake --build "$asan" -j"$jobs"
    phase "tests: ASan+UBSan build"
    (cd "$asan" && ctest --output-on-failure --no-tests=error -j"$jobs")
fi
phase "all tests passed"
