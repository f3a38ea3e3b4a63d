#!/usr/bin/env bash
# test_audit.sh: the audit trail holds up (issue 16; docs/audit.md). Against the real
# `hwjose serve` with an audit key generated in a SoftHSM token:
#   complete records (instance, request id = X-Request-Id, peer, jwt jti/sub/exp, config hash),
#   a flood of unauthenticated requests leaves the log small and a real client's latency flat,
#   rotation with the chain continuing across files, checkpoints verified with the audit key's
#   public JWKS, each tampering detected (edit + recomputed chain, last record, tail cut,
#   emptied, reordered, removed), ENOSPC mid-record rolled back (LD_PRELOAD shim), and start-up
#   RSS the same for a 50 MB log as for a small one.
# Env: HWJOSE, HWJ_SOURCE_DIR, HWJ_TEST_STATE, HWJ_SOFTHSM_MODULE, HWJ_ENOSPC_SHIM.
set -euo pipefail

HWJOSE=${HWJOSE:?set HWJOSE to the hwjose binary}
src=${HWJ_SOURCE_DIR:?}
state=${HWJ_TEST_STATE:-/tmp}
shim=${HWJ_ENOSPC_SHIM:?set HWJ_ENOSPC_SHIM to the ENOSPC shim}
mkdir -p "$state"
dir=$(mktemp -d "$state/audit.XXXXXX")
server_pid=""
fails=0
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  if [ "$fails" -eq 0 ]; then rm -rf "$dir"; else echo "state kept in $dir"; fi
}
trap cleanup EXIT
. "$src/tests/server/lib.sh"
command -v jq >/dev/null || { echo "jq is required (scripts/install-deps.sh)"; exit 1; }

# --- the audit key in SoftHSM, a software signing key, one client ------------------------
module=${HWJ_SOFTHSM_MODULE:-/usr/lib/softhsm/libsofthsm2.so}
command -v p11tool >/dev/null && [ -f "$module" ] ||
  { echo "SoftHSM or p11tool missing: run scripts/install-deps.sh"; exit 1; }
mkdir -p "$dir/softhsm"
export SOFTHSM2_CONF=$dir/softhsm/softhsm2.conf
printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' "$dir/softhsm" >"$SOFTHSM2_CONF"
openssl rand -hex 16 >"$dir/user.pin"
so=$(openssl rand -hex 16)
p11() { p11tool --provider "$module" "$@" </dev/null >/dev/null 2>&1; }
GNUTLS_SO_PIN=$so p11 --initialize --label hwj-audit-test "pkcs11:model=SoftHSM%20v2"
GNUTLS_SO_PIN=$so GNUTLS_PIN=$(cat "$dir/user.pin") p11 --initialize-pin "pkcs11:token=hwj-audit-test"
audit_uri="pkcs11:token=hwj-audit-test;object=audit?module-path=$module&pin-source=file:$dir/user.pin"
"$HWJOSE" keygen --key "$audit_uri" --alg ES256 >/dev/null
"$HWJOSE" jwks --key "$audit_uri" >"$dir/audit-jwks.json"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$dir/k1.pem" 2>/dev/null
chmod 600 "$dir/k1.pem"
tok=$(openssl rand -hex 32)
hash() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }

# write_config LOG [AUDIT_EXTRA]: one key, one client, the store in the test dir ($STORE: another;
# a log that is not the store's instance's own is refused at start).
write_config() {
  cat >"$dir/config.json" <<JSON
{
  "listen": "127.0.0.1:0",
  "workers": 2,
  "instance": "${INSTANCE:-replica-a}",
  "keys": [{"name": "k1", "uri": "file:$dir/k1.pem", "alg": "ES256", "ttl": "30s",
            "iss": "https://issuer.test", "aud": ["svc"]}],
  "clients": [{"name": "alice", "token_sha256": "$(hash "$tok")", "permissions": {"k1": ["jwt"]}}],
  "audit": {"path": "$1", "fsync": true${2:+, $2}},
  "store": "sqlite:${STORE:-$dir/store.db}"
}
JSON
}
jwt() { req POST /v1/keys/k1/jwt '{"claims":{"sub":"user-1","aud":"svc"}}' "$tok"; }
log=$dir/audit.log
sealed="\"key\": \"$audit_uri\", \"checkpoint_records\": 40, \"checkpoint_interval\": \"1s\", \"denial_interval\": \"1s\", \"max_bytes\": 30000"

