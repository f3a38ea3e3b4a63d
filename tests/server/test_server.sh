#!/usr/bin/env bash
# test_server.sh: the real `hwjose serve` on a free loopback port, driven with curl;
# JWTs and JWSs it issues are verified by panva/jose against its JWKS URL.
#
# Keys: k2 (rotated in, then verified by panva/jose) is an ES256 key generated inside a
# SoftHSM token this script creates (HWJ_SERVER_TEST_BACKEND=pkcs11, the default when
# softhsm2 and p11tool are installed); k1 and the RSA-OAEP-256 "enc" key are software keys
# (file: PEM). Env: HWJOSE (the CLI), HWJ_SOURCE_DIR, HWJ_TEST_STATE.
set -euo pipefail

HWJOSE=${HWJOSE:?set HWJOSE to the hwjose binary}
src=${HWJ_SOURCE_DIR:?}
state=${HWJ_TEST_STATE:-/tmp}
mkdir -p "$state"
dir=$(mktemp -d "$state/server.XXXXXX")
server_pid=""
fails=0

cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  if [ "$fails" -eq 0 ]; then rm -rf "$dir"; else echo "state kept in $dir"; fi
}
trap cleanup EXIT

# ok/fail/check, start_server/stop_server/reload, req, code_is
. "$src/tests/server/lib.sh"

