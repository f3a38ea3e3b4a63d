#!/usr/bin/env bash
# test_jwks_cache_service.sh: the receiver side against the real `hwjose serve`: tokens the
# service issues are verified by `hwjose jwt verify --jwks-uri` / `hwjose verify --jwks-uri`
# against its /.well-known/jwks.json, across a key rotation (a key made outside the service
# imported as the next version with `hwjose keys rotate --uri`), and the CLI's refusals and
# failures are clear.
# Env: HWJOSE (the CLI), HWJ_TEST_STATE.
set -euo pipefail

HWJOSE=${HWJOSE:?set HWJOSE to the hwjose binary}
state=${HWJ_TEST_STATE:-/tmp}
mkdir -p "$state"
dir=$(mktemp -d "$state/jwks_cache_service.XXXXXX")
server_pid=""
fails=0

cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  if [ "$fails" -eq 0 ]; then rm -rf "$dir"; else echo "state kept in $dir"; fi
}
trap cleanup EXIT

# ok/fail/check, start_server/stop_server, reload
. "${HWJ_SOURCE_DIR:?}/tests/server/lib.sh"
command -v jq >/dev/null || { echo "jq is required (scripts/install-deps.sh)"; exit 1; }

openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$dir/k1.pem" 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$dir/k2.pem" 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$dir/raw.pem" 2>/dev/null
chmod 600 "$dir"/*.pem
tok=$(openssl rand -hex 32)
tok_hash=$(printf '%s' "$tok" | sha256sum | cut -d' ' -f1)

# write_config: key k1 (k1.pem imported as its version 1); times short enough to watch a
# rotation (JWKS max-age 1 s, propagation 1 s, refresh 1 s: a new version signs ~8 s after it
# is added).
write_config() {
  cat >"$dir/config.json.new" <<JSON
{
  "listen": "127.0.0.1:0",
  "workers": 2,
  "keys": [
    {"name": "k1", "uri": "file:$dir/k1.pem", "alg": "ES256", "ttl": 60, "propagation": 1,
     "iss": "https://issuer.test", "aud": ["svc-a"]},
    {"name": "raw", "uri": "file:$dir/raw.pem", "alg": "ES256"}
  ],
  "clients": [{"name": "alice", "token_sha256": "$tok_hash",
               "permissions": {"k1": ["jwt"], "raw": ["sign"]}}],
  "audit": {"path": "$dir/audit.log", "fsync": false},
  "store_refresh": 1,
  "jwks_max_age": 1
}
JSON
  mv "$dir/config.json.new" "$dir/config.json"
}

issue() { # issue KEY → a JWT for svc-a
  curl -sf -H "Authorization: Bearer $tok" -H 'Content-Type: application/json' \
    --data-binary '{"claims":{"aud":"svc-a","sub":"user-1"}}' "$base/v1/keys/$1/jwt" | jq -r .jwt
}

# jwt_verify JWT [extra args] → $out, $err, $rc (the alg allow-list is explicit: ES256 unless
# the extra args name another)
jwt_verify() {
  local jwt=$1; shift
  set +e
  local alg=(--alg ES256)
  [[ " $* " == *" --alg "* ]] && alg=()
  out=$("$HWJOSE" jwt verify --jwks-uri "$jwks" --iss https://issuer.test --aud "${AUD:-svc-a}" \
    "${alg[@]}" "$@" <<<"$jwt" 2>"$dir/err")
  rc=$?
  set -e
  err=$(cat "$dir/err")
}

write_config
start_server && jwks="$base/.well-known/jwks.json"

jwt1=$(issue k1)
jwt_verify "$jwt1"
check "k1's JWT verifies via --jwks-uri (exit 0)" [ "$rc" = 0 ]
check "the claims are printed" jq -e '.sub == "user-1" and .iss == "https://issuer.test"' <<<"${out:-null}"
jwt_verify "$jwt1" --alg PS256
check "an alg outside the allow-list → exit 1" [ "$rc" = 1 ]

jws=$(curl -sf -H "Authorization: Bearer $tok" -H 'Content-Type: application/json' \
  --data-binary '{"payload":"aGVsbG8"}' "$base/v1/keys/raw/sign" | jq -r .jws)
set +e
payload=$("$HWJOSE" verify --jwks-uri "$jwks" --alg ES256 <<<"$jws" 2>"$dir/err"); vrc=$?
set -e
check "hwjose verify --jwks-uri prints the JWS payload" [ "$vrc" = 0 -a "$payload" = hello ]

# --- rotation: k2.pem, made outside the service, imported as k1's version 2 -----------------
out=$("$HWJOSE" keys rotate --config "$dir/config.json" --key k1 --uri "file:$dir/k2.pem")
act_at=$(jq -r .activate_at <<<"$out")
check "hwjose keys rotate imports k2.pem as version 2" jq -e '.version == 2 and .origin == "imported"' <<<"$out"
jwt_verify "$jwt1"
check "k1's JWT still verifies once version 2 is added" [ "$rc" = 0 ]
while [ "$(date +%s)" -le "$act_at" ]; do sleep 0.2; done
jwt2=$(issue k1)
check "the JWT after rotation names another kid" \
  [ "$(cut -d. -f1 <<<"$jwt2" | base64 -d 2>/dev/null | jq -r .kid)" != "$(cut -d. -f1 <<<"$jwt1" | base64 -d 2>/dev/null | jq -r .kid)" ]
jwt_verify "$jwt2"
check "version 2's JWT verifies after the rotation" [ "$rc" = 0 ]
jwt_verify "$jwt1"
check "version 1's JWT (retiring) still verifies" [ "$rc" = 0 ]

# --- bad tokens and bad options -------------------------------------------------------
tampered="${jwt2%.*}.$(cut -d. -f3 <<<"$jwt1")"
jwt_verify "$tampered"
check "a JWT with another key's signature → exit 1" [ "$rc" = 1 ]
AUD=svc-b jwt_verify "$jwt2"
check "wrong audience → exit 1" [ "$rc" = 1 ]
set +e
"$HWJOSE" jwt verify --jwks-uri http://issuer.example/jwks.json --iss x --aud y <<<"$jwt2" \
  2>"$dir/err"; rc=$?
set -e
check "plain http off loopback → exit 2" [ "$rc" = 2 ]
check "… saying why and how to allow it" \
  bash -c 'grep -q "loopback" "$1" && grep -q "hint: --allow-http" "$1"' _ "$dir/err"
set +e
"$HWJOSE" jwt verify --jwks-uri "$jwks" --jwks "$dir/config.json" --iss x --aud y <<<"$jwt2" \
  2>"$dir/err"; rc=$?
set -e
check "--jwks-uri with --jwks → exit 2" [ "$rc" = 2 ]

# --- receivers find the keys from the issuer alone (OpenID Connect Discovery) -------------
# The service pins its own URL as iss, so it is the issuer's host: a fixed free port.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
iss="http://127.0.0.1:$port"
kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=""
sed -e "s|\"listen\": \"127.0.0.1:0\"|\"listen\": \"127.0.0.1:$port\"|" \
  -e "s|\"iss\": \"https://issuer.test\"|\"iss\": \"$iss\"|" "$dir/config.json" >"$dir/config2.json"
mv "$dir/config2.json" "$dir/config.json"
start_server
jwt3=$(issue k1)
set +e
out=$("$HWJOSE" jwt verify --issuer "$iss" --aud svc-a <<<"$jwt3" 2>"$dir/err"); rc=$?
set -e
check "jwt verify --issuer finds the jwks_uri by discovery and verifies (exit $rc)" \
  jq -e --arg i "$iss" '.iss == $i' <<<"${out:-null}"
set +e
"$HWJOSE" jwt verify --issuer "$iss/other" --aud svc-a <<<"$jwt3" 2>"$dir/err"; rc=$?
set -e
check "an issuer the service does not pin → exit 1, the document not found" \
  bash -c '[ "$1" = 1 ] && grep -q "OpenID configuration" "$2"' _ "$rc" "$dir/err"
jwks="$base/.well-known/jwks.json"

# --- the issuer goes away ---------------------------------------------------------------
kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=""
jwt_verify "$jwt2"
check "issuer down → exit 1" [ "$rc" = 1 ]
check "… naming the URL and the curl error" grep -qF "$jwks" "$dir/err"
check "… with curl's reason" grep -q 'curl error 7' "$dir/err"

[ "$fails" -eq 0 ] || { echo "$fails check(s) failed"; exit 1; }
echo "all checks passed"
