#!/usr/bin/env bash
# test_install.sh: install this build into a temporary prefix (as a user would, at a prefix that
# differs from the configured one) and build a consumer against it with pkg-config and with
# CMake's find_package, then run both and the installed CLI. Checks that nothing of the build
# tree leaks into what is installed. Env: HWJ_BINARY_DIR, HWJ_SOURCE_DIR, HWJ_TEST_STATE;
# HWJ_CC and HWJ_CONSUMER_SAN (the build's compiler, and its sanitizer flags in a sanitized build).
set -uo pipefail

bin=${HWJ_BINARY_DIR:?set HWJ_BINARY_DIR}
src=${HWJ_SOURCE_DIR:?set HWJ_SOURCE_DIR}
state=${HWJ_TEST_STATE:-${TMPDIR:-/tmp}}
mkdir -p "$state"
w=$(mktemp -d "$state/install.XXXXXX")
fails=0
cleanup() { if [ "$fails" -eq 0 ]; then rm -rf "$w"; else echo "state kept in $w"; fi; }
trap cleanup EXIT
ok() { echo "ok   - $*"; }
fail() { fails=$((fails + 1)); echo "FAIL - $*"; }
check() { local name=$1; shift; if "$@"; then ok "$name"; else fail "$name"; fi; }

P=$w/prefix
key="file:$src/tests/data/soft-p256.pem"
if cmake --install "$bin" --prefix "$P" >"$w/install.log" 2>&1; then
    ok "cmake --install into a temp prefix"
else
    fail "cmake --install into a temp prefix: $(tail -5 "$w/install.log")"
fi
pc=$(find "$P" -name hwjose.pc | head -1)
check "hwjose.pc installed" test -n "$pc"
check "version.h installed" test -f "$P/include/hwjose/version.h"
check "man pages installed (man hwjose-jwt)" bash -c "MANPATH='$P/share/man' man -w hwjose-jwt >/dev/null"
check "hwjose.conf(5) and hwjose-serve(8) installed" test -f "$P/share/man/man5/hwjose.conf.5" -a -f "$P/share/man/man8/hwjose-serve.8"
check "bash completion installed" test -f "$P/share/bash-completion/completions/hwjose"
check "no build-tree path in hwjose.pc" bash -c "! grep -q '$bin' '$pc'"
check "no PkgConfig:: target in the CMake package" \
    bash -c "! grep -rq 'PkgConfig::' '$P'/lib*/cmake/hwjose '$P'/lib/*/cmake/hwjose 2>/dev/null"

# pkg-config: the prefix comes from where the .pc file is.
export PKG_CONFIG_PATH=$(dirname "$pc")
cflags=$(pkg-config --cflags hwjose)
libs=$(pkg-config --libs hwjose)
incdir=$(pkg-config --variable=includedir hwjose)
check "pkg-config's includedir is the prefix's ($incdir)" test "$(realpath "$incdir")" = "$(realpath "$P/include")"
check "pkg-config --cflags names it" grep -qF -- "-I$incdir" <<<"$cflags"
check "pkg-config: libcrypto is a public requirement" bash -c "pkg-config --print-requires hwjose | grep -q libcrypto"
libdir=$(pkg-config --variable=libdir hwjose)
# shellcheck disable=SC2086
ccmd=${HWJ_CC:-cc}
san=${HWJ_CONSUMER_SAN:-}
# shellcheck disable=SC2086
if "$ccmd" -std=c11 -Wall -Werror $san $cflags -o "$w/consumer-pc" "$src/tests/install/consumer/consumer.c" \
    $libs "-Wl,-rpath,$libdir" 2>"$w/cc.log"; then
    ok "consumer builds with pkg-config"
    out=$("$w/consumer-pc" "$key" 2>&1)
    check "pkg-config consumer runs against the installed library ($out)" grep -q ": installed$" <<<"$out"
    check "it loaded the installed libhwjose" bash -c "ldd '$w/consumer-pc' | grep -qF '$P/'"
else
    fail "consumer builds with pkg-config: $(cat "$w/cc.log")"
fi

# CMake: find_package(hwjose) from the prefix.
if cmake -S "$src/tests/install/consumer" -B "$w/cm" -DCMAKE_PREFIX_PATH="$P" -DCMAKE_C_COMPILER="$ccmd" \
    -DCMAKE_C_FLAGS="$san" -DCMAKE_EXE_LINKER_FLAGS="$san" >"$w/cm.log" 2>&1 &&
    cmake --build "$w/cm" >>"$w/cm.log" 2>&1; then
    ok "consumer builds with find_package(hwjose)"
    out=$("$w/cm/consumer" "$key" 2>&1)
    check "find_package consumer runs ($out)" grep -q ": installed$" <<<"$out"
else
    fail "consumer builds with find_package: $(tail -20 "$w/cm.log")"
fi

# The installed CLI finds its library relative to itself.
check "installed hwjose runs and links the installed libhwjose" \
    bash -c "ldd '$P/bin/hwjose' | grep -qF '$P/' && '$P/bin/hwjose' --version >/dev/null"

echo "# $fails failure(s)"
[ "$fails" -eq 0 ]