# --- refusals -----------------------------------------------------------------------------
write_config "$log" "\"key\": \"file:$dir/k1.pem\""
out=$("$HWJOSE" serve --config "$dir/config.json" 2>&1 || true)
check "a software audit key is refused without insecure_software_key" grep -q "must live in a token or TPM" <<<"$out"

# --- complete records -------------------------------------------------------------------
write_config "$log" "$sealed"
start_server
jwt
check "jwt answered" [ "$status" = 200 ]
rid=$(tr -d '\r' <"$dir/headers" | sed -n 's/^X-Request-Id: //Ip')
claims=$(jq -r .jwt "$dir/body" | cut -d. -f2 | tr '_-' '/+' | base64 -d 2>/dev/null || true)
jti=$(jq -r .jti <<<"$claims" 2>/dev/null || true)
check "the /jwt record names instance, request id, peer and the jti/sub/exp minted" jq -se \
  --arg rid "$rid" --arg jti "$jti" 'map(select(.op == "jwt")) | last | .v == 2 and
   .instance == "replica-a" and .request_id == $rid and (.peer | startswith("127.0.0.1:")) and
   .jti == $jti and .sub == "user-1" and (.exp | type == "number") and .seq >= 1' "$log"
check "no record holds the bearer token" bash -c '! grep -q "$1" "$2"' _ "$tok" "$log"
cp "$dir/config.json" "$dir/config.a"
echo " " >>"$dir/config.json"
reload
check "the reload record hashes the config content" jq -se --arg h "$(sha256sum <"$dir/config.json" | cut -d' ' -f1)" \
  'map(select(.op == "reload")) | last | .config_sha256 == $h and .result == "ok"' "$log"

# --- flood ---------------------------------------------------------------------------------
port=${base##*:}
lat() { # median /jwt latency in ms over 21 requests
  for _ in $(seq 21); do
    curl -s -o /dev/null -w '%{time_total}\n' -X POST -H "Authorization: Bearer $tok" \
      -H 'Content-Type: application/json' --data '{"claims":{"sub":"user-1","aud":"svc"}}' "$base/v1/keys/k1/jwt"
  done | sort -n | sed -n 11p | awk '{printf "%d", $1 * 1000}'
}
before=$(lat)
size0=$(cat "$log"* | wc -c)
# 4 keep-alive connections without credentials: at least 5000 requests, and on until the
# real client's measurement is done (the stop file), so the two overlap.
timeout 120 python3 - "$port" "$dir/flood.stop" "$dir/flood.count" <<'PY' &
import http.client, os, sys, threading
port, stop, count = int(sys.argv[1]), sys.argv[2], sys.argv[3]
sent = [0] * 4
def run(i):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    while sent[i] < 1250 or not os.path.exists(stop):
        c.request("POST", "/v1/keys/k1/jwt", body=b'{"claims":{"aud":"svc"}}',
                  headers={"Content-Type": "application/json"})
        r = c.getresponse()
        r.read()
        assert r.status == 401
        sent[i] += 1
ts = [threading.Thread(target=run, args=(i,)) for i in range(4)]
[t.start() for t in ts]
[t.join() for t in ts]
open(count, "w").write(str(sum(sent)))
PY
flood=$!
sleep 0.5
during=$(lat)
touch "$dir/flood.stop"
wait "$flood"
sent=$(cat "$dir/flood.count")
sleep 1.5 # one denial interval: the summary is written
size1=$(cat "$log"* | wc -c)
grown=$((size1 - size0))
check "$sent unauthenticated requests grew the log by $grown bytes (< 20000)" [ "$grown" -lt 20000 ]
check "the denial summaries take $(jq -c 'select(.type == "denials")' "$log" | wc -c) bytes (< 4096)" \
  [ "$(jq -c 'select(.type == "denials")' "$log" | wc -c)" -lt 4096 ]
check "they are summarised per source with their count" jq -se --argjson n "$sent" \
  'map(select(.type == "denials" and .source == "127.0.0.1") | .count) | add == $n' "$log"
check "a real client's median latency stays flat (${before} ms before, ${during} ms during)" \
  [ "$during" -le $((before * 5 + 50)) ]
for _ in $(seq 60); do jwt; done # enough records to rotate at 30000 bytes
stop_server

# --- verify: rotation, checkpoints, tampering ----------------------------------------------
files=("$log"*)
check "the log rotated (${#files[@]} files)" [ "${#files[@]}" -ge 2 ]
out=$("$HWJOSE" audit verify "${files[@]}" --checkpoint-jwks "$dir/audit-jwks.json" 2>&1) || true
check "rotated files and checkpoints verify ($out)" grep -q '^OK: instance replica-a:.*checkpoints verified' <<<"$out"
check "the final checkpoint is the last record" jq -se 'last | .type == "checkpoint"' "$log"
jq -r 'select(.type == "checkpoint") | .checkpoint' "$log" | tail -1 >"$dir/exported.jws"
# The state store holds each replica's newest checkpoint, off the log's disk: the exported one.
python3 -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute(
  "SELECT jws FROM hwjose_audit_checkpoints WHERE instance = ?", ("replica-a",)).fetchone()[0])' \
  "$dir/store.db" >"$dir/store.jws"
