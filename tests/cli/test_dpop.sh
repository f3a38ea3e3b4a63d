#!/usr/bin/env bash
# test_dpop.sh: DPoP (RFC 9449) with client keys in SoftHSM and in swtpm, against independent
# implementations from npm (tests/interop/dpop_peer.mjs):
#  1. hwjose's proofs (SoftHSM ES256, PS256 and Ed25519, TPM ES256) pass oauth4webapi's
#     resource-server check (validateJwtAccessToken, with an at+jwt bound to the key's thumbprint);
#  2. proofs from `dpop` (ES256, PS256, Ed25519) and `oauth4webapi` (ES256, ES384, PS256, Ed25519)
#     pass `hwjose dpop verify` (both sign an Ed25519 key with RFC 9864's fully-specified alg
#     "Ed25519", never "EdDSA": checked below);
#  3. hostile proofs are refused with exit 1: wrong htu/htm, replayed jti, stale and future iat,
#     a private JWK in the header, none, HS256, typ, another key's jwk, ath and jkt mismatches;
#  4. `hwjose serve` issues an at+jwt bound to a TPM key's proof (token_type DPoP, cnf.jkt) that
#     `jwt verify --profile at+jwt`, `dpop verify` and oauth4webapi accept; it refuses a replayed
#     proof, a missing one, one for another URL, and a client's own cnf.
# Needs node with tests/interop/node_modules (scripts/install-deps.sh), jq, curl, SoftHSM and the
# swtpm fixture ($HWJ_TPM_DIR). The SoftHSM token is its own, made here (scripts/softhsm-token.sh):
# keygen in the shared fixture token raced other tests writing it. Fails, never skips.
set -uo pipefail
: "${HWJOSE:?}" "${HWJ_SOURCE_DIR:?}" "${HWJ_TPM_DIR:?}"
src=$HWJ_SOURCE_DIR
export HWJOSE_TCTI
HWJOSE_TCTI=$(cat "$HWJ_TPM_DIR/tcti")
unset HWJOSE_PIN
state=${HWJ_TEST_STATE:-${TMPDIR:-/tmp}}
mkdir -p "$state"
dir=$(mktemp -d "$state/dpop.XXXXXX")
fails=0
# shellcheck source=../server/lib.sh
. "$src/tests/server/lib.sh"
cleanup() {
  stop_server
  bash "$src/scripts/softhsm-token.sh" destroy "$dir/hsm" >/dev/null 2>&1 || true
  if [ "$fails" -eq 0 ]; then rm -rf "$dir"; else echo "state kept in $dir"; fi; }
trap cleanup EXIT

command -v node >/dev/null || { echo "FAIL - node is not installed: run scripts/install-deps.sh"; exit 1; }
for m in dpop oauth4webapi jose; do
  [ -d "$src/tests/interop/node_modules/$m" ] ||
    { echo "FAIL - npm $m is not installed in tests/interop: run scripts/install-deps.sh"; exit 1; }
done
command -v jq >/dev/null || { echo "FAIL - jq is required (scripts/install-deps.sh)"; exit 1; }

peer() { timeout 60 node "$src/tests/interop/dpop_peer.mjs" "$@"; }
H() { timeout 60 "$HWJOSE" "$@"; }
RS=https://rs.test/api/orders
AS=https://as.test
# rc_is WANT CMD...: the command's exit code is WANT
rc_is() { local want=$1 rc=0; shift; "$@" >/dev/null 2>"$dir/err" || rc=$?; [ "$rc" = "$want" ] || { cat "$dir/err"; echo "exit $rc, wanted $want"; return 1; }; }

