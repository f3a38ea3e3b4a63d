#!/usr/bin/env bash
# test_interop_jwe.sh: hwjose's JWE against panva/jose (node) and python3-jwcrypto, both
# ways, for RSA-OAEP-256+A256GCM, RSA-OAEP+A128CBC-HS256 and ECDH-ES+A256KW+A256GCM, and
# the nested JWT (sign, then encrypt) both ways.
# Needs: HWJOSE (the CLI), HWJ_SOURCE_DIR; node with tests/interop/node_modules/jose.
set -euo pipefail
: "${HWJOSE:?set HWJOSE to the hwjose binary}" "${HWJ_SOURCE_DIR:?set HWJ_SOURCE_DIR}"
state=${HWJ_TEST_STATE:-${TMPDIR:-/tmp}}
mkdir -p "$state"
work=$(mktemp -d "$state/interop-jwe.XXXXXX")
trap 'rm -rf "$work"' EXIT
py=/usr/bin/python3
peer_py="$HWJ_SOURCE_DIR/tests/interop/jwe_peer.py"
peer_js="$HWJ_SOURCE_DIR/tests/interop/jwe_peer.mjs"
fail=0

check() { # check NAME EXPECTED ACTUAL
    if [ "$2" == "$3" ]; then
        echo "ok   $1"
    else
        echo "FAIL $1: expected '$2', got '$3'" >&2
        fail=1
    fi
}

"$py" "$peer_py" keygen RSA 2048 "$work/rsa.json" "$work/rsa.pub.json" rsa-rcpt
"$py" "$peer_py" keygen EC P-256 "$work/ec.json" "$work/ec.pub.json" ec-rcpt

for case in "RSA-OAEP-256 A256GCM rsa" "RSA-OAEP A128CBC-HS256 rsa" "ECDH-ES+A256KW A256GCM ec"; do
    set -- $case
    alg=$1 enc=$2 k=$3
    msg="interop $alg $enc $RANDOM"

    # hwjose encrypts, the peers decrypt
    jwe=$(printf %s "$msg" | "$HWJOSE" encrypt --jwk "$work/$k.pub.json" --alg "$alg" --enc "$enc" || true)
    check "hwjose->jwcrypto $alg $enc" "$msg" "$(printf %s "$jwe" | "$py" "$peer_py" decrypt "$work/$k.json" || true)"
    check "hwjose->jose $alg $enc" "$msg" "$(printf %s "$jwe" | node "$peer_js" decrypt "$work/$k.json" || true)"

    # the peers encrypt, hwjose decrypts (with explicit allow-lists)
    for peer in py js; do
        if [ $peer = py ]; then
            jwe=$(printf %s "$msg" | "$py" "$peer_py" encrypt "$work/$k.pub.json" "$alg" "$enc" || true)
        else
            jwe=$(printf %s "$msg" | node "$peer_js" encrypt "$work/$k.pub.json" "$alg" "$enc" || true)
        fi
        out=$(printf %s "$jwe" | "$HWJOSE" decrypt --key "jwk:$work/$k.json" --alg "$alg" --enc "$enc" || true)
        check "$peer->hwjose $alg $enc" "$msg" "$out"
        # the allow-list is honoured: the same token with another enc allowed is refused
        rc=0
        printf %s "$jwe" | "$HWJOSE" decrypt --key "jwk:$work/$k.json" --alg "$alg" --enc A192GCM >/dev/null 2>&1 || rc=$?
        check "$peer->hwjose $alg refused outside the enc allow-list (exit)" 1 "$rc"
    done
done

# --- nested JWT ----------------------------------------------------------------------
nested_interop() {
    # The issuer's signing key (EC P-256, ES256) as private and public JWK.
    "$py" "$peer_py" keygen EC P-256 "$work/sig.json" "$work/sig.pub.json" issuer-sig
    printf '{"keys":[%s]}' "$(cat "$work/sig.pub.json")" >"$work/sig.jwks"
    local iss=https://issuer.example aud=receiver
    for case in "RSA-OAEP-256 A256GCM rsa" "ECDH-ES+A256KW A256GCM ec"; do
        set -- $case
        local alg=$1 enc=$2 k=$3 tok out
        # hwjose signs then encrypts; each peer decrypts and verifies.
        tok=$("$HWJOSE" jwt issue --key "jwk:$work/sig.json" --alg ES256 --iss $iss --aud $aud \
            --encrypt-to "$work/$k.pub.json" --key-alg "$alg" --enc "$enc" || true)
        for peer in py js; do
            if [ $peer = py ]; then
                out=$(printf %s "$tok" | "$py" "$peer_py" nested-verify "$work/$k.json" "$work/sig.pub.json" $iss $aud || true)
            else
                out=$(printf %s "$tok" | node "$peer_js" nested-verify "$work/$k.json" "$work/sig.pub.json" $iss $aud || true)
            fi
            check "nested hwjose->$peer $alg $enc (iss)" "$iss" "$(printf %s "$out" | "$py" -c 'import json,sys; print(json.load(sys.stdin)["iss"])' 2>/dev/null || true)"
        done
        # each peer signs then encrypts; hwjose decrypts and verifies.
        for peer in py js; do
            if [ $peer = py ]; then
                tok=$("$py" "$peer_py" nested-issue "$work/sig.json" ES256 "$work/$k.pub.json" "$alg" "$enc" $iss $aud || true)
            else
                tok=$(node "$peer_js" nested-issue "$work/sig.json" ES256 "$work/$k.pub.json" "$alg" "$enc" $iss $aud || true)
            fi
            out=$(printf %s "$tok" | "$HWJOSE" jwt verify --jwks "$work/sig.jwks" --alg ES256 --iss $iss --aud $aud \
                --decrypt-key "jwk:$work/$k.json" --enc "$enc" || true)
            check "nested $peer->hwjose $alg $enc (aud)" "$aud" "$(printf %s "$out" | "$py" -c 'import json,sys; print(json.load(sys.stdin)["aud"])' 2>/dev/null || true)"
            rc=0
            printf %s "$tok" | "$HWJOSE" jwt verify --jwks "$work/sig.jwks" --alg ES256 --iss $iss --aud other \
                --decrypt-key "jwk:$work/$k.json" >/dev/null 2>&1 || rc=$?
            check "nested $peer->hwjose wrong aud refused (exit)" 1 "$rc"
        done
    done
}

if "$HWJOSE" jwt issue --help 2>&1 | grep -q -- --encrypt-to; then
    nested_interop
else
    echo "FAIL nested JWT: 'hwjose jwt issue' has no --encrypt-to yet" >&2
    fail=1
fi

exit $fail
