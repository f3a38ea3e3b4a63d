#!/usr/bin/env bash
# test_cli_jwe.sh: JWE and nested JWTs through the CLI with every private key inside SoftHSM,
# and the `encrypt` / `decrypt` exit-code contract (docs/cli.md "Exit codes", docs/jwe.md "CLI").
#  1. `hwjose keygen` makes an ES256 signing key and RSA-OAEP-256 and ECDH-ES decryption keys in
#     a token (sensitive, never extractable: checked with `hwjose keys --json`);
#  2. the README's nested flow for each receiver key: `jwt issue --encrypt-to RECEIVER_JWK`, then
#     `jwt verify --decrypt-key pkcs11:...`; tampered, wrong-receiver and wrong-issuer tokens
#     exit 1 with nothing on stdout;
#  3. `encrypt --json` / `--flat` output decrypts with `decrypt` in the token (binary payload);
#  4. `decrypt` usage and input errors exit 2, refusals 1, always with stdout empty.
# The token is a SoftHSM token of its own, made and removed with scripts/softhsm-token.sh (as the
# pkcs11_token fixture is) in a folder under $HWJ_TEST_STATE. Env: HWJOSE, HWJ_SOURCE_DIR,
# HWJ_TEST_STATE, HWJ_SOFTHSM_MODULE.
set -uo pipefail

H=${HWJOSE:?set HWJOSE to the hwjose binary}
src=${HWJ_SOURCE_DIR:?set HWJ_SOURCE_DIR}
state=${HWJ_TEST_STATE:-${TMPDIR:-/tmp}}
mkdir -p "$state"
w=$(mktemp -d "$state/cli-jwe.XXXXXX")
token_script=$src/scripts/softhsm-token.sh
fails=0
cleanup() {
    bash "$token_script" destroy "$w/softhsm" || true
    if [ "$fails" -eq 0 ]; then rm -rf "$w"; else echo "state kept in $w (token removed)"; fi
}
trap cleanup EXIT
unset HWJOSE_PIN

ok() { echo "ok   - $*"; }
fail() { fails=$((fails + 1)); echo "FAIL - $*"; }

# t, err_has, same
. "$src/tests/cli/lib.sh"
# jq_ok NAME FILTER FILE
jq_ok() { if jq -e "$2" "$3" >/dev/null 2>&1; then ok "$1"; else fail "$1: $2 is false for $(head -c 300 "$3")"; fi; }
# compact_header FILE: the protected header of the 5-part compact JWE in FILE (else exit 1)
compact_header() {
    python3 - "$1" <<'PY'
import base64, sys
p = open(sys.argv[1]).read().strip().split(".")
if len(p) != 5:
    sys.exit(1)
sys.stdout.write(base64.urlsafe_b64decode(p[0] + "=" * (-len(p[0]) % 4)).decode())
PY
}
# tamper IN OUT PART: change dot-separated part PART (0-based) of a compact JWE, keeping it
# well-formed: the protected header gets an extra member (so the AAD changes), an empty part
# (ECDH-ES's encrypted key) gets content, any other part its first character flipped.
tamper() {
    python3 - "$1" "$2" "$3" <<'PY'
import base64, json, sys
p = open(sys.argv[1]).read().strip().split(".")
i = int(sys.argv[3])
if i == 0:
    h = json.loads(base64.urlsafe_b64decode(p[0] + "=" * (-len(p[0]) % 4)))
    h["x"] = 1
    p[0] = base64.urlsafe_b64encode(json.dumps(h, separators=(",", ":")).encode()).decode().rstrip("=")
elif p[i] == "":
    p[i] = "AAAA"
else:
    p[i] = ("B" if p[i][0] == "A" else "A") + p[i][1:]
open(sys.argv[2], "w").write(".".join(p) + "\n")
PY
}

# --- 1. keys generated in the token ------------------------------------------------------
tok=hwj-cli-jwe
token_env=$(bash "$token_script" create "$w/softhsm" "$tok") || { echo "token set-up failed"; exit 1; }
eval "$token_env"
q="?pin-source=file:$w/softhsm/user.pin"
sig="pkcs11:token=$tok;object=issuer-es256$q"
rsa="pkcs11:token=$tok;object=rcpt-rsa$q"
ecdh="pkcs11:token=$tok;object=rcpt-ecdh$q"

