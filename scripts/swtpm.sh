#!/usr/bin/env bash
# swtpm.sh: a software TPM 2.0 (swtpm) with its state in a folder, for the demo, the tests and
# the benchmarks.
#
#   scripts/swtpm.sh start DIR      start a swtpm on free loopback ports; state in DIR/state
#   scripts/swtpm.sh stop DIR       stop it (the state stays)
#   scripts/swtpm.sh restart DIR    stop, then start again on the same ports with the same state
#   scripts/swtpm.sh destroy DIR    stop it and remove what start made in DIR
#   scripts/swtpm.sh env DIR        print the export line: export HWJOSE_TCTI=...
#
# start writes DIR/tcti (the TCTI string, `swtpm:host=127.0.0.1,port=P`, the TPM2TOOLS_TCTI
# form that HWJOSE_TCTI, TPM2TOOLS_TCTI and TPM2OPENSSL_TCTI all take), DIR/port and DIR/pid.
# The TPM is started (TPM2_Startup(CLEAR)) by swtpm itself, so it is ready when this returns.
# start on a DIR whose swtpm is running is a no-op.
set -euo pipefail

die() { echo "swtpm.sh: $*" >&2; exit 1; }
usage() { sed -n '2,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }

# 0 if something accepts connections on 127.0.0.1:$1.
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

running() { [ -f "$1/pid" ] && kill -0 "$(cat "$1/pid")" 2>/dev/null; }

# A port P with P and P+1 both free, below the kernel's ephemeral range: a client that keeps
# reconnecting while swtpm is down (hwjose serve under load) can otherwise be handed P as its own
# source port, connect to itself (TCP simultaneous open) and hold P so swtpm cannot bind it again.
pick_port() {
  local p i low
  low=$(awk '{print $1}' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
  [ "$low" -gt 12002 ] || die "ephemeral port range starts at $low; no room below it for swtpm"
  for i in $(seq 1 50); do
    p=$((10000 + (RANDOM * 2) % (low - 10002)))
    if ! listening "$p" && ! listening $((p + 1)); then
      echo "$p"
      return 0
    fi
  done
  die "no free pair of loopback ports found"
}

# Launch swtpm on port $2 (control $2+1); 0 once it answers, 1 if it exited (port taken).
launch() {
  local dir=$1 port=$2 i
  mkdir -p "$dir/state"
  swtpm socket --tpm2 \
    --server "type=tcp,bindaddr=127.0.0.1,port=$port" \
    --ctrl "type=tcp,bindaddr=127.0.0.1,port=$((port + 1))" \
    --tpmstate "dir=$dir/state" \
    --flags not-need-init,startup-clear \
    --pid "file=$dir/pid" --log "file=$dir/swtpm.log" --daemon ||
    return 1
  for i in $(seq 1 100); do
    if running "$dir" && listening "$port"; then
      echo "$port" >"$dir/port"
      echo "swtpm:host=127.0.0.1,port=$port" >"$dir/tcti"
      return 0
    fi
    sleep 0.05
  done
  return 1
}

start() {
  local dir=$1 port tries
  command -v swtpm >/dev/null || die "swtpm not found; run scripts/install-deps.sh"
  mkdir -p "$dir"
  running "$dir" && return 0
  if [ -f "$dir/port" ]; then # restart: same ports, same state
    # a few tries: under load the old sockets may hold the port a moment after the old swtpm exits
    for tries in 1 2 3 4 5; do
      launch "$dir" "$(cat "$dir/port")" && return 0
      sleep 0.5
    done
    die "cannot restart swtpm on port $(cat "$dir/port"); see $dir/swtpm.log"
  fi
  for tries in 1 2 3 4 5; do # a probed port may be taken before swtpm binds it
    port=$(pick_port)
    launch "$dir" "$port" && return 0
  done
  die "cannot start swtpm; see $dir/swtpm.log"
}

stop() {
  local dir=$1 pid i
  running "$dir" || { rm -f "$dir/pid"; return 0; }
  pid=$(cat "$dir/pid")
  kill "$pid" 2>/dev/null || true
  for i in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
  # wait until the port is released so that restart can bind it again
  if [ -f "$dir/port" ]; then
    for i in $(seq 1 100); do
      listening "$(cat "$dir/port")" || break
      sleep 0.05
    done
  fi
  rm -f "$dir/pid"
}

[ $# -ge 2 ] || usage
cmd=$1
# swtpm --daemon changes to /: the state folder must be an absolute path.
mkdir -p "$2"
dir=$(cd "$2" && pwd)
case "$cmd" in
start) start "$dir" ;;
stop) stop "$dir" ;;
restart) stop "$dir" && start "$dir" ;;
destroy)
  stop "$dir"
  rm -rf "$dir/state" "$dir/tcti" "$dir/port" "$dir/swtpm.log"
  rmdir "$dir" 2>/dev/null || true
  ;;
env)
  [ -f "$dir/tcti" ] || die "no swtpm in $dir; run: scripts/swtpm.sh start $dir"
  echo "export HWJOSE_TCTI='$(cat "$dir/tcti")'"
  ;;
*) usage ;;
esac