# --- keys -------------------------------------------------------------------------------
bash "$src/scripts/softhsm-token.sh" create "$dir/hsm" hwj-dpop >/dev/null || { echo "FAIL - SoftHSM token"; exit 1; }
export SOFTHSM2_CONF=$dir/hsm/softhsm2.conf
q="?pin-source=file:$dir/hsm/user.pin"
p11_es="pkcs11:token=hwj-dpop;object=dpop-es$q"
p11_ps="pkcs11:token=hwj-dpop;object=dpop-ps$q"
p11_as="pkcs11:token=hwj-dpop;object=dpop-as$q"
p11_ed="pkcs11:token=hwj-dpop;object=dpop-ed$q"
tpm_es="tpm2:file=$dir/tpm-es.pem"
H keygen --key "$p11_es" --alg ES256 >/dev/null 2>&1 || fail "keygen SoftHSM ES256"
H keygen --key "$p11_ps" --alg PS256 --bits 2048 >/dev/null 2>&1 || fail "keygen SoftHSM PS256"
H keygen --key "$p11_as" --alg ES256 >/dev/null 2>&1 || fail "keygen SoftHSM ES256 (issuer)"
H keygen --key "$p11_ed" --alg Ed25519 >/dev/null 2>&1 || fail "keygen SoftHSM Ed25519"
H keygen --key "$tpm_es" --alg ES256 >/dev/null 2>&1 || fail "keygen TPM ES256"
peer keygen ES256 "$dir/as.json"
jq '. + {kid: "as-1"}' "$dir/as.json" >"$dir/as-kid.json"
jq '{keys: [del(.d)]}' "$dir/as-kid.json" >"$dir/as.jwks"
for alg in ES256 ES384 PS256 EdDSA; do peer keygen "$alg" "$dir/node-$alg.json"; done

# the thumbprint of a hwjose key: what `dpop verify` reports for its proof
jkt_of() { H dpop proof --key "$1" --htm GET --htu "$RS" | H dpop verify --htm GET --htu "$RS" | jq -r .jkt; }

# --- 1. hwjose's proofs → oauth4webapi ----------------------------------------------------
for k in p11_es p11_ps p11_ed tpm_es; do
  uri=${!k}
  jkt=$(jkt_of "$uri")
  at=$(peer token "$dir/as-kid.json" "$AS" rs "$jkt")
  proof=$(H dpop proof --key "$uri" --htm GET --htu "$RS?page=2" --ath "$at")
  check "$k: oauth4webapi accepts hwjose's proof and the token bound to it" \
    peer rs-verify "$dir/as.jwks" "$AS" rs GET "$RS?page=2" "$at" "$proof"
  proof=$(H dpop proof --key "$uri" --htm GET --htu "$RS" --ath "other-token")
  check "$k: oauth4webapi refuses a proof whose ath is another token's" \
    rc_is 1 peer rs-verify "$dir/as.jwks" "$AS" rs GET "$RS" "$at" "$proof"
  check "$k: hwjose verifies its own proof with ath and jkt" \
    bash -c 'H() { timeout 60 "$HWJOSE" "$@"; }; H dpop proof --key "$1" --htm POST --htu "$2" --ath "$3" |
             H dpop verify --htm POST --htu "$2" --access-token "$3" --jkt "$4"' _ "$uri" "$RS" "$at" "$jkt"
done

