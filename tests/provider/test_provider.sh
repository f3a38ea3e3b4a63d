#!/usr/bin/env bash
# test_provider.sh: the hwjose OpenSSL provider with real programs and keys in SoftHSM.
#  1. openssl pkeyutl -sign (RSA PKCS#1 v1.5 and PSS, ECDSA P-256, Ed25519; of the message with
#     -rawin, and of a digest computed beforehand) through an openssl.cnf that loads the provider;
#     plain OpenSSL verifies with the public key alone, the provider with the key's URI;
#  2. RSA-OAEP decryption through pkeyutl -decrypt; PKCS#1 v1.5 decryption and unsupported PSS
#     parameters are refused;
#  3. self-signed certificates made with the token's keys (openssl req -x509);
#  4. openssl s_server with its key in SoftHSM, s_client and curl over TLS 1.2 and 1.3 (RSA-PSS
#     and ECDSA);
#  5. hwjose serve with its TLS key in SoftHSM (and mTLS) answering curl.
# Env: HWJOSE, HWJ_SOURCE_DIR, HWJ_TEST_STATE, HWJ_PROVIDER_DIR, HWJ_SOFTHSM_MODULE.
set -euo pipefail
: "${HWJOSE:?}" "${HWJ_SOURCE_DIR:?}" "${HWJ_PROVIDER_DIR:?}"
state=${HWJ_TEST_STATE:-${TMPDIR:-/tmp}}
mkdir -p "$state"
dir=$(mktemp -d "$state/provider.XXXXXX")
server_pid=""
fails=0
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  if [ "$fails" -eq 0 ]; then
    bash "$HWJ_SOURCE_DIR/scripts/softhsm-token.sh" destroy "$dir/softhsm" >/dev/null 2>&1 || true
    rm -rf "$dir"
  else
    echo "state kept in $dir"
  fi
}
trap cleanup EXIT
. "$HWJ_SOURCE_DIR/tests/provider/lib.sh"
unset HWJOSE_PIN

export HWJ_SOFTHSM_MODULE=${HWJ_SOFTHSM_MODULE:-/usr/lib/softhsm/libsofthsm2.so}
eval "$(bash "$HWJ_SOURCE_DIR/scripts/softhsm-token.sh" create "$dir/softhsm" hwj-provider)"
uri() { echo "pkcs11:token=hwj-provider;object=$1?module-path=$HWJ_SOFTHSM_MODULE&pin-source=file:$dir/softhsm/user.pin"; }
"$HWJOSE" keygen --key "$(uri rsa)" --alg PS256 --bits 2048 >/dev/null 2>&1
"$HWJOSE" keygen --key "$(uri ec)" --alg ES256 >/dev/null 2>&1
"$HWJOSE" keygen --key "$(uri ed)" --alg EdDSA >/dev/null 2>&1
"$HWJOSE" keygen --key "$(uri enc)" --alg RSA-OAEP-256 --bits 2048 >/dev/null 2>&1
for k in rsa ec ed enc; do
  check "public key of '$k' exported through the provider" \
    po pkey -in "hwjose:$(uri $k)" -pubout -out "$dir/$k.pub"
done