t "keygen ES256 in the token" 0 - "$H" keygen --key "$sig" --alg ES256
jq_ok "  prints the public JWK only" '.kty == "EC" and .crv == "P-256" and .d == null' "$w/out"
t "keygen RSA-OAEP-256 in the token" 0 - "$H" keygen --key "$rsa" --alg RSA-OAEP-256 --bits 2048
jq_ok "  prints the public JWK only" '.kty == "RSA" and .alg == "RSA-OAEP-256" and .d == null and .p == null' "$w/out"
cp "$w/out" "$w/rsa.jwk"
t "keygen ECDH-ES in the token" 0 - "$H" keygen --key "$ecdh" --alg ECDH-ES
jq_ok "  prints the public JWK only" '.kty == "EC" and .alg == "ECDH-ES" and .d == null' "$w/out"
cp "$w/out" "$w/ecdh.jwk"
t "keys --json lists them" 0 - "$H" keys --token "pkcs11:token=$tok$q" --json
jq_ok "  all three: in hardware, sensitive, never extractable" \
    '[.[] | select(.custody.hardware and .custody.sensitive and .custody.never_extractable and (.custody.extractable | not))] | length == 3' \
    "$w/out"
t "jwks of the issuer key" 0 - "$H" jwks --key "$sig"
cp "$w/out" "$w/issuer.jwks"
kid=$(jq -r '.keys[0].kid' "$w/issuer.jwks")

# A second, software issuer: its tokens must not verify against the token's JWKS.
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$w/other.pem" 2>/dev/null
"$H" jwks --key "file:$w/other.pem" >"$w/other.jwks"

# --- 2. nested JWT: signed in the token, decrypted in the token ----------------------------
iss=https://issuer.example aud=api
for r in rsa:RSA-OAEP-256 ecdh:ECDH-ES; do
    k=${r%%:*} alg=${r#*:}
    case $k in rsa) uri=$rsa other=$ecdh ;; ecdh) uri=$ecdh other=$rsa ;; esac
    t "$k: jwt issue --encrypt-to (signed in the token)" 0 - "$H" jwt issue --key "$sig" \
        --iss "$iss" --aud "$aud" --sub alice --exp 5m --claim 'scope="read"' \
        --encrypt-to "$w/$k.jwk" --enc A256GCM
    cp "$w/out" "$w/$k.nested"
    if compact_header "$w/$k.nested" >"$w/hdr" &&
        jq -e --arg alg "$alg" '.alg == $alg and .enc == "A256GCM" and (.cty | ascii_upcase) == "JWT"' \
            "$w/hdr" >/dev/null; then
        ok "  a compact JWE: alg $alg, enc A256GCM, cty JWT"
    else
        fail "  not a compact JWE with alg $alg, enc A256GCM, cty JWT: $(cat "$w/hdr")"
    fi
    t "$k: jwt verify --decrypt-key pkcs11: (decrypted in the token)" 0 "$w/$k.nested" \
        "$H" jwt verify --jwks "$w/issuer.jwks" --alg ES256 --iss "$iss" --aud "$aud" --decrypt-key "$uri"
    jq_ok "  the inner claims" '.iss == "https://issuer.example" and .sub == "alice" and .aud == "api" and .scope == "read"' "$w/out"
    t "$k: decrypt gives the inner JWT, which verifies on its own" 0 "$w/$k.nested" \
        "$H" decrypt --key "$uri"
    cp "$w/out" "$w/$k.inner"
    t "  jwt verify of the inner JWT" 0 "$w/$k.inner" "$H" jwt verify --jwks "$w/issuer.jwks" \
        --alg ES256 --iss "$iss" --aud "$aud"
    for part in 0 1 2 3 4; do
        tamper "$w/$k.nested" "$w/$k.bad$part" "$part"
        t "$k: nested token with part $part tampered: exit 1" 1 "$w/$k.bad$part" "$H" jwt verify \
            --jwks "$w/issuer.jwks" --alg ES256 --iss "$iss" --aud "$aud" --decrypt-key "$uri"
    done
    t "$k: decrypted with the other receiver key: exit 1" 1 "$w/$k.nested" "$H" jwt verify \
        --jwks "$w/issuer.jwks" --alg ES256 --iss "$iss" --aud "$aud" --decrypt-key "$other"
    t "$k: verified against another issuer's JWKS: exit 1" 1 "$w/$k.nested" "$H" jwt verify \
        --jwks "$w/other.jwks" --alg ES256 --iss "$iss" --aud "$aud" --decrypt-key "$uri"
    # A forger encrypts to the receiver a JWT signed by another key under the issuer's kid.
    t "$k: forged inner JWT (other key, issuer's kid) issued" 0 - "$H" jwt issue \
        --key "file:$w/other.pem" --kid "$kid" --iss "$iss" --aud "$aud" --encrypt-to "$w/$k.jwk"
    cp "$w/out" "$w/$k.forged"
    t "$k: forged inner JWT: exit 1" 1 "$w/$k.forged" "$H" jwt verify \
        --jwks "$w/issuer.jwks" --alg ES256 --iss "$iss" --aud "$aud" --decrypt-key "$uri"
    err_has "invalid signature"
    t "$k: wrong audience: exit 1" 1 "$w/$k.nested" "$H" jwt verify \
        --jwks "$w/issuer.jwks" --alg ES256 --iss "$iss" --aud other-api --decrypt-key "$uri"
    t "$k: content encryption not allowed (--enc A128GCM): exit 1" 1 "$w/$k.nested" "$H" jwt verify \
        --jwks "$w/issuer.jwks" --alg ES256 --iss "$iss" --aud "$aud" --decrypt-key "$uri" --enc A128GCM
