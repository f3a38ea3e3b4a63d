#!/usr/bin/env bash
# test_man.sh: every option each `--help` lists is documented in that command's man page (the
# scdoc source, and the page is built), and bash completion offers the subcommands, the options
# (`hwjose <cmd> --help` is its source) and the key URIs `hwjose keys` lists (a SoftHSM token of
# the test's own). Env: HWJOSE, HWJ_SOURCE_DIR, HWJ_MAN_DIR (the built pages), HWJ_TEST_STATE.
set -uo pipefail

H=${HWJOSE:?set HWJOSE}
src=${HWJ_SOURCE_DIR:?set HWJ_SOURCE_DIR}
mandir=${HWJ_MAN_DIR:?set HWJ_MAN_DIR}
state=${HWJ_TEST_STATE:-${TMPDIR:-/tmp}}
mkdir -p "$state"
w=$(mktemp -d "$state/man.XXXXXX")
fails=0
cleanup() {
    bash "$src/scripts/softhsm-token.sh" destroy "$w/p11" >/dev/null 2>&1
    if [ "$fails" -eq 0 ]; then rm -rf "$w"; else echo "state kept in $w"; fi
}
trap cleanup EXIT
ok() { echo "ok   - $*"; }
fail() { fails=$((fails + 1)); echo "FAIL - $*"; }

# command → its page
pages=("|hwjose.1" "sign|hwjose-sign.1" "verify|hwjose-verify.1" "jwt issue|hwjose-jwt.1"
    "jwt verify|hwjose-jwt.1" "jwt inspect|hwjose-jwt.1" "encrypt|hwjose-encrypt.1"
    "decrypt|hwjose-decrypt.1" "jwks|hwjose-jwks.1" "thumbprint|hwjose-thumbprint.1"
    "keygen|hwjose-keygen.1" "keys|hwjose-keys.1" "keys rotate|hwjose-keys.1"
    "audit verify|hwjose-audit.1" "serve|hwjose-serve.8" "dpop proof|hwjose-dpop.1"
    "dpop verify|hwjose-dpop.1")
for p in "${pages[@]}"; do
    cmd=${p%%|*} page=${p#*|}
    scd="$src/docs/man/$page.scd"
    [ -s "$mandir/$page" ] && ok "$page is built" || fail "$page is not built in $mandir"
    # shellcheck disable=SC2086
    opts=$("$H" $cmd --help 2>&1 | grep -oE -- '--[a-z][a-z0-9_-]*' | sort -u)
    [ -n "$opts" ] || { ok "hwjose $cmd --help lists no option"; continue; }
    missing=()
    for o in $opts; do grep -qF -- "*$o*" "$scd" || missing+=("$o"); done
    if [ ${#missing[@]} -eq 0 ]; then
        ok "every option of 'hwjose $cmd --help' is in $page"
    else
        fail "$page lacks ${missing[*]} (from 'hwjose $cmd --help')"
    fi
done
[ -s "$mandir/hwjose.conf.5" ] && ok "hwjose.conf.5 is built" || fail "hwjose.conf.5 is not built"
for m in listen tls keys clients limits audit store instance; do
    grep -qF -- "*$m*" "$src/docs/man/hwjose.conf.5.scd" || fail "hwjose.conf(5) lacks '$m'"
done
rendered=$(man -l "$mandir/hwjose-jwt.1" 2>/dev/null)
grep -q UNVERIFIED <<<"$rendered" && ok "man -l renders hwjose-jwt(1)" ||
    fail "hwjose-jwt(1) does not render"

# --- bash completion --------------------------------------------------------------------
# shellcheck source=/dev/null
. "$src/completion/hwjose.bash"
comp() {
    COMP_WORDS=("$H" "$@")
    COMP_CWORD=$#
    COMPREPLY=()
    _hwjose
    printf '%s\n' "${COMPREPLY[@]}"
}
has() { # has NAME WANT WORDS...
    local name=$1 want=$2 got
    shift 2
    got=$(comp "$@") # captured first: grep -q closing the pipe early would fail it (pipefail)
    if grep -qxF -- "$want" <<<"$got"; then ok "completion: $name"; else fail "completion: $name (no '$want' in: $(tr '\n' ' ' <<<"$got"))"; fi
}
has "commands" jwt ""
has "jwt subcommands" inspect jwt ""
has "options of jwt verify" --jwks-uri jwt verify --jw
has "options of decrypt" --max-inflated decrypt --max
has "algs" ES256 sign --alg E
has "algs: RFC 9864 Ed25519" Ed25519 sign --alg Ed2
has "options after an option's value" --detached sign --key jwk:k.jwk --de
has "options after a file argument" --payload verify --jwk k.pub --pay

bash "$src/scripts/softhsm-token.sh" create "$w/p11" hwj-comp >/dev/null 2>&1 || fail "token set-up"
export SOFTHSM2_CONF=$w/p11/softhsm2.conf
HWJOSE_PIN=$(cat "$w/p11/user.pin")
export HWJOSE_PIN
if "$H" keygen --key "pkcs11:token=hwj-comp;object=comp-es256" --alg ES256 >/dev/null 2>"$w/err"; then
    has "key URIs from hwjose keys" "pkcs11:token=hwj-comp;object=comp-es256;type=private" sign --key ""
else
    fail "keygen for the completion test: $(cat "$w/err")"
fi

echo "# $fails failure(s)"
[ "$fails" -eq 0 ]
