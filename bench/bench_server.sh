#!/usr/bin/env bash
# bench_server.sh: `hwjose serve` throughput and latency against the library's own rate,
# measured in the same run on the same key.
#
#   bench/bench_server.sh [BUILD_DIR] [SECONDS] [BACKEND] [SERVICE_SECONDS]
#
# BENCH_ROUNDS (default 5) rounds per comparison, each a library run of SECONDS then a service
# run of SECONDS, back to back; the ratio is taken per round and the median reported, because
# this host's speed drifts by tens of percent within minutes (shared, paravirtualised): a
# library figure from one minute is no baseline for a service figure from the next.
# SERVICE_SECONDS, when larger than SECONDS, adds one long service run at the end of each
# comparison for the RSS figure (e.g. 150 at ~8k jwt/s for > 1M requests); the RSS lines say how
# many requests the server had answered. BENCH_PERF=FILE records `perf record -g` of the server
# during the first same-core round into FILE (then: perf report -i FILE --no-children).
#
# BACKEND: pkcs11 (default: an ES256 key generated in a fresh SoftHSM token) or soft (a PEM
# key). The service answers POST /v1/keys/bench/jwt (ES256) to wrk over keep-alive loopback
# with the audit log on (fsync off: we measure the service, not the disk). Two comparisons,
# each against the library's hwj_jwt_issue (bench_server_lib.c) on the same key:
#   same-core  library: 1 thread pinned to CPU 0;  service: 1 worker pinned to CPU 0 and wrk
#              (-t1 -c16) pinned to CPU 1 — both sides get exactly one core for the work;
#   2 cores    library: 2 threads;  service: 2 workers, wrk -t2 -c16, nothing pinned — the
#              service shares the 2 cores with wrk, so the ratio understates it.
# Each also prints the service's JWTs per server CPU-second against the library's per
# CPU-second, and p50/p99 latency, errors, and the server's RSS after warm-up and at the end.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build}
secs=${2:-10}
backend=${3:-pkcs11}
ssecs=${4:-$secs}
command -v wrk >/dev/null || { echo "wrk missing: scripts/install-deps.sh"; exit 1; }
[ -x "$build/hwjose" ] || { echo "build first: cmake --build $build"; exit 1; }

dir=$(mktemp -d)
pid=""
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; rm -rf "$dir"' EXIT
umask 077

module=${HWJ_SOFTHSM_MODULE:-/usr/lib/softhsm/libsofthsm2.so}
if [ "$backend" = pkcs11 ]; then
  export SOFTHSM2_CONF=$dir/softhsm2.conf
  mkdir -p "$dir/tokens"
  printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' "$dir/tokens" >"$SOFTHSM2_CONF"
  openssl rand -hex 16 >"$dir/user.pin"
  so=$(openssl rand -hex 16)
  p11() { p11tool --provider "$module" "$@" </dev/null >/dev/null 2>&1; }
  GNUTLS_SO_PIN=$so p11 --initialize --label bench "pkcs11:model=SoftHSM%20v2"
  GNUTLS_SO_PIN=$so GNUTLS_PIN=$(cat "$dir/user.pin") p11 --initialize-pin "pkcs11:token=bench"
  GNUTLS_PIN=$(cat "$dir/user.pin") p11 --login --generate-privkey ecdsa --curve secp256r1 --label bench "pkcs11:token=bench"
  uri="pkcs11:token=bench;object=bench;type=private?module-path=$module&pin-source=file:$dir/user.pin"
else
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$dir/k.pem" 2>/dev/null
  uri="file:$dir/k.pem"
fi

# the library baseline, linked against this build's shared library
cc -O2 -I"$top/include" -I"$build/include" "$top/bench/bench_server_lib.c" -o "$dir/lib" -L"$build" -lhwjose \
  -Wl,-rpath,"$build" $(pkg-config --libs libcrypto) -lpthread
