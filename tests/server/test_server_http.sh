#!/usr/bin/env bash
# test_server_http.sh: the HTTP/1.1 contract of `hwjose serve`, black-box, plain and TLS.
#
# Every key lives in a SoftHSM token this script creates (keys made by `hwjose keygen`):
# sig (ES256: /jwt), pub (ES256: /sign; rotated: a pending version), rsa (RSA-OAEP-256) and ec
# (ECDH-ES: /decrypt).
# Per scheme (http, then https) three servers run one after the other:
#   main     — the operations against the token, keep-alive, pipelining, HEAD, HTTP/1.0,
#              Connection: close, Expect: 100-continue, chunked, duplicate Content-Length,
#              malformed request lines, oversize headers and bodies, JSON errors, audit of failures
#   timeout  — limits.timeout_seconds = 2: idle keep-alive, slowloris, silent and stalled-body
#              connections are closed within timeout + 2 s
#   maxconn  — limits.max_connections = 3: one more → 503 too_many_connections (or closed),
#              and 200 again once the idle ones are gone
# After each: the server is alive, /healthz answers, SIGTERM → exit 0. At the end the audit chain
# of all of them verifies. Raw protocol cases use tests/server/rawhttp.py (python3 stdlib).
# Every client is bounded in time; only 127.0.0.1 is used.
# Env: HWJOSE (the CLI), HWJ_SOURCE_DIR, HWJ_TEST_STATE, HWJ_SOFTHSM_MODULE.
set -euo pipefail

HWJOSE=${HWJOSE:?set HWJOSE to the hwjose binary}
src=${HWJ_SOURCE_DIR:?}
state=${HWJ_TEST_STATE:-/tmp}
mkdir -p "$state"
dir=$(mktemp -d "$state/server-http.XXXXXX")
server_pid=""
fails=0
raw_py=$src/tests/server/rawhttp.py
T=2 # limits.timeout_seconds of the timeout server
N=3 # limits.max_connections of the maxconn server

# ok/fail/check, start_server/stop_server, req, code_is
. "$src/tests/server/lib.sh"

cleanup() {
  stop_server
  if [ "$fails" -eq 0 ]; then
    [ -n "${SOFTHSM2_CONF:-}" ] && bash "$src/scripts/softhsm-token.sh" destroy "$dir/softhsm" >/dev/null 2>&1
    rm -rf "$dir"
  else
    echo "state kept in $dir"
  fi
}
trap cleanup EXIT

command -v jq >/dev/null || { echo "jq is required (scripts/install-deps.sh)"; exit 1; }
[ -x /usr/bin/python3 ] || { echo "python3 is required"; exit 1; }

# --- the token and its keys --------------------------------------------------
export HWJ_SOFTHSM_MODULE=${HWJ_SOFTHSM_MODULE:-/usr/lib/softhsm/libsofthsm2.so}
eval "$(bash "$src/scripts/softhsm-token.sh" create "$dir/softhsm" hwj-http-test)"
pin=$dir/softhsm/user.pin
uri() { echo "pkcs11:token=hwj-http-test;object=$1?module-path=$HWJ_SOFTHSM_MODULE&pin-source=file:$pin"; }
"$HWJOSE" keygen --key "$(uri sig)" --alg ES256 >"$dir/sig.jwk"
"$HWJOSE" keygen --key "$(uri pub)" --alg ES256 >"$dir/pub.jwk"
"$HWJOSE" keygen --key "$(uri rsa)" --alg RSA-OAEP-256 --bits 2048 >"$dir/rsa.jwk"
"$HWJOSE" keygen --key "$(uri ec)" --alg ECDH-ES --bits 256 >"$dir/ec.jwk"
echo "# keys sig, pub, rsa, ec generated in SoftHSM token hwj-http-test"

tok_a=$(openssl rand -hex 32) # alice: jwt with sig, sign and rotate with pub, decrypt with rsa, ec
tok_b=$(openssl rand -hex 32) # bob: only sign with pub (a key serves jwt or sign, not both)
hash() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }

# TLS material (the https pass)
t=$dir/tls
mkdir -p "$t"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$t/srv.key" \
  -out "$t/srv.crt" -subj "/CN=127.0.0.1" -addext "subjectAltName=IP:127.0.0.1" -days 2 2>/dev/null

# write_config FILE TIMEOUT MAX_CONNECTIONS SCHEME
write_config() {
  local tls=""
  [ "$4" = https ] && tls="\"tls\": {\"cert\": \"$t/srv.crt\", \"key\": \"$t/srv.key\"},"
  cat >"$1" <<JSON
{
  "listen": "127.0.0.1:0", $tls
  "workers": 2,
  "keys": [
    {"name": "sig", "uri": "$(uri sig)", "alg": "ES256", "ttl": 60,
     "iss": "https://issuer.test", "aud": ["svc-a", "svc-b"]},
    {"name": "pub", "uri": "$(uri pub)", "generate": "$(uri 'pub-v{version}')", "alg": "ES256"},
    {"name": "rsa", "uri": "$(uri rsa)", "alg": "RSA-OAEP-256"},
    {"name": "ec", "uri": "$(uri ec)", "alg": "ECDH-ES"}
  ],
  "clients": [
    {"name": "alice", "token_sha256": "$(hash "$tok_a")",
     "permissions": {"sig": ["jwt"], "pub": ["sign", "rotate"], "rsa": ["decrypt"], "ec": ["decrypt"]}},
    {"name": "bob", "token_sha256": "$(hash "$tok_b")", "permissions": {"pub": ["sign"]}}
  ],
  "limits": {"max_body_bytes": 8192, "timeout_seconds": $2, "max_connections": $3},
  "audit": {"path": "$dir/audit.log", "fsync": false},
  "jwks_max_age": 60
}
JSON
}

# --- helpers -------------------------------------------------------------------
scheme=http
tls_curl=()
tls_raw=()
port=""

# rq METHOD PATH [BODY] [TOKEN] [curl args...]: lib.sh's req, bounded, with the scheme's CA.
rq() {
  local m=$1 p=$2 b=${3:-} k=${4:-}
  shift 4 2>/dev/null || shift $#
  req "$m" "$p" "$b" "$k" --max-time 10 "${tls_curl[@]}" "$@" || status=000
}
# raw [--timeout S] ACTION...: one raw connection (tests/server/rawhttp.py) → $r (JSON)
raw() {
  local opts=()
  [ "$1" = --timeout ] && { opts=(--timeout "$2"); shift 2; }
  r=$(/usr/bin/python3 "$raw_py" "${tls_raw[@]}" "${opts[@]}" "$port" "$@" 2>"$dir/raw.err") ||
    r=$(jq -n --rawfile e "$dir/raw.err" '{error: ("rawhttp failed: " + $e), responses: []}')
}
rj() { jq -e "$@" <<<"$r" >/dev/null; } # rj FILTER [jq args]: on the last raw result