# --- 2. npm proofs → hwjose -------------------------------------------------------------
for made in proof-dpop:ES256 proof-dpop:PS256 proof-dpop:EdDSA proof-o4w:ES256 proof-o4w:ES384 \
  proof-o4w:PS256 proof-o4w:EdDSA; do
  maker=${made%%:*} alg=${made##*:} # `dpop` signs with P-256 only among the EC curves
  proof=$(peer "$maker" "$dir/node-$alg.json" POST "$RS" token-1)
  check "$maker $alg: hwjose dpop verify accepts it (with ath)" \
    rc_is 0 H dpop verify --htm POST --htu "$RS" --access-token token-1 <<<"$proof"
done

# RFC 9864: the npm peers name an Ed25519 signature "Ed25519", which hwjose accepts by default
hdr_alg() { python3 -c 'import base64, json, sys; h = sys.argv[1].split(".")[0]
print(json.loads(base64.urlsafe_b64decode(h + "=" * (-len(h) % 4)))["alg"])' "$1"; }
for maker in proof-dpop proof-o4w; do
  proof=$(peer "$maker" "$dir/node-EdDSA.json" POST "$RS")
  check "$maker: an Ed25519 key's proof says \"alg\":\"Ed25519\"" [ "$(hdr_alg "$proof")" = Ed25519 ]
  check "$maker: its \"Ed25519\" (RFC 9864) proof is accepted" \
    rc_is 0 H dpop verify --htm POST --htu "$RS" <<<"$proof"
done
check "an allow-list of EdDSA alone refuses an \"Ed25519\" proof: two names, each listed" \
  rc_is 1 H dpop verify --htm POST --htu "$RS" --alg EdDSA <<<"$proof"
# a key opened by URI is not bound to either name: EdDSA by default (as before), Ed25519 asked for
at=$(peer token "$dir/as-kid.json" "$AS" rs "$(jkt_of "$p11_ed")")
proof=$(H dpop proof --key "$p11_ed" --alg Ed25519 --htm GET --htu "$RS" --ath "$at")
check "dpop proof --alg Ed25519 (SoftHSM) says \"alg\":\"Ed25519\"" [ "$(hdr_alg "$proof")" = Ed25519 ]
check "oauth4webapi accepts hwjose's \"Ed25519\" proof and the token bound to it" \
  peer rs-verify "$dir/as.jwks" "$AS" rs GET "$RS" "$at" "$proof"
check "hwjose verifies its own \"Ed25519\" proof" \
  rc_is 0 H dpop verify --htm GET --htu "$RS" --access-token "$at" <<<"$proof"

# --- 3. hostile proofs → exit 1 ------------------------------------------------------------
good=$(H dpop proof --key "$tpm_es" --htm POST --htu "$RS" --ath token-1)
check "wrong htu is refused" rc_is 1 H dpop verify --htm POST --htu "$RS/other" <<<"$good"
check "wrong htm is refused" rc_is 1 H dpop verify --htm GET --htu "$RS" <<<"$good"
check "a replayed jti is refused" rc_is 1 H dpop verify --htm POST --htu "$RS" < <(printf '%s\n%s\n' "$good" "$good")
check "a mismatched ath is refused" rc_is 1 H dpop verify --htm POST --htu "$RS" --access-token token-2 <<<"$good"
check "a mismatched jkt is refused" rc_is 1 H dpop verify --htm POST --htu "$RS" --jkt "$(jkt_of "$p11_es")" <<<"$good"
check "the same proof with its own jkt is accepted" rc_is 0 H dpop verify --htm POST --htu "$RS" --jkt "$(jkt_of "$tpm_es")" <<<"$good"
check "a nonce the proof lacks is refused (exit 1, use_dpop_nonce)" \
  bash -c 'out=$(timeout 60 "$HWJOSE" dpop verify --htm POST --htu "$1" --nonce n1 <<<"$2" 2>&1 >/dev/null)
           [ $? = 1 ] && grep -q use_dpop_nonce <<<"$out"' _ "$RS" "$good"
for kind in stale future private-jwk none hs256 typ-jwt no-jwk other-key; do
  proof=$(peer hostile "$kind" "$dir/node-ES256.json" POST "$RS")
  check "hostile proof ($kind) is refused with exit 1" rc_is 1 H dpop verify --htm POST --htu "$RS" <<<"$proof"
done
check "a proof that is not a JWT is refused with exit 1" rc_is 1 H dpop verify --htm POST --htu "$RS" <<<"not-a-jwt"
check "no --htu is a usage error (exit 2)" rc_is 2 H dpop verify --htm POST <<<"$good"

# --- 4. hwjose serve issues DPoP-bound at+jwt ------------------------------------------------
tok=$(openssl rand -hex 32)
htu="$AS/v1/keys/as/jwt" # the URL clients use (through a proxy); never the Host header
cat >"$dir/config.json" <<JSON
{
  "listen": "127.0.0.1:0",
  "workers": 1,
  "keys": [
    {"name": "as", "uri": "$p11_as", "alg": "ES256", "ttl": "5m", "iss": "$AS", "aud": ["rs"],
     "dpop": "required", "dpop_htu": "$htu", "profile": "at+jwt"}
  ],
  "clients": [{"name": "agent-7", "token_sha256": "$(printf '%s' "$tok" | sha256sum | cut -d' ' -f1)",
               "permissions": {"as": ["jwt"]}}],
  "audit": {"path": "$dir/audit.log"}
}
JSON
# config refusals name the member
bad_config() { # bad_config JQ-EDIT EXPECTED-TEXT
  jq "$1" "$dir/config.json" >"$dir/bad.json"
  out=$(timeout 30 "$HWJOSE" serve --config "$dir/bad.json" 2>&1) && return 1
  grep -qF "$2" <<<"$out" || { echo "$out"; return 1; }
}
check "config: dpop other than required/optional is refused" bad_config '.keys[0].dpop = "yes"' 'keys[0].dpop'
check "config: an unknown profile is refused" bad_config '.keys[0].profile = "jwt"' 'keys[0].profile'
check "config: dpop without dpop_htu or an http(s) iss is refused" \
  bad_config '.keys[0] |= (del(.dpop_htu) | .iss = "as")' 'keys[0].dpop_htu'
check "config: dpop_htu with user information is refused" \
  bad_config '.keys[0].dpop_htu = "https://u@as.test/x"' 'keys[0].dpop_htu'
start_server "$dir/config.json"
body_json='{"claims":{"sub":"alice","aud":"rs"}}'
proof=$(H dpop proof --key "$tpm_es" --htm POST --htu "$htu")
req POST /v1/keys/as/jwt "$body_json" "$tok" -H "DPoP: $proof" --max-time 30
check "serve issues a token for a TPM key's proof (status $status)" [ "$status" = 200 ]
at=$(jq -r .jwt "$dir/body")
check "token_type is DPoP" jq -e '.token_type == "DPoP"' "$dir/body"
req GET /.well-known/jwks.json "" "" --max-time 30
cp "$dir/body" "$dir/serve.jwks"
claims=$(H jwt verify --jwks "$dir/serve.jwks" --iss "$AS" --aud rs --profile at+jwt <<<"$at")
check "jwt verify --profile at+jwt accepts it" [ -n "$claims" ]
check "cnf.jkt is the TPM key's thumbprint, client_id the client" \
  jq -e --arg j "$(jkt_of "$tpm_es")" '.cnf.jkt == $j and .client_id == "agent-7" and .sub == "alice"' <<<"$claims"
check "a plain JWT profile check refuses it (typ at+jwt)" \
  rc_is 1 H jwt verify --jwks "$dir/serve.jwks" --iss "$AS" --aud rs <<<"$at"
rsproof=$(H dpop proof --key "$tpm_es" --htm GET --htu "$RS" --ath "$at")
check "dpop verify accepts the client's next proof for the issued token" \
  rc_is 0 H dpop verify --htm GET --htu "$RS" --access-token "$at" --jkt "$(jq -r .cnf.jkt <<<"$claims")" <<<"$rsproof"
check "oauth4webapi accepts the issued token with the TPM key's proof" \
  peer rs-verify "$dir/serve.jwks" "$AS" rs GET "$RS" "$at" "$rsproof"
req POST /v1/keys/as/jwt "$body_json" "$tok" -H "DPoP: $proof" --max-time 30
check "a replayed proof is refused (status $status)" code_is 400 invalid_dpop_proof
req POST /v1/keys/as/jwt "$body_json" "$tok" --max-time 30
check "no proof is refused when the key requires one (status $status)" code_is 400 invalid_dpop_proof
p2=$(H dpop proof --key "$tpm_es" --htm POST --htu "$base/v1/keys/as/jwt")
req POST /v1/keys/as/jwt "$body_json" "$tok" -H "DPoP: $p2" --max-time 30
check "a proof for the Host-header URL, not the configured one, is refused" code_is 400 invalid_dpop_proof
p3=$(H dpop proof --key "$tpm_es" --htm POST --htu "$htu")
req POST /v1/keys/as/jwt '{"claims":{"sub":"alice","aud":"rs","cnf":{"jkt":"x"}}}' "$tok" -H "DPoP: $p3" --max-time 30
check "a client's own cnf is refused (status $status)" code_is 400 claim_not_allowed
p4=$(H dpop proof --key "$tpm_es" --htm POST --htu "$htu")
req POST /v1/keys/as/jwt '{"claims":{"aud":"rs"}}' "$tok" -H "DPoP: $p4" --max-time 30
check "an at+jwt without sub is refused (status $status)" code_is 400 bad_request
stop_server

[ "$fails" -eq 0 ] || { echo "$fails check(s) failed"; exit 1; }
echo "all DPoP checks passed"