check "the store holds the final checkpoint" cmp -s "$dir/exported.jws" "$dir/store.jws"
out=$("$HWJOSE" audit verify "${files[@]}" --checkpoint-jwks "$dir/audit-jwks.json" --last-checkpoint "$dir/store.jws" 2>&1) || true
check "the files verify against the store's checkpoint (${out%%$'\n'*})" grep -q '^OK: instance replica-a' <<<"$out"

# tampered COPYDIR EDIT: copy the files, apply EDIT to the copy of the current file, verify
tampered() {
  local what=$1 edit=$2 t rc=0
  t=$(mktemp -d "$dir/t.XXXXXX")
  cp "${files[@]}" "$t/"
  (cd "$t" && eval "$edit")
  out=$("$HWJOSE" audit verify "$t"/audit.log* --checkpoint-jwks "$dir/audit-jwks.json" \
        --last-checkpoint "$dir/exported.jws" 2>&1) || rc=$?
  check "$what is detected (exit $rc: ${out%%$'\n'*})" [ "$rc" = 1 ]
}
recompute='python3 - audit.log <<"PY"
import hashlib, json, sys
p = sys.argv[1]
lines = open(p).read().splitlines()
prev = None
for i, l in enumerate(lines):
    o = json.loads(l)
    if i == 2: o["client"] = "mallory"
    if prev is not None: o["prev"] = prev
    lines[i] = json.dumps(o, separators=(",", ":"))
    prev = hashlib.sha256(lines[i].encode()).hexdigest()
open(p, "w").write("\n".join(lines) + "\n")
PY'
tampered "an edit with every later prev recomputed" "$recompute"
tampered "an edit of the last operation record" \
  "n=\$(grep -n '\"type\":\"event\"' audit.log | tail -1 | cut -d: -f1); sed -i \"\${n}s/\\\"client\\\":\\\"alice\\\"/\\\"client\\\":\\\"bob\\\"/\" audit.log"
tampered "an edit of the final checkpoint record" "sed -i '\$s/\"time\":\"2/\"time\":\"1/' audit.log"
tampered "cutting the tail" "head -n -3 audit.log >x && mv x audit.log"
tampered "emptying the files" ": >audit.log; for f in audit.log.*; do : >\$f; done"
tampered "reordering two records" "sed -i '3{h;d};4G' audit.log"
tampered "removing a record" "sed -i '3d' audit.log"
out=$("$HWJOSE" audit verify "${files[@]}" 2>&1) || true
check "a chain checked without the audit key's JWKS says the seal was not checked" \
  grep -q '^note: instance replica-a: checkpoints not checked (no --checkpoint-jwks)' <<<"$out"
rc=0; "$HWJOSE" audit verify "${files[@]}" --last-checkpoint "$dir/exported.jws" >/dev/null 2>&1 || rc=$?
check "--last-checkpoint without --checkpoint-jwks is a usage error (exit $rc)" [ "$rc" = 2 ]