done
# The inner JWT of a nested token must be a JWS: a JWE of a plain payload with cty JWT is refused.
printf 'not a jws' | "$H" encrypt --jwk "$w/rsa.jwk" --alg RSA-OAEP-256 --cty JWT >"$w/notjws.jwe"
t "nested token whose content is not a JWS: refused" 1 "$w/notjws.jwe" "$H" jwt verify \
    --jwks "$w/issuer.jwks" --alg ES256 --iss "$iss" --aud "$aud" --decrypt-key "$rsa"
"$H" jwt issue --key "$sig" --iss "$iss" --aud "$aud" >"$w/plain.jwt"
"$H" encrypt --jwk "$w/rsa.jwk" --alg RSA-OAEP-256 <"$w/plain.jwt" >"$w/nocty.jwe"
t "nested token without cty JWT: exit 1" 1 "$w/nocty.jwe" "$H" jwt verify \
    --jwks "$w/issuer.jwks" --alg ES256 --iss "$iss" --aud "$aud" --decrypt-key "$rsa"
t "jwt issue --encrypt-to a missing file: exit 2" 2 - "$H" jwt issue --key "$sig" --iss "$iss" \
    --aud "$aud" --encrypt-to "$w/no-such.jwk"

# --- 3. encrypt --json / --flat, decrypt in the token ---------------------------------------
head -c 3000 /dev/urandom >"$w/payload.bin"
for f in json:--json flat:--flat compact:; do
    name=${f%%:*} opt=${f#*:}
    for r in rsa:RSA-OAEP-256 ecdh:ECDH-ES; do
        k=${r%%:*} alg=${r#*:}
        case $k in rsa) uri=$rsa ;; ecdh) uri=$ecdh ;; esac
        t "encrypt $name $alg" 0 "$w/payload.bin" "$H" encrypt --jwk "$w/$k.jwk" --alg "$alg" \
            --enc A128CBC-HS256 $opt
        cp "$w/out" "$w/$k.$name.jwe"
        case $name in
        json) jq_ok "  general JSON: recipients, no compact" '.recipients | length == 1' "$w/out" ;;
        flat) jq_ok "  flattened JSON: encrypted_key at the top, no recipients" \
            '.recipients == null and (.protected | length > 0) and (.ciphertext | length > 0)' "$w/out" ;;
        esac
        [ "$name" = compact ] || { t "  decrypt without --json refuses the JSON serialization" 1 \
            "$w/$k.$name.jwe" "$H" decrypt --key "$uri" && err_has "hint: --json accepts"; }
        t "  decrypt --key pkcs11: gives the payload back" 0 "$w/$k.$name.jwe" "$H" decrypt --key "$uri" \
            ${opt:+--json}
        same "  byte for byte" "$w/out" "$w/payload.bin"
    done
