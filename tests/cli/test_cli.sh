#!/usr/bin/env bash
# test_cli.sh: the `hwjose` CLI contract (docs/cli.md) — sign, verify, jwt issue/verify,
# jwks, thumbprint. Exit codes 0/1/2, no partial output on failure (stdout empty), --help on
# every command, round trips for RS256 PS256 ES256 EdDSA HS256 with jwk: and file: keys in
# every serialization (detached, RFC 7797, JSON), tampered/garbage/alg-none tokens, and the
# JWT claim rules end to end. Env: HWJOSE (the CLI), HWJ_SOURCE_DIR, HWJ_TEST_STATE.
set -uo pipefail

H=${HWJOSE:?set HWJOSE to the hwjose binary}
src=${HWJ_SOURCE_DIR:?set HWJ_SOURCE_DIR}
state=${HWJ_TEST_STATE:-${TMPDIR:-/tmp}}
mkdir -p "$state"
w=$(mktemp -d "$state/cli.XXXXXX")
fails=0
total=0
cleanup() { if [ "$fails" -eq 0 ]; then rm -rf "$w"; else echo "state kept in $w"; fi; }
trap cleanup EXIT

ok() { total=$((total + 1)); echo "ok   - $*"; }
fail() { total=$((total + 1)); fails=$((fails + 1)); echo "FAIL - $*"; }

# t, err_has, same
. "$src/tests/cli/lib.sh"
# claim NAME EXPR: a python expression over `c` (the claims of $w/out) is true.
claim() {
    if python3 -c "import json,sys; c=json.load(open(sys.argv[1])); sys.exit(0 if ($2) else 1)" "$w/out"; then
        ok "$1"
    else
        fail "$1: ($2) is false for $(cat "$w/out")"
    fi
}
b64u() { base64 -w0 | tr '+/' '-_' | tr -d '='; }

