#!/usr/bin/env bash
# test_interop.sh: hwjose and the other PKCS#11 users of one SoftHSM token (made by the
# pkcs11_token fixture: $SOFTHSM2_CONF, $HWJ_P11_DIR). Token "hwj-interop" holds no Ed25519
# key on purpose: libp11 0.4.12 stops enumerating at the first CKK_EC_EDWARDS object.
#  1. a key pkcs11-tool generated is listed and described by `hwjose keys`;
#  2. a key `hwjose keygen` generated signs through `openssl pkeyutl -engine pkcs11`
#     (libp11, PIN via the URI's pin-source) and verifies with the public key pkcs11-tool reads;
#  3. the CLI's errors for a missing token / object / taken name say how to fix them.
# Outputs go to a folder under $HWJ_TEST_STATE (the build tree), removed on exit.
set -euo pipefail
: "${HWJOSE:?}" "${HWJ_P11_DIR:?}" "${SOFTHSM2_CONF:?}"
module=${HWJ_SOFTHSM_MODULE:-/usr/lib/softhsm/libsofthsm2.so}
engine=$(find /usr/lib -name pkcs11.so -path '*engines-3*' 2>/dev/null | head -1)
tok=hwj-interop
pinf=$HWJ_P11_DIR/user.pin
q="?pin-source=file:$pinf"
state=${HWJ_TEST_STATE:-${TMPDIR:-/tmp}}
mkdir -p "$state"
tmp=$(mktemp -d "$state/pkcs11-interop.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fails=0
check() { local what=$1; shift; if "$@"; then echo "ok - $what"; else echo "not ok - $what"; fails=$((fails + 1)); fi; }

# 1. pkcs11-tool's key. pkcs11-tool takes the PIN only in argv (or from a terminal): this is a
#    throwaway token of this test run; hwjose itself never takes a PIN from argv.
pkcs11-tool --module "$module" --token-label "$tok" --login --pin "$(cat "$pinf")" \
  --keypairgen --key-type EC:prime256v1 --label ext-ec --id 4201 >/dev/null 2>&1
"$HWJOSE" keys --token "pkcs11:token=$tok$q" --json >"$tmp/keys.json"
check "hwjose lists the pkcs11-tool key with ES256" \
  jq -e '.[] | select(.uri | test("object=ext-ec;")) | (.algs | index("ES256")) != null and .crv == "P-256"' "$tmp/keys.json"
check "its custody is reported" \
  jq -e '.[] | select(.uri | test("object=ext-ec;")) | .custody.hardware == true and (.custody.sensitive | type) == "boolean"' "$tmp/keys.json"
"$HWJOSE" keys --token "pkcs11:token=$tok$q" >"$tmp/keys.txt"
check "the table names the key and its kid" grep -q "object=ext-ec;type=private" "$tmp/keys.txt"

proxy=$(find /usr/lib -name p11-kit-proxy.so 2>/dev/null | head -1)
HWJOSE_PKCS11_MODULE=$proxy "$HWJOSE" keys --token "pkcs11:token=$tok$q" --json >"$tmp/proxy.json"
check "the p11-kit proxy module reaches the same key" \
  jq -e '[.[] | select(.uri | test("object=ext-ec;"))] | length == 1' "$tmp/proxy.json"

# 2. hwjose's key through libp11's engine.
"$HWJOSE" keygen --key "pkcs11:token=$tok;object=hw-rs$q" --alg RS256 --bits 2048 >"$tmp/rs.jwk" 2>/dev/null
check "keygen prints a public JWK" jq -e '.kty == "RSA" and .alg == "RS256" and (.d == null)' "$tmp/rs.jwk"
cat >"$tmp/openssl.cnf" <<CNF
openssl_conf = openssl_init
[openssl_init]
engines = engine_section
[engine_section]
pkcs11 = pkcs11_section
[pkcs11_section]
engine_id = pkcs11
dynamic_path = $engine
MODULE_PATH = $module
init = 0
CNF
echo "signed by libp11 with a key hwjose generated" >"$tmp/data"
openssl dgst -sha256 -binary "$tmp/data" >"$tmp/dig"
OPENSSL_CONF=$tmp/openssl.cnf openssl pkeyutl -engine pkcs11 -keyform engine \
  -inkey "pkcs11:token=$tok;object=hw-rs;type=private$q" -sign -in "$tmp/dig" \
  -pkeyopt digest:sha256 -out "$tmp/sig" >/dev/null 2>&1 || true
pkcs11-tool --module "$module" --token-label "$tok" -r --type pubkey --label hw-rs \
  -o "$tmp/pub.der" >/dev/null 2>&1
check "libp11 signs with the hwjose key; OpenSSL verifies" \
  openssl pkeyutl -verify -pubin -keyform DER -inkey "$tmp/pub.der" -in "$tmp/dig" \
  -sigfile "$tmp/sig" -pkeyopt digest:sha256
pkcs11-tool --module "$module" --token-label "$tok" --login --pin "$(cat "$pinf")" -r \
  --type privkey --label hw-rs -o "$tmp/priv.der" >/dev/null 2>&1 || true
check "the private half is not readable" test ! -s "$tmp/priv.der"

# 3. errors
set +e
"$HWJOSE" keygen --key "pkcs11:token=$tok;object=hw-rs$q" --alg RS256 >/dev/null 2>"$tmp/err"
rc=$?
set -e
check "a taken name is refused" test "$rc" -ne 0
check "... and said so" grep -q "already exists" "$tmp/err"
set +e
"$HWJOSE" keys --token "pkcs11:token=no-such$q" >/dev/null 2>"$tmp/err"; rc=$?
set -e
check "a missing token fails" test "$rc" -ne 0
check "... naming it" grep -q "no initialised token 'no-such'" "$tmp/err"
set +e
HWJOSE_PIN=$(cat "$pinf") "$HWJOSE" keygen --key "pkcs11:token=$tok;object=x?pin-value=1234" --alg ES256 >/dev/null 2>"$tmp/err"; rc=$?
set -e
check "pin-value is refused" test "$rc" -ne 0
check "... without echoing it" bash -c "! grep -q 1234 '$tmp/err'"
check "keygen --help" "$HWJOSE" keygen --help >/dev/null
[ "$fails" -eq 0 ] || { echo "$fails check(s) failed"; exit 1; }
