#!/usr/bin/env bash
# test_server_fault.sh: `hwjose serve` while its PKCS#11 token fails. The key is opened through
# tests/pkcs11/shim_fault.c (module-path=) over the fault fixture's SoftHSM token; the control
# file pulls the token (`* CKR_DEVICE_REMOVED 1`), then gives it back.
# Env (tests/fault.cmake): HWJOSE, HWJ_SOURCE_DIR, HWJ_TEST_STATE, SOFTHSM2_CONF, HWJ_P11_TOKEN,
# HWJ_P11_PIN_FILE, HWJ_FAULT_SHIM.
set -euo pipefail

HWJOSE=${HWJOSE:?set HWJOSE to the hwjose binary}
src=${HWJ_SOURCE_DIR:?}
state=${HWJ_TEST_STATE:-/tmp}
mkdir -p "$state"
dir=$(mktemp -d "$state/server-fault.XXXXXX")
fails=0
# shellcheck source=tests/server/lib.sh
. "$src/tests/server/lib.sh"
command -v jq >/dev/null || { echo "jq is required (scripts/install-deps.sh)"; exit 1; }

cleanup() {
  stop_server
  if [ "$fails" -eq 0 ]; then rm -rf "$dir"; else echo "state kept in $dir"; fi
}
trap cleanup EXIT

export HWJ_FAULT_CONTROL=$dir/faults
faults() { printf '%s\n' "$1" >"$dir/faults.tmp" && mv "$dir/faults.tmp" "$HWJ_FAULT_CONTROL"; }
faults ""

label="srv-$$"
key="pkcs11:token=${HWJ_P11_TOKEN:?};object=$label?module-path=${HWJ_FAULT_SHIM:?}&pin-source=file:${HWJ_P11_PIN_FILE:?}"
"$HWJOSE" keygen --key "$key" --alg ES256 >"$dir/pub.jwk"
tok=$(openssl rand -hex 32)
cat >"$dir/config.json" <<JSON
{
  "listen": "127.0.0.1:0",
  "workers": 2,
  "keys": [{"name": "x", "uri": "$key", "alg": "ES256", "ttl": 60,
            "iss": "https://issuer.test", "aud": ["svc"]}],
  "clients": [{"name": "c", "token_sha256": "$(printf '%s' "$tok" | sha256sum | cut -d' ' -f1)",
               "permissions": {"x": ["jwt"]}}],
  "limits": {"max_body_bytes": 1024, "timeout_seconds": 5, "max_connections": 64},
  "audit": {"path": "$dir/audit.log", "fsync": false},
  "jwks_max_age": 60
}
JSON
start_server "$dir/config.json"
echo "# server at $base"

claims='{"claims":{"aud":"svc","sub":"u1"}}'
verify() { "$HWJOSE" jwt verify --jwks-uri "$base/.well-known/jwks.json" --iss https://issuer.test --aud svc <<<"$1"; }

req POST /v1/keys/x/jwt "$claims" "$tok"
check "before the fault: jwt 200" [ "$status" = 200 ]
check "before the fault: the JWT verifies" verify "$(jq -r .jwt "$dir/body")"

faults "* CKR_DEVICE_REMOVED 1"
for i in 1 2 3; do
  req POST /v1/keys/x/jwt "$claims" "$tok"
  check "token removed: jwt $i → 503 token_unavailable (JSON error)" code_is 503 token_unavailable
done
sleep 2.1 # /healthz caches its probe for 2 s
req GET /healthz
check "token removed: healthz 503" [ "$status" = 503 ]
check "token removed: healthz names the key unavailable" jq -e '.keys.x == "unavailable"' "$dir/body"
check "the log names the token and what to do" grep -q "token '$HWJ_P11_TOKEN'.*reconnect" "$dir/server.log"
check "the server still answers" kill -0 "$server_pid"

faults ""
req POST /v1/keys/x/jwt "$claims" "$tok"
check "token back: jwt 200" [ "$status" = 200 ]
check "token back: the JWT verifies" verify "$(jq -r .jwt "$dir/body")"
sleep 2.1
req GET /healthz
check "token back: healthz 200" [ "$status" = 200 ]

# Lost sessions are recovered inside one request; a slow token is only slow.
faults "C_Sign CKR_SESSION_HANDLE_INVALID 0.3"
n200=0
for i in $(seq 20); do
  req POST /v1/keys/x/jwt "$claims" "$tok"
  case $status in
    200) verify "$(jq -r .jwt "$dir/body")" >/dev/null && n200=$((n200 + 1)) ;;
    503) ;;
    *) fail "lost sessions: unexpected status $status" ;;
  esac
done
check "lost sessions: most requests succeed, every JWT verifies ($n200/20)" [ "$n200" -ge 12 ]
faults "C_Sign delay=300 1"
req POST /v1/keys/x/jwt "$claims" "$tok"
check "slow token: still 200" [ "$status" = 200 ]
faults ""

stop_server
echo "# $fails failure(s)"
[ "$fails" -eq 0 ]