# --- keys ------------------------------------------------------------------------------
p2j="$src/tests/cli/pem2jwk.py"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$w/rsa.pem" 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$w/ec.pem" 2>/dev/null
openssl genpkey -algorithm ED25519 -out "$w/ed.pem" 2>/dev/null
python3 "$p2j" "$w/rsa.pem" RS256 rsa-rs >"$w/rsa-rs.json"
python3 "$p2j" "$w/rsa.pem" PS256 rsa-ps >"$w/rsa-ps.json"
python3 "$p2j" "$w/ec.pem" ES256 ec-1 >"$w/ec.json"
python3 "$p2j" "$w/ed.pem" EdDSA ed-1 >"$w/ed.json"
python3 "$p2j" "$w/ed.pem" Ed25519 ed-2 >"$w/ed25519.json" # RFC 9864's name for the same
python3 "$p2j" "$w/ec.pem" >"$w/ec-noalg.json"
printf '{"kty":"oct","alg":"HS256","kid":"hs-1","k":"%s"}\n' "$(openssl rand 32 | b64u)" >"$w/oct.json"
for f in "$w"/*.json; do [ -s "$f" ] || { echo "could not make $f"; exit 1; }; done

# The verification sets come from `hwjose jwks` itself (public parts only).
t "jwks of file: keys" 0 - "$H" jwks --key "file:$w/rsa.pem" --key "file:$w/ec.pem" --key "file:$w/ed.pem"
cp "$w/out" "$w/file.jwks"
claim "jwks: three public keys with kids, no private members" \
    'len(c["keys"])==3 and all("kid" in k and not ({"d","p","q","k"} & k.keys()) for k in c["keys"])'
t "jwks of jwk: keys" 0 - "$H" jwks --key "jwk:$w/rsa-rs.json" --key "jwk:$w/rsa-ps.json" \
    --key "jwk:$w/ec.json" --key "jwk:$w/ed.json"
cp "$w/out" "$w/jwk.jwks"
claim "jwks: kids and algs of jwk: keys kept" \
    '[(k["kid"],k.get("alg")) for k in c["keys"]]==[("rsa-rs","RS256"),("rsa-ps","PS256"),("ec-1","ES256"),("ed-1","EdDSA")]'

t "jwks: a key given twice is listed once" 0 - "$H" jwks --key "file:$w/ec.pem" --key "jwk:$w/ec-noalg.json"
claim "  one key" 'len(c["keys"])==1'
python3 "$p2j" "$w/rsa.pem" RS256 ec-1 >"$w/clash.json"
t "jwks: two keys under one kid" 2 - "$H" jwks --key "jwk:$w/ec.json" --key "jwk:$w/clash.json"
err_has "give each key its own kid"
t "jwks: a missing key" 2 - "$H" jwks --key "file:$w/nope.pem"
t "jwks: an unknown URI scheme" 2 - "$H" jwks --key "nope:x"

# --- --help and usage errors -----------------------------------------------------------
# Every command and subcommand (from branch l-cli): --help and -h exit 0 with a usage line, an
# unknown option is a usage error that says so.
all_cmds=("sign" "verify" "jwt issue" "jwt verify" "jwt inspect" "jwks" "thumbprint" "encrypt"
    "decrypt" "keygen" "keys" "serve" "audit verify")
for cmd in "jwt" "audit" "${all_cmds[@]}"; do
    # shellcheck disable=SC2086
    if t "$cmd --help exits 0" 0 - "$H" $cmd --help; then
        grep -q '^usage: hwjose' "$w/out" || fail "$cmd --help prints no usage"
    fi
done
t "top-level --help" 0 - "$H" --help
for cmd in "${all_cmds[@]}"; do
    # shellcheck disable=SC2086
    t "$cmd --bogus is a usage error" 2 - "$H" $cmd --bogus && err_has "unknown option '--bogus'"
    # shellcheck disable=SC2086
    t "$cmd -h exits 0" 0 - "$H" $cmd -h
done
t "encrypt --jwk without a value" 2 - "$H" encrypt --alg A128KW --jwk
err_has "--jwk needs a value"
t "serve needs --config" 2 - "$H" serve
t "jwt without a subcommand" 2 - "$H" jwt
t "jwt with an unknown subcommand" 2 - "$H" jwt frobnicate
t "sign needs --key" 2 - "$H" sign
err_has "--key URI is required"
t "there is no --pin option" 2 - "$H" sign --key "file:$w/ec.pem" --pin 1234
t "sign: one format only" 2 - "$H" sign --key "file:$w/ec.pem" --json --json-flat
t "sign: unknown alg" 2 - "$H" sign --key "file:$w/ec.pem" --alg ES257
t "sign: alg none" 2 - "$H" sign --key "file:$w/ec.pem" --alg none
t "verify needs a key" 2 - "$H" verify --alg ES256
err_has "exactly one of --jwk FILE"
t "verify: --jwk and --jwks together" 2 - "$H" verify --jwk "$w/ec.json" --jwks "$w/file.jwks"
t "verify: --alg none is refused" 2 - "$H" verify --jwks "$w/file.jwks" --alg none
t "verify: an encryption alg is not a JWS alg" 2 - "$H" verify --jwks "$w/file.jwks" --alg RSA-OAEP
t "verify: a missing key file" 2 - "$H" verify --jwk "$w/nope.json" --alg ES256
t "verify: a key without alg needs --alg" 2 - "$H" verify --jwks "$w/file.jwks"
err_has "give --alg"
t "jwks needs --key" 2 - "$H" jwks
t "thumbprint needs --jwk" 2 - "$H" thumbprint

# --- sign → verify round trips ---------------------------------------------------------
printf 'hello, world\nsecond line \xc3\xa9 \x01\x02 end' >"$w/payload"
printf 'payload without dots\nfor RFC 7797 compact' >"$w/payload-nodot"
# ALG SIGN-URI VERIFY-ARGS...
cases=(
    "RS256|file:$w/rsa.pem|--jwks $w/file.jwks --alg RS256"
    "RS256|jwk:$w/rsa-rs.json|--jwks $w/jwk.jwks"
    "PS256|file:$w/rsa.pem|--jwks $w/file.jwks --alg PS256"
    "PS256|jwk:$w/rsa-ps.json|--jwks $w/jwk.jwks"
    "ES256|file:$w/ec.pem|--jwks $w/file.jwks --alg ES256"
    "ES256|jwk:$w/ec.json|--jwk $w/ec.json"
    "EdDSA|file:$w/ed.pem|--jwks $w/file.jwks --alg EdDSA"
    "EdDSA|jwk:$w/ed.json|--jwks $w/jwk.jwks"
    "Ed25519|file:$w/ed.pem|--jwks $w/file.jwks --alg Ed25519"
    "Ed25519|jwk:$w/ed25519.json|--jwk $w/ed25519.json"
    "HS256|jwk:$w/oct.json|--jwk $w/oct.json"
)
for c in "${cases[@]}"; do
    IFS='|' read -r alg uri vargs <<<"$c"
    scheme=${uri%%:*}
    # shellcheck disable=SC2086
    {
        t "$alg $scheme: sign compact" 0 "$w/payload" "$H" sign --key "$uri" --alg "$alg" &&
            cp "$w/out" "$w/jws" &&
            t "$alg $scheme: verify compact" 0 "$w/jws" "$H" verify $vargs &&
            same "$alg $scheme: compact payload back" "$w/out" "$w/payload"

        t "$alg $scheme: sign detached" 0 "$w/payload" "$H" sign --key "$uri" --alg "$alg" --detached &&
            cp "$w/out" "$w/jws" && grep -q '^[^.]*\.\.[^.]*$' "$w/jws" &&
            t "$alg $scheme: verify detached" 0 "$w/jws" "$H" verify $vargs --payload "$w/payload" &&
            same "$alg $scheme: detached payload back" "$w/out" "$w/payload"
        # compact: an empty payload, so the signature does not match
        t "$alg $scheme: detached without --payload" 1 "$w/jws" "$H" verify $vargs

        t "$alg $scheme: sign --no-b64" 0 "$w/payload-nodot" "$H" sign --key "$uri" --alg "$alg" --no-b64 &&
            cp "$w/out" "$w/jws" &&
            t "$alg $scheme: verify --no-b64" 0 "$w/jws" "$H" verify $vargs &&
            same "$alg $scheme: unencoded payload back" "$w/out" "$w/payload-nodot"

        t "$alg $scheme: sign --json" 0 "$w/payload" "$H" sign --key "$uri" --alg "$alg" --json --in "$w/payload" &&
            cp "$w/out" "$w/jws" && python3 -c 'import json,sys; assert "signatures" in json.load(open(sys.argv[1]))' "$w/jws" &&
            t "$alg $scheme: verify without --json refuses the JSON serialization" 1 "$w/jws" "$H" verify $vargs &&
            err_has "hint: --json accepts the JSON serializations" &&
            err_lacks "accept it with --alg" &&
            t "$alg $scheme: verify --json" 0 "$w/jws" "$H" verify $vargs --json &&
            same "$alg $scheme: JSON payload back" "$w/out" "$w/payload"

        t "$alg $scheme: sign --json-flat --detached --no-b64" 0 "$w/payload" "$H" sign --key "$uri" --alg "$alg" \
            --json-flat --detached --no-b64 &&
            cp "$w/out" "$w/jws" &&
            t "$alg $scheme: verify flattened, detached, unencoded" 0 "$w/jws" "$H" verify $vargs --payload "$w/payload" --json &&
            same "$alg $scheme: flattened payload back" "$w/out" "$w/payload"
    }
done

head -c 3000000 /dev/urandom >"$w/big"
t "sign a 3 MB payload" 0 - "$H" sign --key "file:$w/ec.pem" --in "$w/big" && cp "$w/out" "$w/big.jws" &&
    t "verify a 4 MB JWS (over the library's 1 MiB default)" 0 "$w/big.jws" "$H" verify --jwks "$w/file.jwks" --alg ES256 &&
    same "  3 MB payload back" "$w/out" "$w/big"
rm -f "$w/big" "$w/big.jws"

# --- invalid tokens: exit 1; malformed input: exit 2 -----------------------------------
t "sign ES256 for tampering" 0 "$w/payload" "$H" sign --key "jwk:$w/ec.json"
cp "$w/out" "$w/good"
jws=$(cat "$w/good")
IFS=. read -r h p s <<<"$jws"
mid=$((${#s} / 2))
flip() { [ "$1" = A ] && echo B || echo A; }
printf '%s.%s.%s%s%s' "$h" "$p" "${s:0:$mid}" "$(flip "${s:$mid:1}")" "${s:$((mid + 1))}" >"$w/bad-sig"
t "tampered signature" 1 "$w/bad-sig" "$H" verify --jwk "$w/ec.json"
err_has "invalid signature"
printf '%s.%s.%s' "$h" "$(printf 'hellO, world' | b64u)" "$s" >"$w/bad-payload"
t "tampered payload" 1 "$w/bad-payload" "$H" verify --jwk "$w/ec.json"
hdr2=$(printf '{"alg":"ES256","kid":"ec-1","x":1}' | b64u)
printf '%s.%s.%s' "$hdr2" "$p" "$s" >"$w/bad-header"
t "tampered header" 1 "$w/bad-header" "$H" verify --jwk "$w/ec.json"
t "the untampered one verifies" 0 "$w/good" "$H" verify --jwk "$w/ec.json"
t "alg not in the allow-list" 1 "$w/good" "$H" verify --jwks "$w/file.jwks" --alg RS256
printf '%s.%s.' "$(printf '{"alg":"none"}' | b64u)" "$p" >"$w/none"
t "alg none" 1 "$w/none" "$H" verify --jwks "$w/file.jwks" --alg ES256 --alg RS256
printf '%s.%s.' "$(printf '{"alg":"NONE"}' | b64u)" "$p" >"$w/none2"
t "alg NONE" 1 "$w/none2" "$H" verify --jwk "$w/ec.json"
# HS256 keyed with the RSA public key's PEM bytes (the classic confusion) never verifies
pubpem=$(openssl pkey -in "$w/rsa.pem" -pubout)
hh=$(printf '{"alg":"HS256"}' | b64u)
pp=$(printf '{"iss":"x"}' | b64u)
ss=$(printf '%s.%s' "$hh" "$pp" | openssl dgst -sha256 -mac HMAC -macopt "key:$pubpem" -binary | b64u)
printf '%s.%s.%s' "$hh" "$pp" "$ss" >"$w/confused"
t "HS256 with the RSA public key as secret" 1 "$w/confused" "$H" verify --jwks "$w/file.jwks" --alg RS256 --alg HS256
printf 'this is not a JWS' >"$w/garbage"
t "garbage" 2 "$w/garbage" "$H" verify --jwk "$w/ec.json"
t "empty input" 2 - "$H" verify --jwk "$w/ec.json"
printf '%s.%s.%s' "$h" "$p" "${s}=" >"$w/padded"
t "padded base64url" 2 "$w/padded" "$H" verify --jwk "$w/ec.json"
head -c $((17 * 1024 * 1024)) /dev/zero | tr '\0' 'a' >"$w/huge"
t "17 MiB on stdin" 2 "$w/huge" "$H" verify --jwk "$w/ec.json"
err_has "larger than 16 MiB"
t "17 MiB payload to sign" 2 "$w/huge" "$H" sign --key "jwk:$w/ec.json"
rm -f "$w/huge"

# --- sign failures ---------------------------------------------------------------------
t "sign with a missing key file" 2 "$w/payload" "$H" sign --key "file:$w/nope.pem"
t "sign with an alg the key cannot do" 1 "$w/payload" "$H" sign --key "file:$w/ec.pem" --alg RS256
t "sign with a header that is not JSON" 2 "$w/payload" "$H" sign --key "file:$w/ec.pem" --header '{x'
t "sign with a header that changes alg" 2 "$w/payload" "$H" sign --key "file:$w/ec.pem" --header '{"alg":"HS256"}'
t "sign --header adds members" 0 "$w/payload" "$H" sign --key "jwk:$w/ec.json" --header '{"typ":"example+jws"}' --kid ""
python3 -c 'import sys,json,base64; h=open(sys.argv[1]).read().split(".")[0]; h+="="*(-len(h)%4); d=json.loads(base64.urlsafe_b64decode(h)); assert d=={"alg":"ES256","typ":"example+jws"}, d' "$w/out" &&
    ok "  header is alg + typ, kid left out" || fail "  header wrong: $(cat "$w/out")"
t "sign --in a missing file" 2 - "$H" sign --key "file:$w/ec.pem" --in "$w/nope"

# --- jwt issue → jwt verify ------------------------------------------------------------
iss=https://issuer.example
t "jwt issue ES256 (file:)" 0 - "$H" jwt issue --key "file:$w/ec.pem" --iss "$iss" --aud api --sub alice \
    --claim 'scope="read write"' --claim 'admin=false' --claim 'roles=["a","b"]' --claim 'n={"x":1}'
cp "$w/out" "$w/jwt"
t "jwt verify" 0 "$w/jwt" "$H" jwt verify --jwks "$w/file.jwks" --alg ES256 --iss "$iss" --aud api
claim "claims: registered and extra" \
    'c["iss"]=="'"$iss"'" and c["aud"]=="api" and c["sub"]=="alice" and c["exp"]-c["iat"]==900 and c["nbf"]==c["iat"] and len(c["jti"])==22 and c["scope"]=="read write" and c["admin"] is False and c["roles"]==["a","b"] and c["n"]=={"x":1}'
python3 -c 'import sys,json,base64; h=open(sys.argv[1]).read().split(".")[0]; h+="="*(-len(h)%4); d=json.loads(base64.urlsafe_b64decode(h)); assert d["typ"]=="JWT" and d["alg"]=="ES256" and "kid" in d, d' "$w/jwt" &&
    ok "  header: typ JWT, alg, kid" || fail "  header wrong"
t "jwt verify --sub alice" 0 "$w/jwt" "$H" jwt verify --jwks "$w/file.jwks" --alg ES256 --iss "$iss" --aud api --sub alice
t "jwt verify --sub bob" 1 "$w/jwt" "$H" jwt verify --jwks "$w/file.jwks" --alg ES256 --iss "$iss" --aud api --sub bob
t "jwt verify: wrong aud" 1 "$w/jwt" "$H" jwt verify --jwks "$w/file.jwks" --alg ES256 --iss "$iss" --aud other
err_has "aud does not contain 'other'"
t "jwt verify: wrong iss" 1 "$w/jwt" "$H" jwt verify --jwks "$w/file.jwks" --alg ES256 --iss https://evil.example --aud api
err_has "iss 'https://issuer.example' is not the expected 'https://evil.example'"
t "jwt verify: alg not allowed" 1 "$w/jwt" "$H" jwt verify --jwks "$w/file.jwks" --alg EdDSA --iss "$iss" --aud api
t "jwt verify: --typ at+jwt on a JWT" 1 "$w/jwt" "$H" jwt verify --jwks "$w/file.jwks" --alg ES256 --iss "$iss" --aud api --typ at+jwt
t "jwt verify: --max-age 1h" 0 "$w/jwt" "$H" jwt verify --jwks "$w/file.jwks" --alg ES256 --iss "$iss" --aud api --max-age 1h
t "jwt verify needs --iss" 2 "$w/jwt" "$H" jwt verify --jwks "$w/file.jwks" --alg ES256 --aud api
t "jwt verify needs --aud" 2 "$w/jwt" "$H" jwt verify --jwks "$w/file.jwks" --alg ES256 --iss "$iss"
t "jwt verify: bad --leeway" 2 "$w/jwt" "$H" jwt verify --jwks "$w/file.jwks" --alg ES256 --iss "$iss" --aud api --leeway -5
t "jwt verify: bad --max-age" 2 "$w/jwt" "$H" jwt verify --jwks "$w/file.jwks" --alg ES256 --iss "$iss" --aud api --max-age 5y
jwt=$(cat "$w/jwt")
IFS=. read -r h p s <<<"$jwt"
printf '%s.%s.%s%s%s' "$h" "$p" "${s:0:20}" "$(flip "${s:20:1}")" "${s:21}" >"$w/bad-jwt"
t "jwt verify: tampered signature" 1 "$w/bad-jwt" "$H" jwt verify --jwks "$w/file.jwks" --alg ES256 --iss "$iss" --aud api
fake=$(printf '{"iss":"%s","aud":"api","exp":9999999999,"admin":true}' "$iss" | b64u)
printf '%s.%s.%s' "$h" "$fake" "$s" >"$w/bad-jwt"
t "jwt verify: tampered claims" 1 "$w/bad-jwt" "$H" jwt verify --jwks "$w/file.jwks" --alg ES256 --iss "$iss" --aud api
printf '%s.%s.' "$(printf '{"alg":"none","typ":"JWT"}' | b64u)" "$fake" >"$w/none-jwt"
t "jwt verify: alg none" 1 "$w/none-jwt" "$H" jwt verify --jwks "$w/file.jwks" --alg ES256 --iss "$iss" --aud api
t "jwt verify: garbage" 2 "$w/garbage" "$H" jwt verify --jwks "$w/file.jwks" --alg ES256 --iss "$iss" --aud api

t "jwt issue: several --aud, --exp 1h, --typ, jwk: key" 0 - "$H" jwt issue --key "jwk:$w/ed.json" --iss "$iss" \
    --aud api --aud billing --exp 1h --typ at+jwt
cp "$w/out" "$w/jwt2"
t "jwt verify: aud array, the key's own alg" 0 "$w/jwt2" "$H" jwt verify --jwks "$w/jwk.jwks" --iss "$iss" --aud billing --typ at+jwt
claim "claims: aud array, exp 1h" 'c["aud"]==["api","billing"] and c["exp"]-c["iat"]==3600'
t "jwt verify: at+jwt refused by default" 1 "$w/jwt2" "$H" jwt verify --jwks "$w/jwk.jwks" --iss "$iss" --aud billing
err_has "hint: --typ TYP accepts that typ"
err_lacks "accept it with --alg"
t "jwt issue HS256" 0 - "$H" jwt issue --key "jwk:$w/oct.json" --iss "$iss" --aud api
cp "$w/out" "$w/jwt3"
t "jwt verify HS256 with --jwk" 0 "$w/jwt3" "$H" jwt verify --jwk "$w/oct.json" --iss "$iss" --aud api

t "jwt issue: claim value not JSON" 2 - "$H" jwt issue --key "file:$w/ec.pem" --iss "$iss" --aud api --claim 'scope=read'
err_has "not JSON"
t "jwt issue: registered claim via --claim" 2 - "$H" jwt issue --key "file:$w/ec.pem" --iss "$iss" --aud api --claim 'exp=1'
t "jwt issue: claim twice" 2 - "$H" jwt issue --key "file:$w/ec.pem" --iss "$iss" --aud api --claim 'a=1' --claim 'a=2'
t "jwt issue: claim without =" 2 - "$H" jwt issue --key "file:$w/ec.pem" --iss "$iss" --aud api --claim 'a'
t "jwt issue: needs --aud" 2 - "$H" jwt issue --key "file:$w/ec.pem" --iss "$iss"
t "jwt issue: --exp 0" 2 - "$H" jwt issue --key "file:$w/ec.pem" --iss "$iss" --aud api --exp 0
t "jwt issue: --exp junk" 2 - "$H" jwt issue --key "file:$w/ec.pem" --iss "$iss" --aud api --exp 15x
t "jwt issue: --exp overflow" 2 - "$H" jwt issue --key "file:$w/ec.pem" --iss "$iss" --aud api --exp 99999999999999999999d
t "jwt issue: a missing key" 2 - "$H" jwt issue --key "file:$w/nope.pem" --iss "$iss" --aud api
t "jwt issue: an alg the key cannot do" 1 - "$H" jwt issue --key "file:$w/ec.pem" --iss "$iss" --aud api --alg EdDSA
t "jwt issue: Ed25519 (RFC 9864) on an EC key" 1 - "$H" jwt issue --key "file:$w/ec.pem" --iss "$iss" --aud api --alg Ed25519

# RFC 9864 "Ed25519": the same key as EdDSA, by its fully-specified name; never mixed up with EdDSA
t "jwt issue --alg Ed25519 (file:)" 0 - "$H" jwt issue --key "file:$w/ed.pem" --iss "$iss" --aud api --alg Ed25519
cp "$w/out" "$w/jwt-ed"
python3 -c 'import sys,json,base64; h=open(sys.argv[1]).read().split(".")[0]; h+="="*(-len(h)%4); d=json.loads(base64.urlsafe_b64decode(h)); assert d["alg"]=="Ed25519", d' "$w/jwt-ed" &&
    ok "  header: alg Ed25519" || fail "  header wrong: $(cat "$w/jwt-ed")"
t "jwt verify --alg Ed25519" 0 "$w/jwt-ed" "$H" jwt verify --jwks "$w/file.jwks" --alg Ed25519 --iss "$iss" --aud api
t "jwt verify: Ed25519 token, --alg EdDSA only" 1 "$w/jwt-ed" "$H" jwt verify --jwks "$w/file.jwks" --alg EdDSA --iss "$iss" --aud api
t "jwt verify: Ed25519 token, a JWK bound to EdDSA" 1 "$w/jwt-ed" "$H" jwt verify --jwk "$w/ed.json" --alg Ed25519 --iss "$iss" --aud api
t "jwt verify: Ed25519 token, the JWK's own alg" 0 "$w/jwt-ed" "$H" jwt verify --jwk "$w/ed25519.json" --iss "$iss" --aud api
t "jwt issue: a JWK bound to EdDSA refuses Ed25519" 1 - "$H" jwt issue --key "jwk:$w/ed.json" --iss "$iss" --aud api --alg Ed25519
t "jwt issue: the key's own alg Ed25519 (jwk:)" 0 - "$H" jwt issue --key "jwk:$w/ed25519.json" --iss "$iss" --aud api
cp "$w/out" "$w/jwt-ed2"
t "jwt verify: EdDSA-bound JWK refuses it" 1 "$w/jwt-ed2" "$H" jwt verify --jwk "$w/ed.json" --alg Ed25519 --iss "$iss" --aud api

# Claim rules end to end, on tokens whose claims the test writes (signed with the HS256 key).
now=$(date +%s)
mk() { # mk CLAIMS-JSON [HEADER-JSON] → $w/crafted (<<< adds a newline: JSON whitespace)
    local hdr=${2:-'{"typ":"JWT"}'}
    "$H" sign --key "jwk:$w/oct.json" --header "$hdr" <<<"$1" >"$w/crafted" 2>"$w/err" ||
        fail "signing crafted claims: $(cat "$w/err")"
}
jv() { "$H" jwt verify --jwk "$w/oct.json" --iss "$iss" --aud api "$@"; }
mk "{\"iss\":\"$iss\",\"aud\":\"api\",\"exp\":$((now - 120))}"
t "expired token" 1 "$w/crafted" jv
err_has "token expired at"
t "expired token within --leeway 5m" 0 "$w/crafted" jv --leeway 5m
mk "{\"iss\":\"$iss\",\"aud\":\"api\",\"exp\":$((now + 600)),\"nbf\":$((now + 300))}"
t "not yet valid" 1 "$w/crafted" jv
err_has "not valid before"
t "not yet valid within --leeway 10m" 0 "$w/crafted" jv --leeway 10m
mk "{\"iss\":\"$iss\",\"aud\":\"api\"}"
t "no exp" 1 "$w/crafted" jv
err_has "exp is missing"
mk "{\"iss\":\"$iss\",\"aud\":\"api\",\"exp\":$((now + 600)),\"iat\":$((now - 7200))}"
t "older than --max-age 1h" 1 "$w/crafted" jv --max-age 1h
t "within --max-age 3h" 0 "$w/crafted" jv --max-age 3h
mk "{\"iss\":\"$iss\",\"aud\":[\"x\",\"api\"],\"exp\":$((now + 600))}"
t "aud array containing api" 0 "$w/crafted" jv
mk "{\"iss\":\"$iss\",\"aud\":\"api\",\"exp\":\"$((now + 600))\"}"
t "exp as a string" 1 "$w/crafted" jv
mk '["not","an","object"]'
t "claims not an object" 1 "$w/crafted" jv
mk "{\"iss\":\"$iss\",\"aud\":\"api\",\"exp\":$((now + 600)),\"aud\":\"evil\"}"
t "duplicate claims" 1 "$w/crafted" jv
mk "{\"iss\":\"$iss\",\"aud\":\"api\",\"exp\":$((now + 600))}" '{"typ":"application/jwt"}'
t "typ application/jwt" 0 "$w/crafted" jv
mk "{\"iss\":\"$iss\",\"aud\":\"api\",\"exp\":$((now + 600))}" '{"cty":"text"}'
t "no typ" 0 "$w/crafted" jv
t "JSON serialization is not a JWT" 0 - "$H" sign --key "jwk:$w/oct.json" --json-flat --in "$w/crafted"
cp "$w/out" "$w/json-jwt"
t "jwt verify refuses the JSON serialization" 2 "$w/json-jwt" jv

# --- thumbprint ------------------------------------------------------------------------
t "thumbprint" 0 - "$H" thumbprint --jwk "$w/ec-noalg.json"
want=$(python3 - "$w/ec-noalg.json" <<'EOF'
import base64, hashlib, json, sys
k = json.load(open(sys.argv[1]))
m = json.dumps({n: k[n] for n in ("crv", "kty", "x", "y")}, separators=(",", ":"), sort_keys=True)
print(base64.urlsafe_b64encode(hashlib.sha256(m.encode()).digest()).rstrip(b"=").decode())
EOF
)
[ "$(cat "$w/out")" = "$want" ] && ok "  RFC 7638 thumbprint matches an independent computation" ||
    fail "  thumbprint $(cat "$w/out") != $want"
python3 -c 'import json,sys; ks=json.load(open(sys.argv[1]))["keys"]; assert sys.argv[2] in [k["kid"] for k in ks]' \
    "$w/file.jwks" "$want" && ok "  it is the kid jwks gave the file: key" || fail "  jwks kid is not the thumbprint"
t "thumbprint of a bad JWK" 2 - "$H" thumbprint --jwk "$w/garbage"

# --- jwt inspect (UNVERIFIED decoding), a single key without kid, '-' for stdin --------
printf '{"sub":"x","n":1}' >"$w/inspect-claims"
t "sign for inspect" 0 "$w/inspect-claims" "$H" sign --key "file:$w/ec.pem"
cp "$w/out" "$w/inspect.jws"
t "jwt inspect prints header and claims, exit 0" 0 "$w/inspect.jws" "$H" jwt inspect
claim "  claims decoded" 'c["claims"]["sub"] == "x" and c["header"]["alg"] == "ES256"'
claim "  marked UNVERIFIED" '"UNVERIFIED" in c'
err_has "UNVERIFIED"
t "jwt decode is its alias (token as argument)" 0 - "$H" jwt decode "$(cat "$w/inspect.jws")"
claim "  same claims" 'c["claims"]["n"] == 1'
t "jwt inspect --in FILE" 0 - "$H" jwt inspect --in "$w/inspect.jws"
t "jwt inspect of garbage" 2 - "$H" jwt inspect not-a-token
printf '{"kty":"oct","k":"%s"}\n' "$(openssl rand 16 | b64u)" >"$w/kek.json"
t "encrypt for inspect" 0 "$w/inspect-claims" "$H" encrypt --jwk "$w/kek.json" --alg A128KW
cp "$w/out" "$w/inspect.jwe"
t "jwt inspect of a JWE: its header only" 0 "$w/inspect.jwe" "$H" jwt inspect
claim "  header, encrypted, no claims" 'c["header"]["enc"] == "A256GCM" and c["encrypted"] and "claims" not in c'
python3 -c 'import json,sys; k=json.load(open(sys.argv[1])); [k.pop(n, None) for n in ("d","kid","alg")]; print(json.dumps(k))' \
    "$w/ec-noalg.json" >"$w/ec-nokid.pub.json"
t "a single --jwk without kid verifies a JWS whose kid it lacks" 0 "$w/inspect.jws" \
    "$H" verify --jwk "$w/ec-nokid.pub.json" --alg ES256
t "  still bound by the allow-list" 1 "$w/inspect.jws" "$H" verify --jwk "$w/ec-nokid.pub.json" --alg ES384
python3 -c 'import json,sys; k=json.load(open(sys.argv[1])); k["kid"]="other"; print(json.dumps({"keys":[json.load(open(sys.argv[2]))["keys"][0], k]}))' \
    "$w/ec-nokid.pub.json" "$w/file.jwks" >"$w/two.jwks"
t "with several keys a kid mismatch stays an error" 1 "$w/inspect.jws" "$H" verify --jwks "$w/two.jwks" --alg ES256
t "verify --jwks - (stdin) with the JWS from --in" 0 "$w/file.jwks" "$H" verify --jwks - --in "$w/inspect.jws" --alg ES256
t "stdin is read once: --jwks - and the JWS on stdin" 2 "$w/file.jwks" "$H" verify --jwks - --alg ES256
err_has "already read"
t "thumbprint --jwk -" 0 "$w/ec-noalg.json" "$H" thumbprint --jwk -
python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); s["keys"].append(json.load(open(sys.argv[2]))); print(json.dumps(s))' \
    "$w/file.jwks" "$w/oct.json" >"$w/mixed.jwks"
t "a set mixing oct and asymmetric keys is refused" 1 "$w/inspect.jws" "$H" verify --jwks "$w/mixed.jwks" --alg ES256
err_has "symmetric (oct)"
err_lacks "accept it with --alg"

echo "$((total - fails))/$total passed"
[ "$fails" -eq 0 ]
