#!/usr/bin/env bash
# loadtest-faults.sh: `hwjose serve` under wrk while its tokens fail (issue 8 item 4).
#
#   scripts/loadtest-faults.sh [BUILD_DIR] [SECONDS]     (defaults: build, 120)
#
# The service runs two ES256 keys: "x" in a SoftHSM token opened through the fault-injecting
# module (tests/pkcs11/shim_fault.c, BUILD_DIR/tests/libhwj_p11_shim_fault.so) and "t" in a
# swtpm (scripts/swtpm.sh), both made in a temp folder of their own. One wrk per key drives
# POST /v1/keys/<k>/jwt for SECONDS (tests/load/statuses.lua counts statuses and timestamps
# every non-2xx). Meanwhile three fault windows of 10 % of SECONDS each, 15 % apart:
#   A  PKCS#11 `C_Sign CKR_DEVICE_ERROR 0.5`      B  PKCS#11 `* CKR_DEVICE_REMOVED 1`
#   C  swtpm killed, then started again on the same state and ports
# Asserts: the server pid is alive throughout and exits cleanly on SIGTERM (no sanitizer
# report in its log), no non-2xx outside [window start, window end + SETTLE s] (SETTLE=2:
# requests already waiting on the failing token finish with 503 after the fault is cleared, and
# os.time() stamps are whole seconds), both keys answer 200 again after each window (recovery
# time printed), no socket errors, and RSS at the end within max(10 %, 4 MiB) of RSS after
# warm-up (not asserted in an ASan build, whose quarantine grows by design). Prints a summary. Env: LOAD_CONNS (per wrk, default 4), LOAD_THREADS (default 1),
# HWJ_TEST_STATE (where the temp folder goes; default /tmp).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=$(cd "${1:-$here/build}" && pwd)
secs=${2:-120}
conns=${LOAD_CONNS:-4}
threads=${LOAD_THREADS:-1}
settle=2
HWJOSE=${HWJOSE:-$build/hwjose}
shim=${HWJ_FAULT_SHIM:-$build/tests/libhwj_p11_shim_fault.so}
die() { echo "loadtest-faults.sh: $*" >&2; exit 1; }
[ -x "$HWJOSE" ] || die "no hwjose at $HWJOSE; build first"
[ -r "$shim" ] || die "no fault module at $shim; build first (tests/fault.cmake)"
command -v wrk >/dev/null || die "wrk is required (scripts/install-deps.sh)"
[ "$secs" -ge 20 ] || die "SECONDS must be at least 20"
state=${HWJ_TEST_STATE:-/tmp}
mkdir -p "$state"
dir=$(mktemp -d "$state/loadtest.XXXXXX")
fails=0
# shellcheck source=tests/server/lib.sh
. "$here/tests/server/lib.sh"

cleanup() {
  stop_server
  [ -n "${wrk_pids:-}" ] && kill $wrk_pids 2>/dev/null || true
  bash "$here/scripts/swtpm.sh" destroy "$dir/tpm" >/dev/null 2>&1 || true
  bash "$here/scripts/softhsm-token.sh" destroy "$dir/p11" >/dev/null 2>&1 || true
  if [ "$fails" -eq 0 ]; then rm -rf "$dir"; else echo "state kept in $dir"; fi
}
trap cleanup EXIT

now() { date +%s.%N; }
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$server_pid/status"; }
export HWJ_FAULT_CONTROL=$dir/faults
faults() { printf '%s\n' "$1" >"$dir/faults.tmp" && mv "$dir/faults.tmp" "$HWJ_FAULT_CONTROL"; }
faults ""

# Tokens and keys.
eval "$(bash "$here/scripts/softhsm-token.sh" create "$dir/p11" hwj-load)" >/dev/null
bash "$here/scripts/swtpm.sh" start "$dir/tpm" >/dev/null
tcti=$(cat "$dir/tpm/tcti")
pkey="pkcs11:token=hwj-load;object=load-x?module-path=$shim&pin-source=file:$dir/p11/user.pin"
tkey="tpm2:file=$dir/t.pem?tcti=$tcti"
"$HWJOSE" keygen --key "$pkey" --alg ES256 >/dev/null
"$HWJOSE" keygen --key "$tkey" --alg ES256 >/dev/null
tok=$(openssl rand -hex 32)
cat >"$dir/config.json" <<JSON
{
  "listen": "127.0.0.1:0",
  "workers": 2,
  "keys": [{"name": "x", "uri": "$pkey", "alg": "ES256", "ttl": 60,
            "iss": "https://issuer.test", "aud": ["svc"]},
           {"name": "t", "uri": "$tkey", "alg": "ES256", "ttl": 60,
            "iss": "https://issuer.test", "aud": ["svc"]}],
  "clients": [{"name": "c", "token_sha256": "$(printf '%s' "$tok" | sha256sum | cut -d' ' -f1)",
               "permissions": {"x": ["jwt"], "t": ["jwt"]}}],
  "limits": {"max_body_bytes": 1024, "timeout_seconds": 10, "max_connections": 256},
  "audit": {"path": "$dir/audit.log", "fsync": false},
  "jwks_max_age": 60
}
JSON
start_server "$dir/config.json"
echo "# server pid $server_pid at $base; ${secs}s, wrk ${threads}t/${conns}c per key; load: $(uptime)"

