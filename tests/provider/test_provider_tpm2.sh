#!/usr/bin/env bash
# test_provider_tpm2.sh: TPM keys (swtpm fixture) through the same provider store:
# hwjose:tpm2:file=… keys sign with openssl pkeyutl (ES256, PS256) verified by plain OpenSSL,
# decrypt RSA-OAEP, and serve TLS 1.2 and 1.3 from openssl s_server.
# Env: HWJOSE, HWJ_SOURCE_DIR, HWJ_TEST_STATE, HWJ_PROVIDER_DIR, HWJ_TPM_DIR.
set -euo pipefail
: "${HWJOSE:?}" "${HWJ_SOURCE_DIR:?}" "${HWJ_PROVIDER_DIR:?}" "${HWJ_TPM_DIR:?}"
export HWJOSE_TCTI
HWJOSE_TCTI=$(cat "$HWJ_TPM_DIR/tcti")
state=${HWJ_TEST_STATE:-${TMPDIR:-/tmp}}
mkdir -p "$state"
dir=$(mktemp -d "$state/provider-tpm2.XXXXXX")
fails=0
trap '[ "$fails" -eq 0 ] && rm -rf "$dir" || echo "state kept in $dir"' EXIT
. "$HWJ_SOURCE_DIR/tests/provider/lib.sh"

for k in ec:ES256 rsa:PS256 enc:RSA-OAEP-256; do
  "$HWJOSE" keygen --key "tpm2:file=$dir/${k%%:*}.pem" --alg "${k#*:}" --bits 2048 >/dev/null 2>&1
  check "public key of TPM key '${k%%:*}' exported through the provider" \
    po pkey -in "hwjose:tpm2:file=$dir/${k%%:*}.pem" -pubout -out "$dir/${k%%:*}.pub"
done

sign_verify tpm-es256 "tpm2:file=$dir/ec.pem" "$dir/ec.pub" -digest sha256
sign_verify tpm-ps256 "tpm2:file=$dir/rsa.pem" "$dir/rsa.pub" -digest sha256 \
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

[ "$fails" -eq 0 ] || { echo "$fails check(s) failed"; exit 1; }
echo "all TPM provider checks passed"
