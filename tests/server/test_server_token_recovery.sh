#!/usr/bin/env bash
# test_server_token_recovery.sh: `hwjose serve` under load while its SoftHSM token directory is
# moved away and back — the real fault, no shim. SoftHSM reads its token directory at
# C_Initialize: with the directory back, lookups still find nothing until the module is
# finalised and initialised again, which the PKCS#11 backend does by itself (with back-off).
#   before: 200; while gone: 503 token_unavailable (a SIGHUP then is accepted);
#   back: 200 again within 2 s, the same server process (no restart).
# Env: HWJOSE (the CLI), HWJ_SOURCE_DIR, HWJ_TEST_STATE, HWJ_SOFTHSM_MODULE.
set -euo pipefail

HWJOSE=${HWJOSE:?set HWJOSE to the hwjose binary}
src=${HWJ_SOURCE_DIR:?}
state=${HWJ_TEST_STATE:-/tmp}
mkdir -p "$state"
dir=$(mktemp -d "$state/server-recovery.XXXXXX")
server_pid=""
load_pids=()
fails=0
# ok/fail/check, start_server/stop_server/reload, req, code_is
. "$src/tests/server/lib.sh"
command -v jq >/dev/null || { echo "jq is required (scripts/install-deps.sh)"; exit 1; }

cleanup() {
  for p in "${load_pids[@]}"; do kill "$p" 2>/dev/null || true; done
  stop_server
  [ -d "$dir/away" ] && mv "$dir/away" "$tokdir" 2>/dev/null || true
  if [ "$fails" -eq 0 ]; then
    bash "$src/scripts/softhsm-token.sh" destroy "$dir/softhsm" >/dev/null 2>&1 || true
    rm -rf "$dir"
  else
    echo "state kept in $dir"
  fi
}
trap cleanup EXIT

export HWJ_SOFTHSM_MODULE=${HWJ_SOFTHSM_MODULE:-/usr/lib/softhsm/libsofthsm2.so}
eval "$(bash "$src/scripts/softhsm-token.sh" create "$dir/softhsm" hwj-recovery)"
key="pkcs11:token=hwj-recovery;object=k?module-path=$HWJ_SOFTHSM_MODULE&pin-source=file:$dir/softhsm/user.pin"
"$HWJOSE" keygen --key "$key" --alg ES256 >/dev/null
tokdir=$(ls -d "$dir"/softhsm/tokens/*/ | head -1)
tokdir=${tokdir%/}
tok=$(openssl rand -hex 32)
cat >"$dir/config.json" <<JSON
{"listen": "127.0.0.1:0", "workers": 2,
 "keys": [{"name": "x", "uri": "$key", "alg": "ES256", "ttl": 60, "iss": "https://issuer.test",
           "aud": ["svc"]}],
 "clients": [{"name": "c", "token_sha256": "$(printf '%s' "$tok" | sha256sum | cut -d' ' -f1)",
              "permissions": {"x": ["jwt"]}}],
 "store": "sqlite:$dir/store.db",
 "audit": {"path": "$dir/audit.log", "fsync": false}}
JSON
start_server "$dir/config.json"
pid0=$server_pid

# Load: two clients, one request after another; each line "start end status".
load() {
  while :; do
    local s e c
    s=$(date +%s.%N)
    c=$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $tok" \
      -H 'Content-Type: application/json' --data '{"claims":{"aud":"svc"}}' \
      "$base/v1/keys/x/jwt") || c=000
    e=$(date +%s.%N)
    echo "$s $e $c" >>"$1"
  done
}
load "$dir/load1" &
load_pids+=($!)
load "$dir/load2" &
load_pids+=($!)

sleep 1
t_gone=$(date +%s.%N)
mv "$tokdir" "$dir/away"
sleep 1
req POST /v1/keys/x/jwt '{"claims":{"aud":"svc"}}' "$tok" --max-time 5 || status=000
check "token gone: 503 token_unavailable" code_is 503 token_unavailable
reload
check "a reload while the token is gone is accepted (its URI did not change)" \
  grep -q "reloaded" "$dir/server.log"
sleep 1
t_back=$(date +%s.%N)
mv "$dir/away" "$tokdir"
sleep 3
t_end=$(date +%s.%N)
for p in "${load_pids[@]}"; do kill "$p" 2>/dev/null || true; done
wait "${load_pids[@]}" 2>/dev/null || true
load_pids=()

cat "$dir/load1" "$dir/load2" | sort -n >"$dir/load"
# Requests wholly in a window, by status.
count() { # count FROM TO STATUS-REGEX
  awk -v a="$1" -v b="$2" -v re="^($3)\$" '$1 >= a && $2 <= b && $3 ~ re { n++ } END { print n + 0 }' "$dir/load"
}
total=$(wc -l <"$dir/load")
echo "# $total requests under load; gone at $t_gone, back at $t_back"
check "every answer is 200 or 503 (no error, no dropped connection)" \
  [ "$(count 0 9e18 '200|503')" = "$total" ]
check "before: 200 ($(count 0 "$t_gone" 200) requests)" [ "$(count 0 "$t_gone" 200)" -gt 0 -a "$(count 0 "$t_gone" 503)" = 0 ]
calc() { awk "BEGIN { printf \"%.6f\", $1 }"; }
holds() { awk "BEGIN { exit !($1) }"; }
gone_from=$(calc "$t_gone + 0.2")
check "while gone: only 503 ($(count "$gone_from" "$t_back" 503) requests)" \
  [ "$(count "$gone_from" "$t_back" 503)" -gt 0 -a "$(count "$gone_from" "$t_back" 200)" = 0 ]
first_ok=$(awk -v b="$t_back" '$1 >= b && $3 == 200 { print $2; exit }' "$dir/load")
took=$(calc "${first_ok:-9e9} - $t_back")
check "back: served again ${took} s after the token returned (< 2 s)" holds "$took < 2"
back_from=$(calc "$t_back + 2")
check "back: only 200 from then on ($(count "$back_from" "$t_end" 200) requests)" \
  [ "$(count "$back_from" "$t_end" 200)" -gt 0 -a "$(count "$back_from" "$t_end" 503)" = 0 ]
check "no restart: the same server process, alive" kill -0 "$pid0"
req POST /v1/keys/x/jwt '{"claims":{"aud":"svc"}}' "$tok" --max-time 5 || status=000
check "the JWT it issues verifies" \
  "$HWJOSE" jwt verify --jwks-uri "$base/.well-known/jwks.json" --iss https://issuer.test --aud svc \
  <<<"$(jq -r .jwt "$dir/body")"

stop_server
echo "# $fails failure(s)"
[ "$fails" -eq 0 ]