# --- keys and tokens ---------------------------------------------------------
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$dir/k1.pem" 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$dir/k2.pem" 2>/dev/null
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$dir/enc.pem" 2>/dev/null
chmod 600 "$dir"/*.pem
k1_uri="file:$dir/k1.pem"
k2_uri="file:$dir/k2.pem"
module=${HWJ_SOFTHSM_MODULE:-/usr/lib/softhsm/libsofthsm2.so}
backend=${HWJ_SERVER_TEST_BACKEND:-pkcs11}
if [ "$backend" = pkcs11 ]; then
  command -v p11tool >/dev/null && [ -f "$module" ] ||
    { echo "SoftHSM or p11tool missing: run scripts/install-deps.sh"; exit 1; }
  mkdir -p "$dir/softhsm"
  export SOFTHSM2_CONF=$dir/softhsm/softhsm2.conf
  printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' "$dir/softhsm" >"$SOFTHSM2_CONF"
  openssl rand -hex 16 >"$dir/user.pin"
  so=$(openssl rand -hex 16)
  p11() { p11tool --provider "$module" "$@" </dev/null >/dev/null 2>&1; }
  GNUTLS_SO_PIN=$so p11 --initialize --label hwj-server-test "pkcs11:model=SoftHSM%20v2"
  GNUTLS_SO_PIN=$so GNUTLS_PIN=$(cat "$dir/user.pin") p11 --initialize-pin "pkcs11:token=hwj-server-test"
  GNUTLS_PIN=$(cat "$dir/user.pin") p11 --login --generate-privkey ecdsa --curve secp256r1 \
    --label k2 "pkcs11:token=hwj-server-test"
  k2_uri="pkcs11:token=hwj-server-test;object=k2;type=private?module-path=$module&pin-source=file:$dir/user.pin"
  echo "# k2 lives in SoftHSM: $k2_uri"
fi
enc_uri="file:$dir/enc.pem"

tok_a=$(openssl rand -hex 32)  # may do everything with k1/k2, decrypt with enc
tok_b=$(openssl rand -hex 32)  # may only sign with k1
hash() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }

# write_config K1_STATE K2_STATE|none [K1_MAX_TTL]
# (k1's max_ttl is shortened to 3s when it retires, so the test can watch it leave the JWKS)
write_config() {
  local k1=$1 k2=$2 k1_max=${3:-60} extra_k2=""
  if [ "$k2" != none ]; then
    extra_k2=",{\"name\":\"k2\",\"uri\":\"$k2_uri\",\"alg\":\"ES256\",\"state\":\"$k2\",\"ttl\":60,\"iss\":\"https://issuer.test\",\"aud\":[\"svc-a\",\"svc-b\"]}"
  fi
  cat >"$dir/config.json.new" <<JSON
{
  "listen": "127.0.0.1:0",
  "workers": 2,
  "keys": [
    {"name": "k1", "uri": "$k1_uri", "alg": "ES256", "state": "$k1", "ttl": "$((k1_max < 30 ? k1_max : 30))s", "max_ttl": "${k1_max}s",
     "iss": "https://issuer.test", "aud": ["svc-a", "svc-b"]},
    {"name": "enc", "uri": "$enc_uri", "alg": "RSA-OAEP-256", "state": "active"}$extra_k2
  ],
  "clients": [
    {"name": "alice", "token_sha256": "$(hash "$tok_a")",
     "permissions": {"*": ["jwt", "sign"], "enc": ["decrypt"]}},
    {"name": "bob", "token_sha256": "$(hash "$tok_b")", "permissions": {"k1": ["sign"]}}
  ],
  "limits": {"max_body_bytes": 1024, "timeout_seconds": 5, "max_connections": 64},
  "audit": {"path": "$dir/audit.log", "fsync": true},
  "jwks_max_age": 60
}
JSON
  mv "$dir/config.json.new" "$dir/config.json"
}


node_interop() { node "$src/tests/server/interop.mjs" "$@"; }

command -v jq >/dev/null || { echo "jq is required (scripts/install-deps.sh)"; exit 1; }

# --- config validation -------------------------------------------------------
write_config active none
sed 's/"state": "active"}/"state": "bogus"}/' "$dir/config.json" >"$dir/bad.json"
out=$("$HWJOSE" serve --config "$dir/bad.json" 2>&1 || true)
check "bad config names the member" grep -q 'config keys\[1\].state: must be one of published|active|retiring' <<<"$out"
echo '{"listen":"0.0.0.0:1","keys":[],"clients":[]}' >"$dir/bad2.json"
out=$("$HWJOSE" serve --config "$dir/bad2.json" 2>&1 || true)
check "unknown/missing members are errors" grep -q 'config' <<<"$out"

# --- start -------------------------------------------------------------------
start_server
echo "# server at $base"

req GET /healthz
check "healthz 200" [ "$status" = 200 ]
check "healthz body" jq -e '.status == "ok" and .keys.k1 == "ok"' "$dir/body"

req GET /.well-known/jwks.json
check "jwks 200" [ "$status" = 200 ]
check "jwks has k1 and enc" jq -e '.keys | length == 2' "$dir/body"
check "jwks keys carry their configured alg and use" jq -e '[.keys[] | [.alg, .use]] | sort == [["ES256","sig"],["RSA-OAEP-256","enc"]]' "$dir/body"
etag=$(sed -n 's/^ETag: *//Ip' "$dir/headers" | tr -d '\r')
check "jwks ETag" [ -n "$etag" ]
check "jwks Cache-Control" grep -qi '^Cache-Control: public, max-age=60' "$dir/headers"
req GET /.well-known/jwks.json "" "" -H "If-None-Match: $etag"
check "jwks 304 on If-None-Match" [ "$status" = 304 ]

# authentication and ACL
req POST /v1/keys/k1/jwt '{"claims":{"aud":"svc-a"}}'
check "missing auth → 401" code_is 401 unauthorized
check "401 carries WWW-Authenticate" grep -qi '^WWW-Authenticate: Bearer' "$dir/headers"
req POST /v1/keys/k1/jwt '{"claims":{"aud":"svc-a"}}' "wrong-$tok_a"
check "wrong token → 401" code_is 401 unauthorized
req POST /v1/keys/k1/jwt '{"claims":{"aud":"svc-a"}}' "$tok_b"
check "ACL denial → 403" code_is 403 forbidden
req POST /v1/keys/nope/jwt '{"claims":{"aud":"svc-a"}}' "$tok_a"
check "unknown key → 404" code_is 404 not_found
req POST /v1/keys/k1/jwt '{"claims":' "$tok_a"
check "malformed JSON → 400" code_is 400 invalid_json
req POST /v1/keys/k1/jwt "{\"claims\":{\"aud\":\"svc-a\",\"x\":\"$(head -c 1500 /dev/zero | tr '\0' a)\"}}" "$tok_a"
check "oversize body → 413" code_is 413 payload_too_large
req POST /v1/keys/k1/jwt "{\"claims\":{\"x\":\"$(head -c 100000 /dev/zero | tr '\0' a)\"}}" "$tok_a"
check "huge body → 413 (cut off unread)" [ "$status" = 413 ]
req GET /v1/keys/k1/jwt "" "$tok_a"
check "wrong method → 405" code_is 405 method_not_allowed
req POST /v1/keys/k1/jwt '{"claims":{"aud":"evil"}}' "$tok_a"
check "aud outside the key's list → 403" code_is 403 claim_not_allowed
req POST /v1/keys/k1/jwt '{"claims":{"aud":"svc-a","iss":"https://other"}}' "$tok_a"
check "iss other than the pinned one → 403" code_is 403 claim_not_allowed
req POST /v1/keys/k1/jwt '{"claims":{"aud":"svc-a","exp":1}}' "$tok_a"
check "client-set exp → 400" code_is 400 bad_request
req POST /v1/keys/k1/sign '{"payload":"aGVsbG8","header":{"alg":"none"}}' "$tok_a"
check "client-set alg → 400" code_is 400 bad_request
req GET /nowhere
check "unknown route → 404" code_is 404 not_found