# README's command-line form: openssl applies the options in order, so -provider-path comes first
readme_p=$(sed -n 's/^P="\([^"]*\)".*/\1/p' "$HWJ_SOURCE_DIR/README.md")
readme_p=${readme_p//build\/provider/$HWJ_PROVIDER_DIR}
check "README's P= options load the provider (-provider-path before -provider hwjose)" \
  bash -c "[ -n '$readme_p' ] && env -u OPENSSL_CONF -u OPENSSL_MODULES \
    ${HWJ_PROVIDER_PRELOAD:+LD_PRELOAD=$HWJ_PROVIDER_PRELOAD ASAN_OPTIONS=detect_leaks=0} \
    timeout 60 openssl list -providers $readme_p | grep -q 'hwjose'"

# 1. signatures
sign_verify rs256 "$(uri rsa)" "$dir/rsa.pub" -digest sha256
sign_verify ps256 "$(uri rsa)" "$dir/rsa.pub" -digest sha256 -pkeyopt rsa_padding_mode:pss \
  -pkeyopt rsa_pss_saltlen:32
sign_verify ps384 "$(uri rsa)" "$dir/rsa.pub" -digest sha384 -pkeyopt rsa_padding_mode:pss \
  -pkeyopt rsa_pss_saltlen:48 -pkeyopt rsa_mgf1_md:sha384
sign_verify es256 "$(uri ec)" "$dir/ec.pub" -digest sha256
sign_verify ed25519 "$(uri ed)" "$dir/ed.pub"
# a key bound to RFC 9864's "Ed25519" (its JWK says so) signs the same Ed25519 through the provider
openssl genpkey -algorithm ED25519 -out "$dir/ed-bound.pem" 2>/dev/null
python3 "$HWJ_SOURCE_DIR/tests/cli/pem2jwk.py" "$dir/ed-bound.pem" Ed25519 ed-bound >"$dir/ed-bound.json"
openssl pkey -in "$dir/ed-bound.pem" -pubout -out "$dir/ed-bound.pub"
sign_verify ed25519-bound "jwk:$dir/ed-bound.json" "$dir/ed-bound.pub"
sign_digest_verify rs256-digest "$(uri rsa)" "$dir/rsa.pub" sha256
sign_digest_verify ps384-digest "$(uri rsa)" "$dir/rsa.pub" sha384 -pkeyopt rsa_padding_mode:pss \
  -pkeyopt rsa_pss_saltlen:48
sign_digest_verify es256-digest "$(uri ec)" "$dir/ec.pub" sha256
check "an RSA signature of a digest without naming it is refused (no raw RSA)" \
  bash -c "! po pkeyutl -sign -inkey 'hwjose:$(uri rsa)' -in '$dir/rs256-digest.dgst' 2>'$dir/err' &&
    grep -q 'name the digest' '$dir/err'"
check "PSS with a salt other than the digest length is refused, saying what is supported" \
  bash -c "! po pkeyutl -sign -rawin -digest sha256 -pkeyopt rsa_padding_mode:pss \
    -pkeyopt rsa_pss_saltlen:20 -inkey 'hwjose:$(uri rsa)' -in '$dir/rs256.msg' 2>'$dir/err' &&
    grep -q 'salt length as the digest' '$dir/err'"
check "ECDSA P-256 with SHA-384 (not the curve's digest) is refused" \
  bash -c "! po pkeyutl -sign -rawin -digest sha384 -inkey 'hwjose:$(uri ec)' -in '$dir/rs256.msg' 2>/dev/null"

# 2. RSA-OAEP decryption
openssl rand 32 >"$dir/cek"
oaep=(-pkeyopt rsa_padding_mode:oaep -pkeyopt rsa_oaep_md:sha256 -pkeyopt rsa_mgf1_md:sha256)
openssl pkeyutl -encrypt -pubin -inkey "$dir/enc.pub" "${oaep[@]}" -in "$dir/cek" -out "$dir/cek.enc"
check "RSA-OAEP-256: pkeyutl -decrypt in the token gives the plaintext back" \
  bash -c "po pkeyutl -decrypt -inkey 'hwjose:$(uri enc)' \
    ${oaep[*]} -in '$dir/cek.enc' -out '$dir/cek.dec' && cmp -s '$dir/cek' '$dir/cek.dec'"
openssl pkeyutl -encrypt -pubin -inkey "$dir/enc.pub" -in "$dir/cek" -out "$dir/cek.v15"
check "PKCS#1 v1.5 decryption is refused" \
  bash -c "! po pkeyutl -decrypt -inkey 'hwjose:$(uri enc)' -in '$dir/cek.v15' -out '$dir/out' 2>/dev/null"
check "a tampered OAEP ciphertext fails" \
  bash -c "printf '\\x01' | dd of='$dir/cek.enc' bs=1 seek=100 conv=notrunc 2>/dev/null &&
    ! po pkeyutl -decrypt -inkey 'hwjose:$(uri enc)' ${oaep[*]} -in '$dir/cek.enc' 2>/dev/null"

# 3. certificates signed in the token
for k in rsa ec; do
  check "$k: openssl req -x509 signs a certificate in the token" \
    po req -new -x509 -key "hwjose:$(uri $k)" -subj /CN=localhost \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" -days 2 -out "$dir/$k.crt"
  check "$k: plain OpenSSL verifies the certificate" openssl verify -CAfile "$dir/$k.crt" "$dir/$k.crt"
done

# 4. openssl s_server with its key in SoftHSM
tls_server rsa "$dir/rsa.crt" "$(uri rsa)" RSA-PSS
tls_server ec "$dir/ec.crt" "$(uri ec)" ECDSA

# 5. hwjose serve with its TLS key in SoftHSM, client certificates required
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$dir/ca.key" \
  -out "$dir/ca.crt" -subj /CN=clients -days 2 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$dir/cli.key" \
  -subj /CN=alice 2>/dev/null |
  openssl x509 -req -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -days 2 -out "$dir/cli.crt" 2>/dev/null
cat >"$dir/serve.json" <<JSON
{
  "listen": "127.0.0.1:0",
  "tls": {"cert": "$dir/rsa.crt", "key": "$(uri rsa)", "client_ca": "$dir/ca.crt", "mtls": "required"},
  "keys": [{"name": "sig", "uri": "$(uri ec)", "alg": "ES256"}],
  "clients": [],
  "audit": {"path": "$dir/audit.log", "fsync": false}
}
JSON
sed "s|object=rsa?|object=no-such-tls-key?|" "$dir/serve.json" >"$dir/serve-nokey.json"
check "check-config: a tls.key missing from the token is named as such (not an unrelated OpenSSL error)" \
  bash -c "! '$HWJOSE' serve --check-config '$dir/serve-nokey.json' 2>'$dir/err' &&
    grep -q \"tls.key .*not found in token 'hwj-provider'\" '$dir/err' && ! grep -q 'shared library' '$dir/err'"
timeout 120 "$HWJOSE" serve --config "$dir/serve.json" 2>"$dir/serve.log" &
server_pid=$!
for _ in $(seq 200); do grep -q "listening on" "$dir/serve.log" && break; sleep 0.05; done
port=$(sed -n 's/.*listening on https:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$dir/serve.log")
check "hwjose serve starts with tls.key in SoftHSM" test -n "$port"
cc=(--cacert "$dir/rsa.crt" --cert "$dir/cli.crt" --key "$dir/cli.key")
for v in "--tlsv1.2 --tls-max 1.2" --tlsv1.3; do
  # shellcheck disable=SC2086
  check "hwjose serve answers curl ($v, client certificate)" \
    bash -c "timeout 15 curl -sf ${cc[*]} $v https://localhost:$port/healthz | jq -e '.status == \"ok\"'"
done
check "hwjose serve refuses a client without a certificate" \
  bash -c "! timeout 15 curl -sf --cacert '$dir/rsa.crt' https://localhost:$port/healthz"
# The token goes away and comes back (docs/deploy.md, Token outages): the TLS key is in it too,
# so handshakes fail while it is gone, and succeed again within 2 s once it is back — no restart.
# (The provider used to have a library context of its own; p11-kit finalises a module only when
# its last user does, so the service's re-initialisation never reached SoftHSM.)
tokdir=$dir/softhsm/tokens
mv "$tokdir" "$tokdir.away"
check "token gone: the handshake with the TLS key in it fails" \
  bash -c "! timeout 15 curl -sf ${cc[*]} https://localhost:$port/livez"
# The server logs after it has sent the alert, so curl may be back first: wait for the line.
logged=""
for _ in $(seq 50); do
  grep -q '"level":"error","msg":"TLS handshake: the TLS key failed: .*hwj-provider' \
    "$dir/serve.log" && { logged=yes; break; }
  sleep 0.1
done
check "token gone: the log says the TLS key failed in the handshake, naming the token" \
  test -n "$logged"
[ -n "$logged" ] || tail -n 5 "$dir/serve.log"
sleep 1
mv "$tokdir.away" "$tokdir"
back=""
for _ in $(seq 20); do
  if timeout 15 curl -sf "${cc[@]}" "https://localhost:$port/readyz" 2>/dev/null |
    jq -e '.status == "ready"' >/dev/null 2>&1; then back=yes; break; fi
  sleep 0.1
done
check "token back: served again (TLS key and signing key) within 2 s, same process" \
  bash -c "[ -n '$back' ] && kill -0 $server_pid"
kill -TERM "$server_pid"
check "hwjose serve stops cleanly" wait "$server_pid"
server_pid=""

[ "$fails" -eq 0 ] || { echo "$fails check(s) failed"; exit 1; }
echo "all provider checks passed"