# lib_rate CMD...: sets rate (jwt/s) and percpu (jwt per CPU-second the library used)
lib_rate() {
  "$@" >"$dir/lib.out"
  rate=$(awk '/issues_per_second/ {print $2}' "$dir/lib.out")
  percpu=$(awk -v s="$secs" '/issues_per_second/ {r = $2} /cpu_seconds/ {c = $2}
    END {printf "%.0f", (c > 0 ? r * s / c : 0)}' "$dir/lib.out")
}
lib1() { lib_rate taskset -c 0 "$dir/lib" "$uri" 1 "$secs"; }
lib2() { lib_rate "$dir/lib" "$uri" 2 "$secs"; }

tok=$(openssl rand -hex 32)
cat >"$dir/post.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"claims":{"sub":"user-1","aud":"bench","role":"reader"}}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $tok"
done = function(summary, latency, requests)
  io.write(string.format("p50_ms %.3f\np99_ms %.3f\nrps %.0f\nerrors %d\n",
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.requests / (summary.duration / 1e6),
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
LUA
rss() { awk '/VmRSS/ {print $2}' "/proc/$pid/status"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
val() { awk -v k="$1" '$1 == k {print $2}' "$dir/wrk.out"; }

# start WORKERS SERVER_CPUS: the server, configured, listening and warmed up; sets url rss0
start() {
  local workers=$1 scpu=$2
  rm -f "$dir/audit.log"
  cat >"$dir/config.json" <<JSON
{"listen": "127.0.0.1:0", "workers": $workers,
 "keys": [{"name": "bench", "uri": "$uri", "alg": "ES256", "iss": "https://bench"}],
 "clients": [{"name": "bench", "token_sha256": "$(printf %s "$tok" | sha256sum | cut -d' ' -f1)",
              "permissions": {"bench": ["jwt"]}}],
 "limits": {"max_connections": 1024},
 "audit": {"path": "$dir/audit.log", "fsync": false}}
JSON
  : >"$dir/server.log"
  taskset -c "$scpu" "$build/hwjose" serve --config "$dir/config.json" 2>"$dir/server.log" &
  pid=$!
  for _ in $(seq 100); do grep -q "listening on" "$dir/server.log" && break; sleep 0.05; done
  url=$(sed -n 's/.*listening on \(http[^ ]*\).*/\1/p' "$dir/server.log")/v1/keys/bench/jwt
  taskset -c "$wcpu" wrk -t"$wt" -c16 -d2s -s "$dir/post.lua" "$url" >/dev/null # warm-up
  rss0=$(rss)
}

# measure SECONDS: one wrk run against the running server; sets rps p50 p99 errs srv_cores
measure() {
  local t0 t1 w0 w1 perfpid=""
  if [ -n "${BENCH_PERF:-}" ] && [ "$wt" = 1 ] && [ ! -s "$BENCH_PERF" ]; then
    perf record -F 999 -g -o "$BENCH_PERF" -p "$pid" -- sleep "$1" >/dev/null 2>&1 &
    perfpid=$!
  fi
  t0=$(cpu_ticks); w0=$(date +%s.%N)
  taskset -c "$wcpu" wrk -t"$wt" -c16 -d"$1s" -s "$dir/post.lua" "$url" >"$dir/wrk.out"
  t1=$(cpu_ticks); w1=$(date +%s.%N)
  [ -n "$perfpid" ] && wait "$perfpid" || true
  rps=$(val rps); p50=$(val p50_ms); p99=$(val p99_ms); errs=$(val errors)
  srv_cores=$(awk -v t=$((t1 - t0)) -v hz="$(getconf CLK_TCK)" -v a="$w0" -v b="$w1" \
    'BEGIN {printf "%.2f", t / hz / (b - a)}')
}

stop() {
  rss1=$(rss)
  reqs=$(wc -l <"$dir/audit.log")
  kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""
}
median() { tr ' ' '\n' | grep . | sort -n | awk '{v[NR] = $1} END {print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2)}'; }

# compare LABEL WORKERS SERVER_CPUS WRK_CPUS WRK_THREADS LIBFN: ROUNDS rounds of (library run,
# service run) back to back, a ratio per round — this host's speed drifts by tens of percent
# within minutes (shared, paravirtualised), so only runs taken side by side compare — then the
# median ratio, and one long service run for RSS when SERVICE_SECONDS asks for one.
compare() {
  local label=$1 workers=$2 scpu=$3 libfn=$6 ratios="" percpus="" ls="" ss=""
  wcpu=$4 wt=$5
  start "$workers" "$scpu"
  for _ in $(seq "$rounds"); do
    $libfn
    local l=$rate lc=$percpu
    measure "$secs"
    ratios+="$(awk -v a="$rps" -v b="$l" 'BEGIN {printf "%.1f", 100 * a / b}') "
    percpus+="$(awk -v r="$rps" -v c="$srv_cores" -v b="$lc" 'BEGIN {printf "%.1f", (c > 0 ? 100 * r / c / b : 0)}') "
    ls+="$l " ss+="$rps "
  done
  echo "$label: rounds of (library ${secs} s, service ${secs} s), service / library per round: ${ratios}%"
  echo "           median $(median <<<"$ratios") %  (library jwt/s: ${ls}| service jwt/s: ${ss})"
  echo "           per server CPU-second vs the library's per CPU-second (1 thread), median: $(median <<<"$percpus") %"
  echo "           last round: p50 $p50 ms, p99 $p99 ms, errors $errs; server used $srv_cores cores"
  if [ "$ssecs" -gt "$secs" ]; then
    measure "$ssecs"
    echo "           long run ${ssecs} s: $rps jwt/s, p50 $p50 ms, p99 $p99 ms, errors $errs"
  fi
  stop
  echo "           RSS ${rss0} -> ${rss1} KiB after $reqs requests"
}

rounds=${BENCH_ROUNDS:-5}
echo "backend: $backend ($uri)" | sed 's/pin-source=[^&]*/pin-source=.../'
echo "machine: $(nproc) cores; $(uptime | sed 's/.*load/load/'); $rounds rounds of ${secs} s"
compare "same-core" 1 0 1 1 lib1
echo "machine: $(uptime | sed 's/.*load/load/')"
compare "2 cores  " 2 0-1 0-1 2 lib2
echo "machine: $(uptime | sed 's/.*load/load/')"
