#!/usr/bin/env bash
# test_provider_tpm2.sh: TPM keys (swtpm fixture) through the same provider store:
# hwjose:tpm2:file=… keys sign with openssl pkeyutl (ES256, PS256) verified by plain OpenSSL,
# decrypt RSA-OAEP, and serve TLS 1.2 and 1.3 from openssl s_server and from hwjose serve
# (tls.key a tpm2: URI).
# Env: HWJOSE, HWJ_SOURCE_DIR, HWJ_TEST_STATE, HWJ_PROVIDER_DIR, HWJ_TPM_DIR.
set -euo pipefail
: "${HWJOSE:?}" "${HWJ_SOURCE_DIR:?}" "${HWJ_PROVIDER_DIR:?}" "${HWJ_TPM_DIR:?}"
export HWJOSE_TCTI
HWJOSE_TCTI=$(cat "$HWJ_TPM_DIR/tcti")
state=${HWJ_TEST_STATE:-${TMPDIR:-/tmp}}
mkdir -p "$state"
dir=$(mktemp -d "$state/provider-tpm2.XXXXXX")
fails=0
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  if [ "$fails" -eq 0 ]; then rm -rf "$dir"; else echo "state kept in $dir"; fi
}
trap cleanup EXIT
. "$HWJ_SOURCE_DIR/tests/provider/lib.sh"

for k in ec:ES256 rsa:PS256 enc:RSA-OAEP-256; do
  "$HWJOSE" keygen --key "tpm2:file=$dir/${k%%:*}.pem" --alg "${k#*:}" --bits 2048 >/dev/null 2>&1
  check "public key of TPM key '${k%%:*}' exported through the provider" \
    po pkey -in "hwjose:tpm2:file=$dir/${k%%:*}.pem" -pubout -out "$dir/${k%%:*}.pub"
done

sign_verify tpm-es256 "tpm2:file=$dir/ec.pem" "$dir/ec.pub" -digest sha256
sign_verify tpm-ps256 "tpm2:file=$dir/rsa.pem" "$dir/rsa.pub" -digest sha256 \
  -pkeyopt rsa_padding_mode:pss -pkeyopt rsa_pss_saltlen:32
sign_digest_verify tpm-es256-digest "tpm2:file=$dir/ec.pem" "$dir/ec.pub" sha256
sign_digest_verify tpm-ps256-digest "tpm2:file=$dir/rsa.pem" "$dir/rsa.pub" sha256 \
  -pkeyopt rsa_padding_mode:pss -pkeyopt rsa_pss_saltlen:32

openssl rand 32 >"$dir/cek"
oaep=(-pkeyopt rsa_padding_mode:oaep -pkeyopt rsa_oaep_md:sha256 -pkeyopt rsa_mgf1_md:sha256)
openssl pkeyutl -encrypt -pubin -inkey "$dir/enc.pub" "${oaep[@]}" -in "$dir/cek" -out "$dir/cek.enc"
check "RSA-OAEP-256: pkeyutl -decrypt in the TPM gives the plaintext back" \
  bash -c "po pkeyutl -decrypt -inkey 'hwjose:tpm2:file=$dir/enc.pem' ${oaep[*]} \
    -in '$dir/cek.enc' -out '$dir/cek.dec' && cmp -s '$dir/cek' '$dir/cek.dec'"

check "a certificate signed in the TPM (openssl req -x509)" \
  po req -new -x509 -key "hwjose:tpm2:file=$dir/ec.pem" -subj /CN=localhost \
  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" -days 2 -out "$dir/ec.crt"
tls_server tpm-ec "$dir/ec.crt" "tpm2:file=$dir/ec.pem" ECDSA
# s_server ends by a signal, holding the key's transient object: swtpm has no resource manager
# to flush a dead client's objects (a real TPM's /dev/tpmrm0 does), so flush them here.
TPM2TOOLS_TCTI=$HWJOSE_TCTI tpm2_flushcontext -t

"$HWJOSE" keygen --key "tpm2:file=$dir/jwt.pem" --alg ES256 >/dev/null 2>"$dir/keygen.err" || { cat "$dir/keygen.err"; exit 1; }
cat >"$dir/serve.json" <<JSON
{
  "listen": "127.0.0.1:0",
  "tls": {"cert": "$dir/ec.crt", "key": "tpm2:file=$dir/ec.pem"},
  "keys": [{"name": "sig", "uri": "tpm2:file=$dir/jwt.pem", "alg": "ES256"}],
  "clients": [],
  "audit": {"path": "$dir/audit.log", "fsync": false}
}
JSON
timeout 120 "$HWJOSE" serve --config "$dir/serve.json" 2>"$dir/serve.log" &
server_pid=$!
for _ in $(seq 200); do grep -q "listening on" "$dir/serve.log" && break; sleep 0.05; done
port=$(sed -n 's/.*listening on https:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$dir/serve.log")
check "hwjose serve starts with tls.key in the TPM" test -n "$port"
for v in "--tlsv1.2 --tls-max 1.2" --tlsv1.3; do
  # shellcheck disable=SC2086
  check "hwjose serve answers curl ($v)" bash -c \
    "timeout 15 curl -sf --cacert '$dir/ec.crt' $v https://localhost:$port/healthz | jq -e '.status == \"ok\"'"
done
kill -TERM "$server_pid"
check "hwjose serve stops cleanly" wait "$server_pid"
server_pid=""

[ "$fails" -eq 0 ] || { echo "$fails check(s) failed"; exit 1; }
echo "all TPM provider checks passed"
