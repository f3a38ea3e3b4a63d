#!/usr/bin/env bash
# bench_server.sh: `hwjose serve` throughput and latency against the library's own rate,
# measured in the same run on the same key.
#
#   bench/bench_server.sh [BUILD_DIR] [SECONDS] [BACKEND]
#
# BACKEND: pkcs11 (default: an ES256 key generated in a fresh SoftHSM token) or soft (a PEM
# key). Runs (1) bench_server_lib: hwj_jwt_issue from 2 threads, (2) wrk with 2 threads and
# 16 keep-alive connections on POST /v1/keys/bench/jwt (ES256) over loopback, 2 workers,
# audit log on (fsync off: we measure the service, not the disk), then reports req/s, the
# ratio to the library, p50/p99 latency and the server's RSS before and after.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build}
secs=${2:-10}
backend=${3:-pkcs11}
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

# (1) the library baseline, linked against this build's shared library
cc -O2 -I"$top/include" "$top/bench/bench_server_lib.c" -o "$dir/lib" -L"$build" -lhwjose \
  -Wl,-rpath,"$build" $(pkg-config --libs libcrypto) -lpthread
lib=$("$dir/lib" "$uri" 2 "$secs" | awk '/issues_per_second/ {print $2}')

# (2) the service
tok=$(openssl rand -hex 32)
cat >"$dir/config.json" <<JSON
{"listen": "127.0.0.1:0", "workers": 2,
 "keys": [{"name": "bench", "uri": "$uri", "alg": "ES256", "state": "active", "iss": "https://bench"}],
 "clients": [{"name": "bench", "token_sha256": "$(printf %s "$tok" | sha256sum | cut -d' ' -f1)",
              "permissions": {"bench": ["jwt"]}}],
 "limits": {"max_connections": 1024},
 "audit": {"path": "$dir/audit.log", "fsync": false}}
JSON
"$build/hwjose" serve --config "$dir/config.json" 2>"$dir/server.log" &
pid=$!
for _ in $(seq 100); do grep -q "listening on" "$dir/server.log" && break; sleep 0.05; done
base=$(sed -n 's/.*listening on \(http[^ ]*\).*/\1/p' "$dir/server.log")
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
wrk -t2 -c16 -d2s -s "$dir/post.lua" "$base/v1/keys/bench/jwt" >/dev/null # warm-up
rss0=$(rss)
wrk -t2 -c16 -d"${secs}s" -s "$dir/post.lua" "$base/v1/keys/bench/jwt" >"$dir/wrk.out"
rss1=$(rss)
rps=$(awk '/^rps/ {print $2}' "$dir/wrk.out")
reqs=$(wc -l <"$dir/audit.log")
echo "backend:            $backend ($uri)" | sed 's/pin-source=[^&]*/pin-source=.../'
echo "library jwt/s:      $lib   (hwj_jwt_issue, 2 threads)"
echo "service jwt/s:      $rps   (wrk -t2 -c16, keep-alive, 2 workers)"
awk -v a="$rps" -v b="$lib" 'BEGIN {printf "ratio:              %.0f%%\n", 100 * a / b}'
echo "latency p50/p99:    $(awk '/^p50_ms/ {print $2}' "$dir/wrk.out") ms / $(awk '/^p99_ms/ {print $2}' "$dir/wrk.out") ms"
echo "errors:             $(awk '/^errors/ {print $2}' "$dir/wrk.out")"
echo "RSS after warm-up:  ${rss0} KiB; after $reqs audited requests: ${rss1} KiB"
