#!/usr/bin/env bash
# test_server_tls_reload.sh: SIGHUP applies TLS changes to new connections, or is rejected.
#
# One server (a software key, mTLS optional with client CA ca1); then, each by SIGHUP:
#   renewed certificate (same files, new serial and key)  → new connections get it;
#   a connection opened before the reload keeps working on the old context;
#   client_ca replaced by ca2                              → ca1's client certificate is refused,
#                                                            ca2's authenticates;
#   a broken tls.key                                       → rejected, the old certificate serves;
#   a changed listen address                               → rejected ("needs a restart");
#   limits.timeout_seconds                                 → applies to the next connection.
# Every reload is audited with its result. Env: HWJOSE (the CLI), HWJ_SOURCE_DIR, HWJ_TEST_STATE.
set -euo pipefail

HWJOSE=${HWJOSE:?set HWJOSE to the hwjose binary}
src=${HWJ_SOURCE_DIR:?}
state=${HWJ_TEST_STATE:-/tmp}
mkdir -p "$state"
dir=$(mktemp -d "$state/server-tls.XXXXXX")
server_pid=""
fails=0
raw_py=$src/tests/server/rawhttp.py

# ok/fail/check, start_server/stop_server/reload, req, code_is
. "$src/tests/server/lib.sh"

cleanup() {
  stop_server
  if [ "$fails" -eq 0 ]; then rm -rf "$dir"; else echo "state kept in $dir"; fi
}
trap cleanup EXIT
command -v jq >/dev/null || { echo "jq is required (scripts/install-deps.sh)"; exit 1; }

t=$dir/tls
mkdir -p "$t"
ec=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes)
for ca in ca1 ca2; do
  openssl req -x509 "${ec[@]}" -keyout "$t/$ca.key" -out "$t/$ca.crt" -subj "/CN=test-$ca" \
    -days 2 2>/dev/null
  openssl req "${ec[@]}" -keyout "$t/cli-$ca.key" -out "$t/cli-$ca.csr" \
    -subj "/O=Example/CN=batch" 2>/dev/null
  openssl x509 -req -in "$t/cli-$ca.csr" -CA "$t/$ca.crt" -CAkey "$t/$ca.key" -set_serial 7 \
    -out "$t/cli-$ca.crt" -days 2 2>/dev/null