done
t "decrypt --header shows the JOSE header on stderr" 0 "$w/rsa.json.jwe" "$H" decrypt --key "$rsa" --header --json
err_has '"alg":"RSA-OAEP-256"'

# --- 4. decrypt: usage and input errors are 2, refusals 1 (docs/cli.md) ----------------------
jwe=$w/rsa.json.jwe
t "decrypt --help: exit 0, usage on stdout" 0 - "$H" decrypt --help
err() { t "decrypt $1: exit 2" 2 "$2" "$H" decrypt "${@:3}"; }
err "without a key" "$jwe"
err_has "give exactly one of --key, --jwk, --password-file"
err "with two keys" "$jwe" --key "$rsa" --jwk "$w/rsa.jwk"
err "unknown option" "$jwe" --key "$rsa" --bogus
err_has "unknown option '--bogus'"
err "--key without a value" "$jwe" --key
err_has "--key needs a value"
err "--alg that is not a JWE alg" "$jwe" --key "$rsa" --alg RS256
err "--enc that is not a JWE enc" "$jwe" --key "$rsa" --enc A1GCM
err "--max-p2c not a number" "$jwe" --key "$rsa" --max-p2c -1
err "unreadable --jwk file" "$jwe" --jwk "$w/no-such.json"
err "unreadable --password-file" "$jwe" --password-file "$w/no-such.pw"
err "unreadable file: key" "$jwe" --key "file:$w/no-such.pem"
err "a key URI scheme this build cannot use" "$jwe" --key "foo:bar"
err_has "not supported by this build"
# pin-value is refused as by sign and jwt issue (exit 1 there too), without echoing the PIN.
t "decrypt with pin-value in the URI: refused" 1 "$jwe" "$H" decrypt \
    --key "pkcs11:token=$tok;object=rcpt-rsa?pin-value=1234"
if grep -q 1234 "$w/err"; then fail "  the PIN value is echoed"; else ok "  the PIN value is not echoed"; fi
printf 'not a jwe\n' >"$w/garbage"
err "garbage on stdin" "$w/garbage" --key "$rsa"
printf 'a.b.c.d\n' >"$w/four"
err "a compact JWE with 4 parts" "$w/four" --key "$rsa"
err_has "exactly 5 parts"
printf '{"protected":' >"$w/badjson"
err "truncated JSON" "$w/badjson" --key "$rsa" --json
err "empty stdin" - --key "$rsa"

tamper "$w/rsa.compact.jwe" "$w/rsa.compact.bad" 4
t "decrypt of a tampered JWE (tag): exit 1" 1 "$w/rsa.compact.bad" "$H" decrypt --key "$rsa"
err_has "decryption failed"
t "decrypt with the wrong key: exit 1" 1 "$w/rsa.compact.jwe" "$H" decrypt --key "$ecdh"
t "decrypt with an alg outside --alg: exit 1" 1 "$w/rsa.compact.jwe" "$H" decrypt --key "$rsa" --alg RSA-OAEP
t "decrypt with an enc outside --enc: exit 1" 1 "$w/rsa.compact.jwe" "$H" decrypt --key "$rsa" --enc A256GCM
t "decrypt with a missing object: exit 1" 1 "$w/rsa.compact.jwe" "$H" decrypt \
    --key "pkcs11:token=$tok;object=no-such$q"
printf 'wrong\n' >"$w/wrong.pin"
chmod 600 "$w/wrong.pin"
t "decrypt with a wrong PIN: exit 1" 1 "$w/rsa.compact.jwe" "$H" decrypt \
    --key "pkcs11:token=$tok;object=rcpt-rsa?pin-source=file:$w/wrong.pin"
err_has "PIN rejected"

[ "$fails" -eq 0 ] || { echo "$fails check(s) failed"; exit 1; }
echo "all checks passed"
