#!/usr/bin/env bash
# test_nested.sh: nested JWTs (RFC 7519 §5.2, a JWS inside a JWE) between a TPM key and a
# SoftHSM key, through the CLI, with the swtpm and SoftHSM fixtures ($HWJ_TPM_DIR,
# $HWJ_P11_DIR, $SOFTHSM2_CONF):
#  1. the issuer signs in the TPM (ES256), the receiver decrypts in SoftHSM (RSA-OAEP-256);
#  2. the issuer signs in SoftHSM (ES256), the receiver decrypts in the TPM (RSA-OAEP-256 and
#     ECDH-ES+A256KW), then verifies the inner JWT;
#  3. tampering and a wrong TPM key fail cleanly.
# Key files and outputs go to a folder under $HWJ_TEST_STATE (the build tree), removed on exit.
set -euo pipefail
: "${HWJOSE:?}" "${HWJ_TPM_DIR:?}" "${HWJ_P11_DIR:?}" "${SOFTHSM2_CONF:?}"
export HWJOSE_TCTI
HWJOSE_TCTI=$(cat "$HWJ_TPM_DIR/tcti")
unset HWJOSE_PIN
tok=hwj-interop
q="?pin-source=file:$HWJ_P11_DIR/user.pin"
state=${HWJ_TEST_STATE:-${TMPDIR:-/tmp}}
mkdir -p "$state"
tmp=$(mktemp -d "$state/tpm2-nested.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fails=0
check() { local what=$1; shift; if "$@"; then echo "ok - $what"; else echo "not ok - $what"; fails=$((fails + 1)); fi; }
first_jwk() { jq -c '.keys[0]' "$1"; }

tpm_sig="tpm2:file=$tmp/tpm-sig.pem"
tpm_rsa="tpm2:file=$tmp/tpm-rsa.pem"
tpm_ecdh="tpm2:file=$tmp/tpm-ecdh.pem"
p11_sig="pkcs11:token=$tok;object=nested-sig-$$$q"
p11_rsa="pkcs11:token=$tok;object=nested-rsa-$$$q"
"$HWJOSE" keygen --key "$tpm_sig" --alg ES256 >/dev/null 2>&1
"$HWJOSE" keygen --key "$tpm_rsa" --alg RSA-OAEP-256 --bits 2048 >/dev/null 2>&1
"$HWJOSE" keygen --key "$tpm_ecdh" --alg ECDH-ES >/dev/null 2>&1
"$HWJOSE" keygen --key "$p11_sig" --alg ES256 >/dev/null 2>&1
"$HWJOSE" keygen --key "$p11_rsa" --alg RSA-OAEP-256 --bits 2048 >/dev/null 2>&1
"$HWJOSE" jwks --key "$tpm_sig" >"$tmp/tpm-sig.jwks"
"$HWJOSE" jwks --key "$p11_sig" >"$tmp/p11-sig.jwks"
first_jwk <("$HWJOSE" jwks --key "$tpm_rsa") >"$tmp/tpm-rsa.jwk"
first_jwk <("$HWJOSE" jwks --key "$tpm_ecdh") >"$tmp/tpm-ecdh.jwk"
first_jwk <("$HWJOSE" jwks --key "$p11_rsa") >"$tmp/p11-rsa.jwk"

# 0. One JWK shape everywhere (issue 22): keygen, jwks and keys print the same kid, and "alg" and
#    "use" for a key bound to one alg, whether it lives in the TPM or in SoftHSM.
#    (A SoftHSM RSA decryption key may do RSA-OAEP and RSA-OAEP-256, so it is bound to neither; a
#    TPM one is bound to its OAEP hash.)
for k in tpm_sig:ES256:sig tpm_rsa:RSA-OAEP-256:enc p11_sig:ES256:sig; do
  IFS=: read -r var alg use <<<"$k"
  uri=${!var}
  check "$var: jwks says alg $alg, use $use" \
    bash -c "'$HWJOSE' jwks --key '$uri' | jq -e '.keys[0] | .alg == \"$alg\" and .use == \"$use\" and (.kid | length > 0)' >/dev/null"
done
check "p11_rsa: jwks has kid and no alg (two OAEP algs possible)" \
  bash -c "'$HWJOSE' jwks --key '$p11_rsa' | jq -e '.keys[0] | .kid and .alg == null' >/dev/null"
check "TPM keygen prints kid, alg and use like PKCS#11 keygen" \
  bash -c "'$HWJOSE' keygen --key 'tpm2:file=$tmp/tpm-sig2.pem' --alg ES256 | jq -e '.kid and .alg == \"ES256\" and .use == \"sig\"' >/dev/null"
kid=$(jq -r '.keys[0].kid' "$tmp/p11-sig.jwks")
check "keys lists the SoftHSM key with the same kid, alg and use" \
  bash -c "'$HWJOSE' keys --json --token 'pkcs11:token=$tok$q' | jq -e '.[] | select(.kid == \"$kid\") | .alg == \"ES256\" and .use == \"sig\"' >/dev/null"

# 1. TPM signs, SoftHSM decrypts
"$HWJOSE" jwt issue --key "$tpm_sig" --iss tpm-issuer --aud hsm-rp --sub alice >"$tmp/a.jwt"
"$HWJOSE" encrypt --jwk "$tmp/p11-rsa.jwk" --alg RSA-OAEP-256 --cty JWT <"$tmp/a.jwt" >"$tmp/a.jwe"
check "SoftHSM decrypts the JWE around a TPM-signed JWT" \
  bash -c "'$HWJOSE' decrypt --key '$p11_rsa' --alg RSA-OAEP-256 <'$tmp/a.jwe' >'$tmp/a.inner'"
check "the inner JWT is the TPM's, verified with its JWKS" \
  bash -c "cmp -s '$tmp/a.jwt' '$tmp/a.inner' && '$HWJOSE' jwt verify --jwks '$tmp/tpm-sig.jwks' --iss tpm-issuer --aud hsm-rp --alg ES256 <'$tmp/a.inner' >/dev/null"

# 2. SoftHSM signs, the TPM decrypts (RSA-OAEP-256 in the TPM; ECDH-ES Z from the TPM)
"$HWJOSE" jwt issue --key "$p11_sig" --iss hsm-issuer --aud tpm-rp --sub bob >"$tmp/b.jwt"
for kw in RSA-OAEP-256:tpm-rsa ECDH-ES+A256KW:tpm-ecdh; do
  alg=${kw%%:*} k=${kw##*:}
  "$HWJOSE" encrypt --jwk "$tmp/$k.jwk" --alg "$alg" --cty JWT <"$tmp/b.jwt" >"$tmp/b-$k.jwe"
  check "the TPM decrypts $alg around a SoftHSM-signed JWT" \
    bash -c "'$HWJOSE' decrypt --key 'tpm2:file=$tmp/$k.pem' --alg '$alg' <'$tmp/b-$k.jwe' >'$tmp/b-$k.inner'"
  check "the inner JWT ($alg) verifies with the SoftHSM JWKS" \
    bash -c "'$HWJOSE' jwt verify --jwks '$tmp/p11-sig.jwks' --iss hsm-issuer --aud tpm-rp --alg ES256 <'$tmp/b-$k.inner' >/dev/null"
done

# 3. failures
check "a JWE for SoftHSM does not decrypt with the TPM key" \
  bash -c "! '$HWJOSE' decrypt --key '$tpm_rsa' --alg RSA-OAEP-256 <'$tmp/a.jwe' >'$tmp/out' 2>'$tmp/err' && [ ! -s '$tmp/out' ]"
sed 's/\.\([A-Za-z0-9_-]\)/.A\1/3' "$tmp/b-tpm-rsa.jwe" >"$tmp/bad.jwe"
check "a tampered JWE fails in the TPM path without output" \
  bash -c "! '$HWJOSE' decrypt --key '$tpm_rsa' --alg RSA-OAEP-256 <'$tmp/bad.jwe' >'$tmp/out' 2>/dev/null && [ ! -s '$tmp/out' ]"
check "the TPM-signed JWT does not verify with the SoftHSM JWKS" \
  bash -c "! '$HWJOSE' jwt verify --jwks '$tmp/p11-sig.jwks' --iss tpm-issuer --aud hsm-rp --alg ES256 <'$tmp/a.jwt' >/dev/null 2>&1"

[ "$fails" -eq 0 ] || { echo "$fails check(s) failed"; exit 1; }