done
server_cert() { # server_cert SERIAL: a self-signed server certificate and key at the same paths
  openssl req -x509 "${ec[@]}" -keyout "$t/srv.key" -out "$t/srv.crt" -subj "/CN=127.0.0.1" \
    -addext "subjectAltName=IP:127.0.0.1" -set_serial "$1" -days 2 2>/dev/null
  cp "$t/srv.crt" "$t/srv-$1.crt"
}
server_cert 1
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$dir/k1.pem" 2>/dev/null
chmod 600 "$dir/k1.pem" "$t"/*.key

# write_config CLIENT_CA KEY_FILE LISTEN TIMEOUT
write_config() {
  cat >"$dir/config.json" <<JSON
{"listen": "$3",
 "tls": {"cert": "$t/srv.crt", "key": "$2", "client_ca": "$1", "mtls": "optional"},
 "keys": [{"name": "k1", "uri": "file:$dir/k1.pem", "alg": "ES256", "iss": "https://issuer.test"}],
 "clients": [{"name": "batch", "mtls_subject": "CN=batch,O=Example", "permissions": {"k1": ["jwt"]}}],
 "limits": {"timeout_seconds": $4},
 "store": "sqlite:$dir/store.db",
 "audit": {"path": "$dir/audit.log"}}
JSON
}
# The serial of the certificate a new connection is served (hex, e.g. 01).
serial() {
  timeout 10 openssl s_client -connect "127.0.0.1:$port" -servername 127.0.0.1 </dev/null 2>/dev/null |
    openssl x509 -noout -serial 2>/dev/null | sed 's/serial=//'
}
# jwt CA: a /jwt request authenticated by the client certificate issued by CA → $status
jwt() {
  req POST /v1/keys/k1/jwt '{"claims":{"aud":"svc-a"}}' "" --max-time 10 --cacert "$2" \
    --cert "$t/cli-$1.crt" --key "$t/cli-$1.key" || status=000
}
rejected_since() { tail -n +"$1" "$dir/server.log" | grep -q "reload rejected.*$2"; }

write_config "$t/ca1.crt" "$t/srv.key" 127.0.0.1:0 10
start_server
port=${base##*:}
check "TLS listener" grep -q 'listening on https://' "$dir/server.log"
check "serves certificate serial 01" [ "$(serial)" = 01 ]
jwt ca1 "$t/srv-1.crt"
check "ca1's client certificate authenticates" [ "$status" = 200 ]

# A connection opened before the renewal: TLS handshake done, then held idle across it.
/usr/bin/python3 "$raw_py" --tls --cafile "$t/srv-1.crt" "$port" \
  send:"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n" read:1 mark:"$dir/old-conn.up" sleep:2 \
  send:"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" read:1 \
  >"$dir/old-conn.out" 2>&1 &
old_conn=$!
for _ in $(seq 100); do [ -e "$dir/old-conn.up" ] && break; sleep 0.05; done

# --- renewal: new serial, new key, same paths ---------------------------------
server_cert 2
reload
check "renewed certificate: reload accepted" grep -q "reloaded" "$dir/server.log"
check "new connections get serial 02" [ "$(serial)" = 02 ]
req GET /healthz "" "" --max-time 10 --cacert "$t/srv-2.crt" || status=000
check "a client trusting only the new certificate connects" [ "$status" = 200 ]
wait "$old_conn" || true
check "a connection opened before the reload finishes on the old context" \
  jq -e '.error == null and (.responses | length == 2 and all(.status == 200))' "$dir/old-conn.out"

# --- the client CA replaced ----------------------------------------------------
write_config "$t/ca2.crt" "$t/srv.key" 127.0.0.1:0 10
reload
jwt ca1 "$t/srv-2.crt"
check "after client_ca is replaced, ca1's client certificate is refused" [ "$status" != 200 ]
jwt ca2 "$t/srv-2.crt"
check "ca2's client certificate authenticates" [ "$status" = 200 ]

# --- a broken key: rejected, the old context keeps serving -----------------------
printf -- '-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n' >"$t/broken.key"
write_config "$t/ca2.crt" "$t/broken.key" 127.0.0.1:0 10
n=$(($(wc -l <"$dir/server.log") + 1))
reload
check "a broken tls.key is rejected, naming the file" rejected_since "$n" "tls.key '$t/broken.key'"
check "the old certificate still serves" [ "$(serial)" = 02 ]
jwt ca2 "$t/srv-2.crt"
check "and the old client CA still applies" [ "$status" = 200 ]

# --- what needs a restart is rejected loudly -------------------------------------
write_config "$t/ca2.crt" "$t/srv.key" 127.0.0.1:1 10
n=$(($(wc -l <"$dir/server.log") + 1))
reload
check "a changed listen address is rejected (needs a restart)" rejected_since "$n" "needs a restart"

# --- limits.timeout_seconds applies to the next connection ----------------------
write_config "$t/ca2.crt" "$t/srv.key" 127.0.0.1:0 1
reload
/usr/bin/python3 "$raw_py" --tls --cafile "$t/srv-2.crt" --timeout 10 "$port" eof:8 >"$dir/idle.out" 2>&1 || true
check "an idle connection is closed after the new timeout ($(jq -c .eof_after "$dir/idle.out") s < 4 s)" \
  jq -e '.eof and .eof_after < 4' "$dir/idle.out"

check "server still alive" kill -0 "$server_pid"
stop_server
check "reloads are audited with their result (3 ok, 2 rejected)" jq -se \
  '[.[] | select(.op == "reload") | .result] | (map(select(. == "ok")) | length) == 3 and (map(select(. == "rejected")) | length) == 2' \
  "$dir/audit.log"

echo "# $fails failure(s)"
[ "$fails" -eq 0 ]