# A cut back to an earlier checkpoint, then a restart: refused, since continuing would reuse the
# removed seqs and replace the store's checkpoint with one that seals the shorter chain.
mkdir -p "$dir/cut"
for f in "${files[@]}"; do [ "$f" = "$log" ] || cp "$f" "$dir/cut/"; done
write_config "$dir/cut/audit.log" "$sealed"
rc=0
timeout 20 "$HWJOSE" serve --config "$dir/config.json" >/dev/null 2>"$dir/cut/err" || rc=$?
check "a restart on a log cut before the store's checkpoint is refused (exit $rc)" \
  bash -c '[ "$1" != 0 ] && [ "$1" != 124 ] && grep -q "sealed records were removed" "$2"' _ "$rc" "$dir/cut/err"
check "and wrote nothing" [ ! -s "$dir/cut/audit.log" ]

# --- two replicas: each chain on its own, checked together ---------------------------------
mkdir -p "$dir/b"
INSTANCE=replica-b write_config "$dir/b/audit.log" "$sealed"
start_server
jwt
sleep 1.5 # a checkpoint by checkpoint_interval, so a cut after it leaves a sealed, shorter chain
jwt
stop_server
out=$("$HWJOSE" audit verify "$dir/b/audit.log" "${files[@]}" --checkpoint-jwks "$dir/audit-jwks.json" 2>&1) || true
check "two replicas' files verify together, each its own chain" \
  bash -c 'grep -q "^OK: instance replica-a:" <<<"$1" && grep -q "^OK: instance replica-b:" <<<"$1"' _ "$out"
rc=0
"$HWJOSE" audit verify "$dir/b/audit.log" "${files[0]}" "${files[@]:2}" --checkpoint-jwks "$dir/audit-jwks.json" >/dev/null 2>&1 || rc=$?
check "a replica's missing oldest file is detected (exit $rc)" [ "$rc" = 1 ]
# Each replica's newest checkpoint, one a line as the store gives them: a cut in either is caught.
python3 -c 'import sqlite3, sys; print("\n".join(r[0] for r in sqlite3.connect(sys.argv[1]).execute(
  "SELECT jws FROM hwjose_audit_checkpoints ORDER BY instance")))' "$dir/store.db" >"$dir/both.jws"
jq -r 'select(.type == "checkpoint") | .checkpoint' "$dir/b/audit.log" | tail -1 >"$dir/b.jws"
out=$("$HWJOSE" audit verify "$dir/b/audit.log" "${files[@]}" --checkpoint-jwks "$dir/audit-jwks.json" \
      --last-checkpoint "$dir/both.jws" 2>&1) || true
check "two replicas verify against both exported checkpoints in one file" \
  bash -c 'grep -q "^OK: instance replica-a:" <<<"$1" && grep -q "^OK: instance replica-b:" <<<"$1"' _ "$out"
mkdir -p "$dir/bcut" && head -n -2 "$dir/b/audit.log" >"$dir/bcut/audit.log"
check "replica-b's cut file still ends on a checkpoint" jq -se 'last | .type == "checkpoint"' "$dir/bcut/audit.log"
for how in file repeated; do
  rc=0
  if [ "$how" = file ]; then lc=(--last-checkpoint "$dir/both.jws")
  else lc=(--last-checkpoint "$dir/b.jws" --last-checkpoint "$dir/exported.jws"); fi
  out=$("$HWJOSE" audit verify "$dir/bcut/audit.log" "${files[@]}" --checkpoint-jwks \
        "$dir/audit-jwks.json" "${lc[@]}" 2>&1) || rc=$?
  check "the second replica's cut tail is detected, checkpoints $how (exit $rc: $(grep BROKEN <<<"$out"))" \
    bash -c '[ "$1" = 1 ] && grep -q "^BROKEN: instance replica-b: truncated" <<<"$2"' _ "$rc" "$out"
done

# --- a log from before records were numbered continues ------------------------------------
legacy=$dir/legacy/audit.log
mkdir -p "$dir/legacy"
printf '{"time":"2026-01-01T00:00:00.000Z","client":null,"op":"reload","result":"ok","prev":"%s"}\n' \
  0000000000000000000000000000000000000000000000000000000000000000 >"$legacy"