start() { # start CONFIG
  start_server "$1"
  port=${base##*:}
  echo "# $scheme server ($(basename "$1")) at $base"
}
# Item 5: alive, /healthz answers, SIGTERM → exit 0 (within 10 s).
stop_checked() {
  local what=$1 rc=0
  check "$what: the server process is still alive" kill -0 "$server_pid"
  rq GET /healthz
  check "$what: /healthz still answers 200" [ "$status" = 200 ]
  kill -TERM "$server_pid" 2>/dev/null || true
  for _ in $(seq 200); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.05; done
  if kill -0 "$server_pid" 2>/dev/null; then
    kill -KILL "$server_pid" 2>/dev/null || true
    rc=timeout
  fi
  wait "$server_pid" 2>/dev/null || { [ "$rc" = timeout ] || rc=$?; }
  server_pid=""
  check "$what: SIGTERM → exit 0 (got $rc)" [ "$rc" = 0 ]
  if grep -Eq 'AddressSanitizer|runtime error:|LeakSanitizer' "$dir/server.log"; then
    fail "$what: sanitizer report in the server log"; cat "$dir/server.log"
  fi
}
code_is() { # lib.sh's, quiet when the body is not JSON (the check fails anyway)
  [ "$status" = "$1" ] && jq -e --arg c "$2" '.error.code == $c' "$dir/body" >/dev/null 2>&1
}
still_serving() { # after a hostile request
  rq GET /.well-known/jwks.json
  check "$1: the server keeps serving" [ "$status" = 200 ]
}
is_json_error() { # the last req's answer is {"error":{"code":string,"message":string}} as JSON
  grep -qi '^Content-Type: application/json' "$dir/headers" &&
    jq -e '(.error.code | type == "string") and (.error.message | type == "string")' "$dir/body" >/dev/null
}
# b64url of a file's bytes
b64url() { base64 -w0 "$1" | tr '+/' '-_' | tr -d '='; }
# tamper: flip one base64url character in the middle of a compact JWE's ciphertext
tamper() {
  local jwe=$1 ct i c
  IFS=. read -r p1 p2 p3 ct p5 <<<"$jwe"
  i=$((${#ct} / 2))
  c=${ct:i:1}
  [ "$c" = A ] && c=B || c=A
  echo "$p1.$p2.$p3.${ct:0:i}$c${ct:i+1}.$p5"
}
lt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; } # float a < b

# --- the operations, every one in the token (item 1) --------------------------
ops_checks() {
  curl -s --max-time 10 "${tls_curl[@]}" "$base/.well-known/jwks.json" >"$dir/jwks.json"
  check "[$scheme] jwks lists sig, pub, rsa, ec with their algs" jq -e \
    '[.keys[] | .alg] | sort == ["ECDH-ES","ES256","ES256","RSA-OAEP-256"]' "$dir/jwks.json"
  for k in sig rsa ec; do
    check "[$scheme] the $k key's kid (from keygen) is in the JWKS" jq -e --arg kid \
      "$(jq -r .kid "$dir/$k.jwk")" '[.keys[].kid] | index($kid) != null' "$dir/jwks.json"
  done
  rq GET /v1/keys "" "$tok_a"
  check "[$scheme] every key is in the token (custody: pkcs11, sensitive, not extractable)" jq -e \
    '.keys | length == 4 and all(.custody.backend == "pkcs11" and .custody.sensitive == true and .custody.extractable == false)' "$dir/body"

  rq POST /v1/keys/sig/jwt '{"claims":{"aud":"svc-a","sub":"user-7"}}' "$tok_a"
  check "[$scheme] /jwt with the SoftHSM key → 200" [ "$status" = 200 ]
  local jwt out
  jwt=$(jq -r .jwt "$dir/body" 2>/dev/null || true)
  out=$("$HWJOSE" jwt verify --jwks "$dir/jwks.json" --iss https://issuer.test --aud svc-a <<<"$jwt" 2>&1) || true
  check "[$scheme] the JWT verifies against the JWKS" jq -e '.sub == "user-7"' <<<"$out"

  rq POST /v1/keys/pub/sign '{"payload":"aGVsbG8gdG9rZW4"}' "$tok_b"
  check "[$scheme] /sign with the SoftHSM key → 200" [ "$status" = 200 ]
  out=$("$HWJOSE" verify --jwks "$dir/jwks.json" <<<"$(jq -r .jws "$dir/body" 2>/dev/null)" 2>&1) || true
  check "[$scheme] the JWS verifies against the JWKS (payload '$out')" [ "$out" = "hello token" ]

  local k alg jwe
  for k in rsa ec; do
    alg=$(jq -r .alg "$dir/$k.jwk")
    [ "$alg" != null ] || alg=$([ $k = rsa ] && echo RSA-OAEP-256 || echo ECDH-ES)
    printf 'secret for %s over %s' "$k" "$scheme" >"$dir/pt"
    jwe=$("$HWJOSE" encrypt --jwk "$dir/$k.jwk" --alg "$alg" --enc A256GCM <"$dir/pt")
    rq POST "/v1/keys/$k/decrypt" "{\"jwe\":\"$jwe\"}" "$tok_a"
    check "[$scheme] /decrypt ($alg, SoftHSM) → 200" [ "$status" = 200 ]
    check "[$scheme] /decrypt ($alg) returns the plaintext" \
      [ "$(jq -r .plaintext "$dir/body" 2>/dev/null)" = "$(b64url "$dir/pt")" ]
    check "[$scheme] /decrypt ($alg) names alg and enc" jq -e --arg a "$alg" '.alg == $a and .enc == "A256GCM"' "$dir/body"

    # Item 4: a failed operation by an authorized client is audited as error:<code>.
    rq POST "/v1/keys/$k/decrypt" "{\"jwe\":\"$(tamper "$jwe")\"}" "$tok_a"
    check "[$scheme] /decrypt of a tampered JWE ($alg) → 400 decryption_failed" code_is 400 decryption_failed
    check "[$scheme] AUDIT-OF-FAILURES: tampered /decrypt ($k) audited as error:decryption_failed" jq -se \
      --arg k "$k" 'map(select(.op == "decrypt" and .key == $k and .client == "alice")) | last | .result == "error:decryption_failed"' "$dir/audit.log"
  done
  rq POST /v1/keys/sig/jwt '{"claims":' "$tok_a"
  check "[$scheme] malformed JSON to /jwt → 400 invalid_json" code_is 400 invalid_json
  check "[$scheme] AUDIT-OF-FAILURES: the 400 after auth is audited as error:*" jq -se \
    'last | .op == "jwt" and .key == "sig" and .client == "alice" and (.result | startswith("error:"))' "$dir/audit.log"
  rq POST /v1/keys/sig/jwt '{"claims":{"aud":"svc-a"}}' "$tok_b"
  check "[$scheme] denial still audited as denied:forbidden" jq -se \
    'last | .op == "jwt" and .client == "bob" and .result == "denied:forbidden"' "$dir/audit.log"
}

# --- HTTP/1.1 behaviour (item 2) ----------------------------------------------
http_checks() {
  local s="[$scheme]" out H="Host: 127.0.0.1\r\n" A="Authorization: Bearer $tok_a\r\n" CT="Content-Type: application/json\r\n"
  local claims='{"claims":{"aud":"svc-a"}}' # 26 bytes

  # keep-alive: curl reuses one connection for several requests, errors included
  out=$(curl -s --max-time 10 "${tls_curl[@]}" -o /dev/null -w '%{http_code}:%{num_connects} ' "$base/healthz" \
    --next "${tls_curl[@]}" -o /dev/null -w '%{http_code}:%{num_connects} ' "$base/nowhere" \
    --next "${tls_curl[@]}" -o /dev/null -w '%{http_code}:%{num_connects} ' -H "Authorization: Bearer $tok_a" \
    -H 'Content-Type: application/json' --data-binary "$claims" "$base/v1/keys/sig/jwt" \
    --next "${tls_curl[@]}" -o /dev/null -w '%{http_code}:%{num_connects}' "$base/.well-known/jwks.json") || true
  check "$s keep-alive: 4 requests (a 404 among them) on one connection ($out)" [ "$out" = "200:1 404:0 200:0 200:0" ]
  raw send:"GET /healthz HTTP/1.1\r\n$H\r\n" read:1 send:"POST /v1/keys/sig/jwt HTTP/1.1\r\n$H$A${CT}Content-Length: 26\r\n\r\n$claims" read:1
  check "$s keep-alive (raw): two requests, two answers, one connection" rj \
    '.error == null and (.responses | map(.status)) == [200, 200] and (.responses[1].body | fromjson | .jwt | length > 0)'

  # pipelining: three requests in one write, three answers in order
  raw send:"POST /v1/keys/sig/jwt HTTP/1.1\r\n$H$A${CT}Content-Length: 26\r\n\r\n${claims}GET /nowhere HTTP/1.1\r\n$H\r\nGET /.well-known/jwks.json HTTP/1.1\r\n$H\r\n" read:3
  check "$s pipelining: 3 requests in one write → 200, 404, 200 in order" rj \
    '.error == null and (.responses | map(.status)) == [200, 404, 200] and (.responses[0].body | fromjson | has("jwt")) and (.responses[2].body | fromjson | has("keys"))'

  # HEAD: the GET's headers with its Content-Length, no body (the next answer parses cleanly)
  local glen
  glen=$(curl -s --max-time 10 "${tls_curl[@]}" "$base/.well-known/jwks.json" | wc -c)
  raw send:"HEAD /.well-known/jwks.json HTTP/1.1\r\n$H\r\n" readhead quiet:0.3 send:"GET /healthz HTTP/1.1\r\n$H\r\n" read:1
  check "$s HEAD /.well-known/jwks.json → 200 with the GET's Content-Length $glen ($(jq -c '.responses[0].headers["content-length"]' <<<"$r"))" \
    rj --arg n "$glen" '.responses[0].status == 200 and .responses[0].headers["content-length"] == $n'
  check "$s HEAD: no body (got $(jq .extra <<<"$r") bytes), the next answer on the connection parses" \
    rj '.error == null and .extra == 0 and .responses[1].status == 200'
  out=$(curl -s --max-time 5 "${tls_curl[@]}" -I -o /dev/null -w '%{http_code} %{size_download}' "$base/.well-known/jwks.json") || true
  check "$s HEAD with curl -I ($out)" [ "$out" = "200 0" ]

  # HTTP/1.0 and Connection: close: an answer, then the server closes (well before its timeout)
  raw send:"GET /healthz HTTP/1.0\r\n\r\n" read:1 eof:2
  check "$s HTTP/1.0 request → answered, then the connection closes" rj \
    '.error == null and .responses[0].status == 200 and (.responses[0].body | fromjson | .status == "ok") and .eof'
  raw send:"GET /healthz HTTP/1.1\r\n${H}Connection: close\r\n\r\n" read:1 eof:2
  check "$s Connection: close → answered, then the connection closes" rj '.error == null and .responses[0].status == 200 and .eof'

  # Expect: 100-continue (curl sends it for bodies over 1 KiB) without the client's 1 s stall
  head -c 1200 /dev/urandom | base64 -w0 >"$dir/big.pt"
  printf '{"jwe":"%s"}' "$("$HWJOSE" encrypt --jwk "$dir/rsa.jwk" --alg RSA-OAEP-256 --enc A256GCM <"$dir/big.pt")" >"$dir/big.json"
  local blen
  blen=$(wc -c <"$dir/big.json")
  out=$(curl -s --max-time 10 "${tls_curl[@]}" -o "$dir/body" -w '%{http_code} %{time_total}' -H "Authorization: Bearer $tok_a" \
    -H 'Content-Type: application/json' -H 'Expect: 100-continue' --data-binary "@$dir/big.json" "$base/v1/keys/rsa/decrypt") || true
  check "$s Expect: 100-continue, $blen-byte /decrypt body → 200 in < 0.9 s ($out)" \
    bash -c '[ "${1%% *}" = 200 ] && awk -v t="${1#* }" "BEGIN { exit !(t < 0.9) }"' _ "$out"
  check "$s ... and the plaintext is right" [ "$(jq -r .plaintext "$dir/body" 2>/dev/null)" = "$(b64url "$dir/big.pt")" ]
  raw --timeout 0.9 send:"POST /v1/keys/rsa/decrypt HTTP/1.1\r\n$H$A${CT}Content-Length: $blen\r\nExpect: 100-continue\r\n\r\n" \
    read:1 sendfile:"$dir/big.json" read:1
  check "$s Expect: 100-continue (raw): 100 Continue, then 200" rj \
    '.error == null and (.responses | map(.status)) == [100, 200] and .elapsed < 0.9'

  # Transfer-Encoding: chunked: not processed as a 2xx (the new layer answers 411 JSON)
  raw send:"POST /v1/keys/sig/jwt HTTP/1.1\r\n$H$A${CT}Transfer-Encoding: chunked\r\n\r\n1a\r\n$claims\r\n0\r\n\r\n" read:1
  check "$s Transfer-Encoding: chunked → no 2xx ($(jq -c '[.responses[].status, .error]' <<<"$r"))" rj \
    '(.responses | map(.status) | all(. < 200 or . >= 300))'
  still_serving "$s after a chunked request"

  # two different Content-Length headers → 400
  raw send:"POST /v1/keys/sig/jwt HTTP/1.1\r\n$H$A${CT}Content-Length: 26\r\nContent-Length: 30\r\n\r\n$claims    " read:1
  check "$s two different Content-Length → 400 ($(jq -c '[.responses[].status, .error]' <<<"$r"))" rj '.responses[0].status == 400'
  still_serving "$s after a duplicate Content-Length"

  # malformed request lines → 400
  raw send:"NOT-HTTP\r\n$H\r\n" read:1
  check "$s request line 'NOT-HTTP' → 400 ($(jq -c '[.responses[].status, .error]' <<<"$r"))" rj '.responses[0].status == 400'
  raw send:"GET /healthz HTTP/1.x\r\n$H\r\n" read:1
  check "$s request line with version 'HTTP/1.x' → 400 ($(jq -c '[.responses[].status, .error]' <<<"$r"))" rj '.responses[0].status == 400'
  still_serving "$s after malformed request lines"

  # a header block over 16 KiB → 4xx (431 or 400), one long line or many lines
  { printf 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: '; head -c 20000 /dev/zero | tr '\0' a; printf '\r\n\r\n'; } >"$dir/bighdr1"
  { printf 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n'
    for i in $(seq 40); do printf 'X-H%d: ' "$i"; head -c 500 /dev/zero | tr '\0' b; printf '\r\n'; done
    printf '\r\n'; } >"$dir/bighdr2"
  raw sendfile:"$dir/bighdr1" read:1
  check "$s one 20 KB header line → 4xx ($(jq -c '[.responses[].status, .error]' <<<"$r"))" rj '.responses[0].status | . >= 400 and . < 500'
  raw sendfile:"$dir/bighdr2" read:1
  check "$s 40 headers, 20 KB in all → 4xx ($(jq -c '[.responses[].status, .error]' <<<"$r"))" rj '.responses[0].status | . >= 400 and . < 500'
  still_serving "$s after oversize header blocks"

  # oversize bodies → 413 JSON (over the limit: read and refused; over twice: cut off unread)
  printf '{"claims":{"aud":"svc-a","x":"%s"}}' "$(head -c 10000 /dev/zero | tr '\0' a)" >"$dir/b413"
  rq POST /v1/keys/sig/jwt "@$dir/b413" "$tok_a"
  check "$s body over max_body_bytes → 413 payload_too_large" code_is 413 payload_too_large
  check "$s ... as a JSON error" is_json_error
  printf '{"claims":{"aud":"svc-a","x":"%s"}}' "$(head -c 200000 /dev/zero | tr '\0' a)" >"$dir/b413big"
  rq POST /v1/keys/sig/jwt "@$dir/b413big" "$tok_a"
  check "$s body over twice max_body_bytes → 413 (got $status)" [ "$status" = 413 ]
  check "$s ... as a JSON error payload_too_large" code_is 413 payload_too_large
  still_serving "$s after oversize bodies"

  # two Authorization fields: refused, whichever a proxy in front would have read
  rq POST /v1/keys/sig/jwt "$claims" "$tok_a" -H "Authorization: Bearer $tok_b"
  check "$s a repeated Authorization header → 400 bad_request" code_is 400 bad_request
  check "$s every answer, a refusal too, names its request: X-Request-Id of 16 hex digits" \
    grep -Eqi '^X-Request-Id: [0-9a-f]{16}'$'\r''$' "$dir/headers"
  local id1 id2
  id1=$(grep -i '^X-Request-Id' "$dir/headers")
  rq GET /healthz
  id2=$(grep -i '^X-Request-Id' "$dir/headers")
  check "$s ... a different one per request" [ -n "$id2" -a "$id1" != "$id2" ]
  # a rotation of pub leaves a version that is not active for a while: a second one is 409
  rq POST /v1/keys/pub/rotate "{}" "$tok_a"
  # every 4xx from our routes is {"error":{"code","message"}} as JSON
  local c
  while IFS='|' read -r want method path body tok; do
    [ "$tok" = a ] && tok=$tok_a
    [ "$tok" = b ] && tok=$tok_b
    rq "$method" "$path" "$body" "$tok"
    c=$(jq -r .error.code "$dir/body" 2>/dev/null || true)
    if [ "$status" = "$want" ] && is_json_error; then
      ok "$s $method $path → $want, JSON error ($c)"
    else
      fail "$s $method $path → $want, JSON error (got $status $c)"
    fi
  done <<EOF
400|POST|/v1/keys/sig/jwt|{"claims":|a
400|POST|/v1/keys/sig/jwt|{"claims":{"aud":"svc-a","exp":1}}|a
400|POST|/v1/keys/pub/sign|{"payload":"e30","header":{"typ":"JWT"}}|a
400|POST|/v1/keys/rsa/decrypt|{"jwe":"a.b.c.d.e"}|a
401|POST|/v1/keys/sig/jwt|$claims|
401|GET|/v1/keys||wrong
403|POST|/v1/keys/sig/jwt|$claims|b
403|POST|/v1/keys/sig/jwt|{"claims":{"aud":"evil"}}|a
404|GET|/nowhere||
404|POST|/v1/keys/nope/jwt|$claims|a
405|GET|/v1/keys/sig/jwt||a
405|POST|/healthz|{}|
409|POST|/v1/keys/pub/rotate|{}|a
413|POST|/v1/keys/sig/jwt|@$dir/b413|a
EOF
}

# --- limits (item 3) -----------------------------------------------------------
timeout_checks() {
  local s="[$scheme] timeout_seconds=$T:" H="Host: 127.0.0.1\r\n" lim=$((T + 2))
  # Four connections at once, each bounded by lim + 1 s on the client side.
  /usr/bin/python3 "$raw_py" "${tls_raw[@]}" "$port" send:"GET /.well-known/jwks.json HTTP/1.1\r\n$H\r\n" read:1 eof:$((lim + 1)) >"$dir/t.idle" 2>&1 &
  local p1=$!
  /usr/bin/python3 "$raw_py" "${tls_raw[@]}" "$port" send:"GET /healthz HTTP/1.1\r\n${H}X-Slow: a" eof:$((lim + 1)) >"$dir/t.slow" 2>&1 &
  local p2=$!
  /usr/bin/python3 "$raw_py" "${tls_raw[@]}" "$port" send:"POST /v1/keys/sig/jwt HTTP/1.1\r\n${H}Authorization: Bearer $tok_a\r\nContent-Length: 100\r\n\r\n{\"claims\":" eof:$((lim + 1)) >"$dir/t.body" 2>&1 &
  local p3=$!
  # silent: TCP only, not a byte (for https: no TLS handshake either)
  /usr/bin/python3 "$raw_py" "$port" eof:$((lim + 1)) >"$dir/t.silent" 2>&1 &
  local p4=$!
  wait $p1 $p2 $p3 $p4 || true
  r=$(cat "$dir/t.idle")
  check "$s idle keep-alive connection closed within $lim s ($(jq -c '[.responses[0].status, .eof_after, .error]' <<<"$r"))" \
    rj --argjson l "$lim" '.responses[0].status == 200 and .eof and .eof_after <= $l'
  r=$(cat "$dir/t.slow")
  check "$s slowloris (partial header, then nothing) closed within $lim s ($(jq -c '[.eof_after, .error]' <<<"$r"))" \
    rj --argjson l "$lim" '.eof and .eof_after <= $l'
  r=$(cat "$dir/t.body")
  check "$s stalled body (10 of 100 bytes) closed within $lim s ($(jq -c '[.eof_after, .error]' <<<"$r"))" \
    rj --argjson l "$lim" '.eof and .eof_after <= $l and (.responses | map(.status) | all(. < 200 or . >= 300))'
  r=$(cat "$dir/t.silent")
  check "$s silent connection (no bytes$([ $scheme = https ] && echo ', no TLS handshake')) closed within $lim s ($(jq -c '[.eof_after, .error]' <<<"$r"))" \
    rj --argjson l "$lim" '.eof and .eof_after <= $l'
}

maxconn_checks() {
  local s="[$scheme] max_connections=$N:" H="Host: 127.0.0.1\r\n" i pids=() ready
  rm -f "$dir"/held.* "$dir/release"
  for i in $(seq "$N"); do
    /usr/bin/python3 "$raw_py" "${tls_raw[@]}" "$port" send:"GET /.well-known/jwks.json HTTP/1.1\r\n$H\r\n" read:1 \
      mark:"$dir/held.$i" waitfile:"$dir/release" >"$dir/held.$i.out" 2>&1 &
    pids+=($!)
  done
  for _ in $(seq 200); do
    ready=$(find "$dir" -maxdepth 1 -name 'held.[0-9]' | wc -l)
    [ "$ready" -ge "$N" ] && break
    sleep 0.025
  done
  check "$s $N idle keep-alive connections got their answer ($ready)" [ "$ready" = "$N" ]
  rq GET /.well-known/jwks.json
  if [ "$status" = 000 ]; then
    ok "$s connection $((N + 1)) → refused or closed"
  else
    check "$s connection $((N + 1)) → 503 too_many_connections JSON (got $status)" code_is 503 too_many_connections
  fi
  : >"$dir/release"
  wait "${pids[@]}" || true
  local got=000
  for _ in $(seq 40); do
    rq GET /.well-known/jwks.json
    got=$status
    [ "$got" = 200 ] && break
    sleep 0.1
  done
  check "$s after the idle ones close, 200 again (got $got)" [ "$got" = 200 ]
  local codes=""
  for i in $(seq $((3 * N))); do rq GET /healthz; codes+="$status "; done
  check "$s $((3 * N)) connections one after the other: all 200, no slot leaks ($codes)" \
    bash -c '! grep -qv "^200$" <<<"$(tr " " "\n" <<<"$1" | sed "/^$/d")"' _ "$codes"
}

# --- run ---------------------------------------------------------------------
for scheme in http https; do
  if [ $scheme = https ]; then
    tls_curl=(--cacert "$t/srv.crt")
    tls_raw=(--tls --cafile "$t/srv.crt")
  fi
  write_config "$dir/main.json" 10 64 $scheme
  write_config "$dir/timeout.json" $T 64 $scheme
  write_config "$dir/maxconn.json" 10 $N $scheme

  start "$dir/main.json"
  [ $scheme = https ] && check "[https] TLS listener" grep -q 'listening on https://' "$dir/server.log"
  ops_checks
  http_checks
  stop_checked "[$scheme] main"

  start "$dir/timeout.json"
  timeout_checks
  stop_checked "[$scheme] timeout"

  start "$dir/maxconn.json"
  maxconn_checks
  stop_checked "[$scheme] maxconn"
done

out=$("$HWJOSE" audit verify "$dir/audit.log" 2>&1) || true
check "audit chain over all six servers verifies (${out%%$'\n'*})" grep -q '^OK: ' <<<"$out"
check "AUDIT-OF-FAILURES: error:* records (6 expected) name client, op and key" jq -se \
  'map(select(.result | startswith("error:"))) | length >= 6 and all(.client != null and .op != null and .key != null)' "$dir/audit.log"

echo "# $fails failure(s)"
[ "$fails" -eq 0 ]
