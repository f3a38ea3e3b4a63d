#!/usr/bin/env bash
# test_demo.sh: the README's first command, scripts/demo.sh, against the built CLI ($HWJOSE makes
# it skip install-deps.sh and the build) with its token in a folder under $HWJ_TEST_STATE
# (HWJ_DEMO_DIR) instead of tokens/softhsm/. It must succeed twice (the second run reuses the
# token and its keys) and leave the JWT and the nested JWT it made. The token is removed with
# scripts/softhsm-token.sh afterwards. Env: HWJOSE, HWJ_SOURCE_DIR, HWJ_TEST_STATE.
set -uo pipefail

: "${HWJOSE:?set HWJOSE to the hwjose binary}"
src=${HWJ_SOURCE_DIR:?set HWJ_SOURCE_DIR}
state=${HWJ_TEST_STATE:-${TMPDIR:-/tmp}}
mkdir -p "$state"
w=$(mktemp -d "$state/demo.XXXXXX")
fails=0
cleanup() { bash "$src/scripts/softhsm-token.sh" destroy "$w/softhsm" || true; rm -rf "$w"; }
trap cleanup EXIT
unset HWJOSE_PIN
export HWJOSE HWJ_DEMO_DIR=$w/softhsm

ok() { echo "ok   - $*"; }
fail() { fails=$((fails + 1)); echo "FAIL - $*"; }
parts() { tr -cd . <"$1" | wc -c; }

for run in first second; do
    if bash "$src/scripts/demo.sh" >"$w/$run.log" 2>&1; then
        ok "demo.sh, $run run"
    else
        fail "demo.sh, $run run (exit $?):"
        sed 's/^/    /' "$w/$run.log"
    fi
done
out=$w/softhsm/demo
grep -q "token 'hwjose' created" "$w/first.log" && ok "the first run creates the token" ||
    fail "the first run did not create the token"
grep -q "^softhsm-token.sh: .*\(created\|generated\)" "$w/second.log" && fail "the second run made a token or key again" ||
    ok "the second run reuses the token and its keys"
[ -s "$out/token.jwt" ] && [ "$(parts "$out/token.jwt")" -eq 2 ] && ok "a JWT was issued" ||
    fail "no JWT in $out/token.jwt"
[ -s "$out/nested.jwe" ] && [ "$(parts "$out/nested.jwe")" -eq 4 ] && ok "a nested JWT (compact JWE)" ||
    fail "no nested JWT in $out/nested.jwe"
grep -q "both private keys stayed inside SoftHSM" "$w/second.log" && ok "it ran to the end" ||
    fail "the last step is missing"
eval "$(bash "$src/scripts/softhsm-token.sh" env "$w/softhsm")"
n=$("$HWJOSE" keys --token "pkcs11:token=hwjose?pin-source=file:$w/softhsm/user.pin" --json |
    jq '[.[] | select(.custody.sensitive and (.custody.extractable | not))] | length')
[ "$n" = 2 ] && ok "two keys in the token, both sensitive and not extractable" ||
    fail "the token holds $n sensitive non-extractable keys, want 2"

[ "$fails" -eq 0 ] || { echo "$fails check(s) failed"; exit 1; }