STORE=$dir/legacy/store.db write_config "$legacy"
start_server
jwt
stop_server
out=$("$HWJOSE" audit verify "$legacy" 2>&1) || true
check "a log written before records were numbered continues and verifies (${out%%$'\n'*})" grep -q '^OK: instance replica-a' <<<"$out"
out=$("$HWJOSE" audit verify - <"$legacy" 2>&1) || true
check "audit verify reads a FILE '-' from stdin (${out%%$'\n'*})" grep -q '^OK: instance replica-a' <<<"$out"
out=$("$HWJOSE" serve --check-config - <"$dir/config.json" 2>&1) || true
check "serve --check-config - reads the config from stdin ($out)" [ "$out" = "OK: -" ]

# --- ENOSPC mid-record, then space again ---------------------------------------------------
log2=$dir/enospc/audit.log
mkdir -p "$dir/enospc"
STORE=$dir/enospc/store.db write_config "$log2"
export HWJ_ENOSPC_TRIGGER=$dir/enospc/full HWJ_ENOSPC_PATH=/enospc/audit.log
SERVE_PRELOAD=$shim start_server
jwt
check "jwt before the disk fills" [ "$status" = 200 ]
touch "$HWJ_ENOSPC_TRIGGER"
jwt
check "disk full mid-record: 503 audit_unavailable, no token" code_is 503 audit_unavailable
check "the file still ends on a whole record" bash -c '[ "$(tail -c1 "$1" | od -An -c | tr -d " ")" = "\n" ]' _ "$log2"
rm "$HWJ_ENOSPC_TRIGGER"
jwt
check "jwt once space returns" [ "$status" = 200 ]
stop_server
unset HWJ_ENOSPC_TRIGGER HWJ_ENOSPC_PATH
out=$("$HWJOSE" audit verify "$log2" 2>&1) || true
check "the chain continues valid after the rollback ($out)" grep -q '^OK: ' <<<"$out"

# --- a stop between a rotation's rename and the new file: the chain continues ---------------
mkdir -p "$dir/cont"
for f in "${files[@]}"; do [ "$f" = "$log" ] || cp "$f" "$dir/cont/"; done
newest=$(ls "$dir/cont"/audit.log.* | tail -1)
STORE=$dir/cont/store.db write_config "$dir/cont/audit.log" "$sealed"
start_server
jwt
stop_server
check "with only rotated files, the new file continues the newest one's chain" jq -se \
  --argjson s "$(tail -1 "$newest" | jq .seq)" --arg h "$(tail -1 "$newest" | tr -d '\n' | sha256sum | cut -d' ' -f1)" \
  '.[0].seq == $s + 1 and .[0].prev == $h' "$dir/cont/audit.log"
out=$("$HWJOSE" audit verify "$dir/cont"/audit.log* --checkpoint-jwks "$dir/audit-jwks.json" 2>&1) || true
check "and the files verify as one chain (${out%%$'\n'*})" grep -q '^OK: instance replica-a' <<<"$out"

# --- start-up RSS does not grow with the log ---------------------------------------------
hwm() { # VmHWM (kB) of a server started on LOG, after it listens
  STORE=$dir/rss/store.db write_config "$1"
  start_server
  sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\).*/\1/p' "/proc/$server_pid/status"
  jwt
  stop_server
}
mkdir -p "$dir/rss"
python3 - "$dir/rss/big.log" <<'PY'
import hashlib, sys
prev = "0" * 64
with open(sys.argv[1], "w") as f:
    rec = '{"v":2,"time":"2026-01-01T00:00:00.000Z","instance":"replica-a","seq":%d,"type":"event","client":"alice","op":"jwt","pad":"' + "x" * 400 + '","prev":"%s"}'
    for i in range(1, 120001):
        line = rec % (i, prev)
        prev = hashlib.sha256(line.encode()).hexdigest()
        f.write(line + "\n")
PY
small=$(hwm "$dir/rss/small.log")
big=$(hwm "$dir/rss/big.log")
check "start-up peak RSS with a $(($(stat -c %s "$dir/rss/big.log") >> 20)) MB log (${big} kB) is that of a small one (${small} kB)" \
  [ "$big" -lt $((small + 8192)) ]
check "the chain continued from the big log's tail" jq -se 'last | .seq == 120001' "$dir/rss/big.log"

[ "$fails" -eq 0 ] || { echo "$fails check(s) failed"; exit 1; }
echo "all audit checks passed"