claims='{"claims":{"aud":"svc","sub":"probe"}}'
verify() { "$HWJOSE" jwt verify --jwks-uri "$base/.well-known/jwks.json" --iss https://issuer.test --aud svc <<<"$1" >/dev/null; }
for k in x t; do
  req POST "/v1/keys/$k/jwt" "$claims" "$tok"
  check "before load: key $k 200 and its JWT verifies" verify "$(jq -r .jwt "$dir/body")"
done

# Load.
wrk_pids=""
for k in x t; do
  LOAD_KEY=$k LOAD_TOKEN=$tok wrk -t"$threads" -c"$conns" -d"${secs}s" --timeout 8s \
    -s "$here/tests/load/statuses.lua" "$base/" >"$dir/wrk-$k.out" 2>&1 &
  wrk_pids="$wrk_pids $!"
done
t0=$(now)
alive() { kill -0 "$server_pid" 2>/dev/null || { fail "server died"; return 1; }; }
at() { # at FRACTION: sleep until t0 + FRACTION*secs, checking the server every half second
  local until; until=$(echo "$t0 + $1 * $secs" | bc)
  while (($(echo "$(now) < $until" | bc))); do alive || return 1; sleep 0.5; done
}
# recover KEY: time from now until KEY answers 200 (and the JWT verifies), max 20 s.
recover() {
  local s; s=$(now)
  while :; do
    req POST "/v1/keys/$1/jwt" "$claims" "$tok"
    [ "$status" = 200 ] && verify "$(jq -r .jwt "$dir/body")" && break
    (($(echo "$(now) - $s > 20" | bc))) && { echo never; return 0; }
    sleep 0.05
  done
  echo "$(now) - $s" | bc
}
: >"$dir/windows"
window() { echo "$1 $2 $3" >>"$dir/windows"; } # NAME START END

at 0.15
rss_warm=$(rss_kib)
s=$(now); faults "C_Sign CKR_DEVICE_ERROR 0.5"; at 0.25; faults ""; e=$(now); window A "$s" "$e"
rec_a=$(recover x)
at 0.40
s=$(now); faults "* CKR_DEVICE_REMOVED 1"; at 0.50; faults ""; e=$(now); window B "$s" "$e"
rec_b=$(recover x)
at 0.65
s=$(now); bash "$here/scripts/swtpm.sh" stop "$dir/tpm" >/dev/null; at 0.75
bash "$here/scripts/swtpm.sh" start "$dir/tpm" >/dev/null ||
  { fail "swtpm did not start again"; tail -5 "$dir/tpm/swtpm.log"; }
e=$(now); window C "$s" "$e"
rec_c=$(recover t)
for p in $wrk_pids; do wait "$p" || fail "wrk exited with an error"; done
wrk_pids=""
alive
rss_end=$(rss_kib)
stop_server_status=0
kill -TERM "$server_pid"; wait "$server_pid" || stop_server_status=$?
server_pid=""
check "server exited cleanly on SIGTERM (status $stop_server_status)" [ "$stop_server_status" = 0 ]
check "no sanitizer report in the server log" bash -c "! grep -q 'Sanitizer' '$dir/server.log'"

# Tally.
inside=0; outside=0; total=0; non2xx=0
declare -A stat
for k in x t; do
  grep -q '^ERRORS' "$dir/wrk-$k.out" || { cat "$dir/wrk-$k.out"; fail "wrk $k printed no summary"; continue; }
  while read -r _ code n; do stat["$k $code"]=$n; total=$((total + n)); done < <(grep '^STATUS' "$dir/wrk-$k.out")
  errs=$(grep '^ERRORS' "$dir/wrk-$k.out")
  check "wrk $k: no socket errors ($errs)" bash -c "[[ '$errs' == *'connect=0 read=0 write=0 timeout=0' ]]"
  while read -r _ sec key code n; do
    non2xx=$((non2xx + n))
    in=0
    while read -r _ ws we; do
      if (($(echo "$sec >= ${ws%.*} && $sec <= $we + $settle" | bc))); then in=1; fi
    done <"$dir/windows"
    if [ $in = 1 ]; then inside=$((inside + n)); else
      outside=$((outside + n)); echo "# outside a window: $n × $code from key $key at $(date -d "@$sec" +%T)"
    fi
  done < <(grep '^NON2XX' "$dir/wrk-$k.out")
done
echo "# requests: $total  statuses: $(for s in "${!stat[@]}"; do printf '[%s]=%s ' "$s" "${stat[$s]}"; done)"
echo "# non-2xx: $non2xx ($inside inside a window + ${settle}s, $outside outside)"
echo "# windows (s from start): $(while read -r n ws we; do printf '%s %.1f-%.1f  ' "$n" "$(echo "$ws - $t0" | bc)" "$(echo "$we - $t0" | bc)"; done <"$dir/windows")"
echo "# recovery after the window (s): A $rec_a, B $rec_b, C $rec_c"
for r in "A $rec_a" "B $rec_b" "C $rec_c"; do check "window ${r% *}: recovered within 20 s" [ "${r#* }" != never ]; done
echo "# RSS after warm-up ${rss_warm} KiB, at the end ${rss_end} KiB"
check "no non-2xx outside the fault windows" [ "$outside" = 0 ]
check "some requests served" [ "$total" -gt 0 ]
tol=$((rss_warm / 10 > 4096 ? rss_warm / 10 : 4096))
if grep -q -a __asan_init "$HWJOSE"; then # ASan's quarantine and shadow grow RSS by design
  echo "# RSS not asserted in a sanitizer build (end - warm-up = $((rss_end - rss_warm)) KiB)"
else
  check "RSS flat: end ≤ warm-up + $tol KiB" [ "$rss_end" -le $((rss_warm + tol)) ]
fi
echo "# load: $(uptime)"
echo "# $fails failure(s)"
[ "$fails" -eq 0 ]