# the operations
req POST /v1/keys/k1/jwt '{"claims":{"aud":"svc-a","sub":"user-1","role":"admin"}}' "$tok_a"
check "jwt 200" [ "$status" = 200 ]
jwt=$(jq -r .jwt "$dir/body")
out=$(node_interop verify-jwt "$base/.well-known/jwks.json" "$jwt" https://issuer.test svc-a 2>&1) || true
check "panva/jose verifies the JWT against the JWKS URL" jq -e '.payload.sub == "user-1" and .payload.role == "admin" and (.payload.exp - .payload.iat) == 30 and (.payload.jti | length) > 0' <<<"$out"
out=$("$HWJOSE" jwt verify --jwks-uri "$base/.well-known/jwks.json" --iss https://issuer.test --aud svc-a <<<"$jwt" 2>&1) || true
check "hwjose jwt verify needs no --alg: the JWKS says each key's alg" jq -e '.sub == "user-1"' <<<"$out"
out=$("$HWJOSE" jwks --key "$k1_uri" --alg ES256 --key "$enc_uri" --alg RSA-OAEP-256 2>&1) || true
check "hwjose jwks --alg publishes alg and use" jq -e '[.keys[] | [.alg, .use]] == [["ES256","sig"],["RSA-OAEP-256","enc"]]' <<<"$out"
check "hwjose jwks --alg refuses an alg the key cannot do" bash -c '! "$0" jwks --key "$1" --alg RS256 >/dev/null 2>&1' "$HWJOSE" "$k1_uri"

req POST /v1/keys/k1/sign '{"payload":"aGVsbG8","header":{"typ":"example+jws"}}' "$tok_b"
check "sign 200 (bob may sign)" [ "$status" = 200 ]
jws=$(jq -r .jws "$dir/body")
out=$(node_interop verify-jws "$base/.well-known/jwks.json" "$jws" 2>&1) || true
check "panva/jose verifies the JWS" [ "$out" = hello ]

# /sign never mints a JWT (RFC 8725 §3.11-3.12): a JWT type is refused, the output is typed
for t in JWT application/jwt at+JWT; do
  req POST /v1/keys/k1/sign "{\"payload\":\"e30\",\"header\":{\"typ\":\"$t\"}}" "$tok_b"
  check "sign with typ $t → 400 typ_reserved" code_is 400 typ_reserved
done
req POST /v1/keys/k1/sign '{"payload":"e30","header":{"cty":"JWT"}}' "$tok_b"
check "sign with cty JWT → 400 typ_reserved" code_is 400 typ_reserved
req POST /v1/keys/k1/sign '{"payload":"eyJhdWQiOiJzdmMtYSJ9"}' "$tok_b"
signed=$(jq -r .jws "$dir/body")
hdr=$(cut -d. -f1 <<<"$signed" | tr '_-' '/+')
while [ $((${#hdr} % 4)) != 0 ]; do hdr+="="; done
check "sign without typ is typed JOSE" jq -e '.typ == "JOSE"' <<<"$(base64 -d <<<"$hdr")"
if "$HWJOSE" jwt verify --jwks-uri "$base/.well-known/jwks.json" --alg ES256 --iss https://issuer.test --aud svc-a <<<"$signed" >/dev/null 2>&1; then
  check "a /sign output is no JWT to hwjose jwt verify" false
else
  check "a /sign output is no JWT to hwjose jwt verify" true
fi

enc_kid=$(curl -s "$base/.well-known/jwks.json" | jq -r '.keys[] | select(.kty == "RSA") | .kid')
jwe=$(node_interop encrypt "$base/.well-known/jwks.json" "$enc_kid" RSA-OAEP-256 "secret text" 2>&1) || true
req POST /v1/keys/enc/decrypt "{\"jwe\":\"$jwe\"}" "$tok_a"
check "decrypt 200" [ "$status" = 200 ]
check "decrypt returns the plaintext" [ "$(jq -r .plaintext "$dir/body" 2>/dev/null)" = "c2VjcmV0IHRleHQ" ]
req POST /v1/keys/enc/decrypt "{\"jwe\":\"$jwe\"}" "$tok_b"
check "decrypt without permission → 403" code_is 403 forbidden

req GET /v1/keys "" "$tok_a"
check "keys 200 with custody" jq -e '.keys[0].custody.backend != null and .keys[0].kid != null and .keys[0].state == "active"' "$dir/body"
req GET /v1/keys
check "keys without auth → 401" code_is 401 unauthorized
req GET /metrics "" "$tok_a"
check "metrics 200" [ "$status" = 200 ]
check "metrics has requests by route/status" grep -q 'hwjose_http_requests_total{route="jwt",status="401"}' "$dir/body"
check "metrics has the latency histogram" grep -q 'hwjose_http_request_duration_seconds_bucket' "$dir/body"
check "metrics has token op latency" grep -q 'hwjose_token_op_duration_seconds_count{op="sign"}' "$dir/body"

# --- rotation without restart ------------------------------------------------
k1_kid=$(jq -r '.keys[] | select(.name == "k1") | .kid' <(curl -s -H "Authorization: Bearer $tok_a" "$base/v1/keys"))
write_config active published
reload
req GET /.well-known/jwks.json
check "published k2 joins the JWKS" jq -e '.keys | length == 3' "$dir/body"
req GET /.well-known/jwks.json "" "" -H "If-None-Match: $etag"
check "old ETag no longer matches" [ "$status" = 200 ]
req POST /v1/keys/k2/jwt '{"claims":{"aud":"svc-a"}}' "$tok_a"
check "published key does not sign (409)" code_is 409 key_not_active

write_config retiring active 3
reload
# first, while k1's 3 s max_ttl surely runs (the node check below can take seconds under load)
req GET /.well-known/jwks.json
check "retiring k1 stays in the JWKS" jq -e --arg k "$k1_kid" '[.keys[].kid] | index($k) != null' "$dir/body"
req POST /v1/keys/k2/jwt '{"claims":{"aud":"svc-b"}}' "$tok_a"
check "activated k2 signs" [ "$status" = 200 ]
jwt2=$(jq -r .jwt "$dir/body")
out=$(node_interop verify-jwt "$base/.well-known/jwks.json" "$jwt2" https://issuer.test svc-b 2>&1) || true
check "panva/jose verifies the k2 JWT" jq -e '.payload.aud == "svc-b"' <<<"$out"
req POST /v1/keys/k1/jwt '{"claims":{"aud":"svc-a"}}' "$tok_a"
check "retiring k1 no longer signs" code_is 409 key_not_active

# a bad config is rejected and the old one keeps serving
cp "$dir/config.json" "$dir/good.json"
sed 's/"state": "active"}/"state": "bogus"}/' "$dir/good.json" >"$dir/config.json"
reload
check "bad reload is rejected and logged" grep -q 'reload rejected.*must be one of' "$dir/server.log"
req POST /v1/keys/k2/jwt '{"claims":{"aud":"svc-a"}}' "$tok_a"
check "old config still serves after a bad reload" [ "$status" = 200 ]
cp "$dir/good.json" "$dir/config.json"

sleep 3.2 # k1's max_ttl (3s) passes: its tokens have all expired
req GET /.well-known/jwks.json
check "retiring k1 leaves the JWKS after max_ttl" jq -e --arg k "$k1_kid" '[.keys[].kid] | index($k) == null and length == 2' "$dir/body"

# --- audit log ---------------------------------------------------------------
stop_server
start_server # the chain continues across a restart
req POST /v1/keys/k2/jwt '{"claims":{"aud":"svc-a"}}' "$tok_a"
check "jwt after restart" [ "$status" = 200 ]
stop_server
check "audit has denials and operations" bash -c "grep -q '\"result\":\"denied:forbidden\"' '$dir/audit.log' && grep -q '\"op\":\"decrypt\"' '$dir/audit.log'"
out=$("$HWJOSE" audit verify "$dir/audit.log" 2>&1)
check "reloads are audited (accepted and rejected)" jq -se 'map(select(.op == "reload") | .result) | index("ok") != null and index("rejected") != null' "$dir/audit.log"
check "audit chain verifies ($out)" grep -q '^OK: ' <<<"$out"
check "audit records carry the payload hash, kid and alg" jq -se 'map(select(.result == "ok" and .op != "reload")) | all(.payload_sha256 | length == 64) and all(.kid != null and .alg != null)' "$dir/audit.log"
sed -i '2s/"time":"2/"time":"1/' "$dir/audit.log"
set +e
out=$("$HWJOSE" audit verify "$dir/audit.log" 2>&1)
rc=$?
set -e
check "tampered line detected (exit 1)" [ "$rc" = 1 ]
check "names the first broken record (${out%%$'\n'*})" grep -q 'record 3' <<<"$out"

# --- TLS and mTLS -------------------------------------------------------------
t=$dir/tls
mkdir -p "$t"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$t/ca.key" \
  -out "$t/ca.crt" -subj "/CN=test-ca" -days 2 2>/dev/null
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$t/srv.key" \
  -out "$t/srv.crt" -subj "/CN=127.0.0.1" -addext "subjectAltName=IP:127.0.0.1" -days 2 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$t/cli.key" \
  -out "$t/cli.csr" -subj "/O=Example/CN=batch" 2>/dev/null
openssl x509 -req -in "$t/cli.csr" -CA "$t/ca.crt" -CAkey "$t/ca.key" -CAcreateserial \
  -out "$t/cli.crt" -days 2 2>/dev/null
cat >"$dir/config.json" <<JSON
{"listen": "127.0.0.1:0",
 "tls": {"cert": "$t/srv.crt", "key": "$t/srv.key", "client_ca": "$t/ca.crt", "mtls": "optional"},
 "keys": [{"name": "k1", "uri": "$k1_uri", "alg": "ES256", "state": "active", "iss": "https://issuer.test"}],
 "clients": [{"name": "batch", "mtls_subject": "CN=batch,O=Example", "permissions": {"k1": ["jwt"]}},
             {"name": "alice", "token_sha256": "$(hash "$tok_a")", "permissions": {"k1": ["sign"]}}],
 "audit": {"path": "$dir/audit-tls.log"}}
JSON
start_server
check "TLS listener" grep -q 'listening on https://' "$dir/server.log"
req POST /v1/keys/k1/jwt '{"claims":{"aud":"svc-a"}}' "" --cacert "$t/srv.crt" --cert "$t/cli.crt" --key "$t/cli.key"
check "mTLS client certificate authenticates" [ "$status" = 200 ]
req POST /v1/keys/k1/jwt '{"claims":{"aud":"svc-a"}}' "" --cacert "$t/srv.crt"
check "no certificate, no token → 401" code_is 401 unauthorized
req POST /v1/keys/k1/jwt '{"claims":{"aud":"svc-a"}}' "$tok_a" --cacert "$t/srv.crt"
check "bearer over TLS, ACL still applies → 403" code_is 403 forbidden
stop_server
sed 's/"127.0.0.1:0"/"0.0.0.0:0"/; /"tls"/d' "$dir/config.json" >"$dir/plain.json"
out=$("$HWJOSE" serve --config "$dir/plain.json" 2>&1 || true)
check "plain HTTP on a non-loopback address is refused" grep -q 'plain HTTP on the non-loopback' <<<"$out"

echo "# $fails failure(s)"
[ "$fails" -eq 0 ]
