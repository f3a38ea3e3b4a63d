#!/usr/bin/env bash
# haproxy.sh: HAProxy (Debian's binary, not the system service) in front of hwjose replicas,
# for the fleet test. The configuration it writes is the one docs/fleet.md shows.
#
#   tests/fleet/haproxy.sh start DIR PORT HOST:PORT...   write DIR/haproxy.cfg, check it, start
#                                                        haproxy in the foreground (-db) in the
#                                                        background, pid in DIR/haproxy.pid, log in
#                                                        DIR/haproxy.log; waits until PORT listens
#   tests/fleet/haproxy.sh stop DIR                      stop it; idempotent
#   tests/fleet/haproxy.sh state DIR                     each server's name and UP/DOWN state
set -euo pipefail

die() { echo "haproxy.sh: $*" >&2; exit 1; }
usage() { sed -n '2,11p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }

bin=${HWJ_HAPROXY:-$(command -v haproxy || echo /usr/sbin/haproxy)}
[ $# -ge 2 ] || usage
cmd=$1
dir=$2

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

alive() { [ -f "$dir/haproxy.pid" ] && kill -0 "$(cat "$dir/haproxy.pid")" 2>/dev/null; }

# write_config PORT BACKEND...: one frontend, one backend, round robin over the replicas.
write_config() {
  local port=$1 i=0 b
  shift
  cat >"$dir/haproxy.cfg" <<CFG
global
    log stdout format raw local0 info
    maxconn 1024
    stats socket $dir/haproxy.sock mode 600 level admin

defaults
    mode http
    log global
    option httplog
    # A replica that refuses the connection, closes it without an answer or does not answer in
    # time gets the request again on another replica: the request body is buffered first, so a
    # POST can be replayed; /jwt and /sign are safe to replay (a second token, no state change).
    option http-buffer-request
    option redispatch 1
    retries 3
    retry-on conn-failure empty-response response-timeout
    timeout connect 500ms
    timeout client 10s
    timeout server 3s
    timeout http-request 5s
    timeout http-keep-alive 2s
    timeout queue 2s
    timeout check 1s

frontend hwjose
    bind 127.0.0.1:$port
    default_backend hwjose_replicas

backend hwjose_replicas
    balance roundrobin
    # A replica is taken out after 2 failed checks (~600 ms) and back after 2 good ones.
    option httpchk
    http-check send meth GET uri /healthz
    http-check expect status 200
    default-server inter 300ms fall 2 rise 2
CFG
  for b in "$@"; do
    i=$((i + 1))
    echo "    server r$i $b check" >>"$dir/haproxy.cfg"
  done
}

start() {
  [ $# -ge 2 ] || usage
  [ -x "$bin" ] || die "haproxy not found (apt-get install haproxy)"
  mkdir -p "$dir"
  alive && die "already running in $dir (pid $(cat "$dir/haproxy.pid"))"
  local port=$1
  write_config "$@"
  "$bin" -c -q -f "$dir/haproxy.cfg" || die "configuration refused: $dir/haproxy.cfg"
  # -db: stay in the foreground (so the log goes to stdout); detached from this shell's job control.
  setsid "$bin" -db -f "$dir/haproxy.cfg" </dev/null >>"$dir/haproxy.log" 2>&1 &
  echo $! >"$dir/haproxy.pid"
  local i
  for i in $(seq 1 100); do
    listening "$port" && return 0
    alive || die "haproxy exited; see $dir/haproxy.log"
    sleep 0.05
  done
  die "haproxy does not listen on 127.0.0.1:$port; see $dir/haproxy.log"
}

stop() {
  alive || { rm -f "$dir/haproxy.pid"; return 0; }
  local pid i
  pid=$(cat "$dir/haproxy.pid")
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 1 50); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
  rm -f "$dir/haproxy.pid"
}

# state: "r1 UP" lines from the stats socket (srv_op_state 2 = running).
state() {
  alive || die "not running in $dir"
  python3 - "$dir/haproxy.sock" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(2)
s.connect(sys.argv[1])
s.sendall(b"show servers state hwjose_replicas\n")
out = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    out += b
for line in out.decode().splitlines():
    f = line.split()
    if len(f) > 5 and f[1] == "hwjose_replicas":
        print(f[3], "UP" if f[5] == "2" else "DOWN")
PY
}

case "$cmd" in
start) shift 2; start "$@" ;;
stop) stop ;;
state) state ;;
*) usage ;;
esac
