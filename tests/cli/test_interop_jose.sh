#!/usr/bin/env bash
# test_interop_jose.sh: hwjose's JWT and JWS against panva/jose (npm `jose`), both ways, for
# RS256, PS256, ES256, EdDSA and RFC 9864's fully-specified Ed25519:
#   hwjose `jwt issue` (file: and jwk: keys) → jose jwtVerify against `hwjose jwks`;
#   jose SignJWT → `hwjose jwt verify` against jose's exported JWKS;
#   the same for plain JWS (hwjose sign ↔ jose compactVerify, jose CompactSign ↔ hwjose verify);
#   and a tampered token refused by each side.
# Needs node and tests/interop/node_modules/jose (scripts/install-deps.sh installs both): it
# fails, never skips, without them. Env: HWJOSE, HWJ_SOURCE_DIR, HWJ_TEST_STATE.
set -uo pipefail

H=${HWJOSE:?set HWJOSE to the hwjose binary}
src=${HWJ_SOURCE_DIR:?set HWJ_SOURCE_DIR}
peer="$src/tests/interop/jwt_peer.mjs"
p2j="$src/tests/cli/pem2jwk.py"
state=${HWJ_TEST_STATE:-${TMPDIR:-/tmp}}
mkdir -p "$state"
w=$(mktemp -d "$state/interop-jose.XXXXXX")
fails=0
total=0
cleanup() { if [ "$fails" -eq 0 ]; then rm -rf "$w"; else echo "state kept in $w"; fi; }
trap cleanup EXIT

command -v node >/dev/null || { echo "FAIL - node is not installed: run scripts/install-deps.sh"; exit 1; }
[ -d "$src/tests/interop/node_modules/jose" ] ||
    { echo "FAIL - npm jose is not installed in tests/interop: run scripts/install-deps.sh"; exit 1; }

ok() { total=$((total + 1)); echo "ok   - $*"; }
fail() { total=$((total + 1)); fails=$((fails + 1)); echo "FAIL - $*"; }
# run NAME WANT_RC STDIN CMD...: stdout → $w/out, stderr → $w/err
run() {
    local name=$1 want=$2 in=$3 rc=0
    shift 3
    "$@" <"$in" >"$w/out" 2>"$w/err" || rc=$?
    if [ "$rc" -eq "$want" ] && { [ "$want" -eq 0 ] || [ ! -s "$w/out" ]; }; then
        ok "$name"
        return 0
    fi
    fail "$name: exit $rc, want $want; stderr: $(head -c 400 "$w/err")"
    return 1
}
claims_ok() { # claims_ok NAME ISS AUD SUB: $w/out holds the expected claims
    if python3 -c '
import json, sys
c = json.load(open(sys.argv[1]))
iss, aud, sub = sys.argv[2:5]
assert c["iss"] == iss and (c["aud"] == aud or aud in c["aud"]) and c["sub"] == sub, c
assert isinstance(c["exp"], int) and isinstance(c["iat"], int) and c["exp"] > c["iat"], c
' "$w/out" "$2" "$3" "$4"; then ok "$1"; else fail "$1: $(cat "$w/out")"; fi
}
tamper() { # tamper FILE: change one character in the middle of the signature
    python3 - "$1" <<'EOF'
import sys
h, p, s = open(sys.argv[1]).read().strip().split(".")
i = len(s) // 2
s = s[:i] + ("A" if s[i] != "A" else "B") + s[i + 1:]
open(sys.argv[1], "w").write(".".join((h, p, s)))
EOF
}

iss=https://hwjose.test
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$w/rsa.pem" 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$w/ec.pem" 2>/dev/null
openssl genpkey -algorithm ED25519 -out "$w/ed.pem" 2>/dev/null
printf 'payload for jose \xe2\x9c\x93' >"$w/payload"

# ALG PEM: each alg with a file: key (no alg in the JWKS) and a jwk: key (alg-bound)
for c in "RS256 rsa" "PS256 rsa" "ES256 ec" "EdDSA ed" "Ed25519 ed"; do
    set -- $c
    alg=$1 pem="$w/$2.pem"
    python3 "$p2j" "$pem" "$alg" "hwj-$alg" >"$w/$alg.jwk.json"
    for uri in "file:$pem" "jwk:$w/$alg.jwk.json"; do
        scheme=${uri%%:*}
        # hwjose issues, jose verifies
        run "$alg $scheme: hwjose jwks" 0 /dev/null "$H" jwks --key "$uri" && cp "$w/out" "$w/hwj.jwks"
        run "$alg $scheme: hwjose jwt issue" 0 /dev/null "$H" jwt issue --key "$uri" --alg "$alg" \
            --iss "$iss" --aud jose-peer --sub alice --claim 'scope="interop"' && cp "$w/out" "$w/hwj.jwt"
        run "$alg $scheme: hwjose → jose jwtVerify" 0 "$w/hwj.jwt" node "$peer" verify "$w/hwj.jwks" "$alg" "$iss" jose-peer &&
            claims_ok "  claims as issued" "$iss" jose-peer alice
        run "$alg $scheme: jose refuses the wrong audience" 1 "$w/hwj.jwt" node "$peer" verify "$w/hwj.jwks" "$alg" "$iss" other
        tamper "$w/hwj.jwt"
        run "$alg $scheme: jose refuses a tampered hwjose JWT" 1 "$w/hwj.jwt" node "$peer" verify "$w/hwj.jwks" "$alg" "$iss" jose-peer
        # hwjose signs a JWS, jose verifies
        run "$alg $scheme: hwjose sign" 0 "$w/payload" "$H" sign --key "$uri" --alg "$alg" && cp "$w/out" "$w/hwj.jws"
        run "$alg $scheme: hwjose → jose compactVerify" 0 "$w/hwj.jws" node "$peer" jws-verify "$w/hwj.jwks" "$alg" &&
            { cmp -s "$w/out" "$w/payload" && ok "  payload intact" || fail "  payload differs"; }
    done

    # jose issues, hwjose verifies
    run "$alg: jose keygen" 0 /dev/null node "$peer" keygen "$alg" "jose-$alg" "$w/jose.priv.json" "$w/jose.jwks"
    run "$alg: jose SignJWT" 0 /dev/null node "$peer" sign "$w/jose.priv.json" https://jose.test hwjose bob &&
        cp "$w/out" "$w/jose.jwt"
    run "$alg: jose → hwjose jwt verify" 0 "$w/jose.jwt" "$H" jwt verify --jwks "$w/jose.jwks" --alg "$alg" \
        --iss https://jose.test --aud hwjose --sub bob --max-age 5m &&
        claims_ok "  claims as jose issued them" https://jose.test hwjose bob
    run "$alg: jose → hwjose, the key's own alg" 0 "$w/jose.jwt" "$H" jwt verify --jwks "$w/jose.jwks" \
        --iss https://jose.test --aud hwjose
    run "$alg: hwjose refuses the wrong issuer" 1 "$w/jose.jwt" "$H" jwt verify --jwks "$w/jose.jwks" --alg "$alg" \
        --iss https://other.test --aud hwjose
    run "$alg: hwjose refuses another alg" 1 "$w/jose.jwt" "$H" jwt verify --jwks "$w/jose.jwks" --alg HS256 \
        --iss https://jose.test --aud hwjose
    cp "$w/jose.jwt" "$w/jose-bad.jwt"
    tamper "$w/jose-bad.jwt"
    run "$alg: hwjose refuses a tampered jose JWT" 1 "$w/jose-bad.jwt" "$H" jwt verify --jwks "$w/jose.jwks" --alg "$alg" \
        --iss https://jose.test --aud hwjose
    run "$alg: jose CompactSign" 0 "$w/payload" node "$peer" jws-sign "$w/jose.priv.json" && cp "$w/out" "$w/jose.jws"
    run "$alg: jose → hwjose verify" 0 "$w/jose.jws" "$H" verify --jwks "$w/jose.jwks" --alg "$alg" &&
        { cmp -s "$w/out" "$w/payload" && ok "  payload intact" || fail "  payload differs"; }
done

echo "$((total - fails))/$total passed"
[ "$fails" -eq 0 ]
