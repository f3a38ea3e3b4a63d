# lib.sh: helpers for script tests that run the real `hwjose serve` (source it).
# Needs: $HWJOSE (the CLI) and $dir (the test's temp dir; server.log, body and headers go
# there). Sets: $server_pid, $base (http://127.0.0.1:PORT), $status and $body after req.

fails=${fails:-0}
server_pid=${server_pid:-}

ok() { echo "ok   - $*"; }
fail() { echo "FAIL - $*"; fails=$((fails + 1)); }
check() { # check DESCRIPTION COMMAND...
  local what=$1; shift
  if "$@" >/dev/null; then ok "$what"; else fail "$what"; fi
}

# start_server CONFIG: start it and wait for its "listening on" line.
# $SERVE_PRELOAD: a library preloaded into the server only (an LD_PRELOAD around the function
# would reach seq, grep and sed too, which a sanitized shim cannot be loaded into).
start_server() {
  : >"$dir/server.log"
  env ${SERVE_PRELOAD:+LD_PRELOAD="$SERVE_PRELOAD"} "$HWJOSE" serve --config "${1:-$dir/config.json}" \
    2>>"$dir/server.log" &
  server_pid=$!
  for _ in $(seq 100); do
    grep -q "listening on" "$dir/server.log" && break
    kill -0 "$server_pid" 2>/dev/null || { cat "$dir/server.log"; echo "server died"; exit 1; }
    sleep 0.05
  done
  base=$(sed -n 's/.*listening on \(http[^ ]*\).*/\1/p' "$dir/server.log" | head -1)
  [ -n "$base" ] || { cat "$dir/server.log"; echo "server did not start"; exit 1; }
}

stop_server() {
  [ -n "$server_pid" ] || return 0
  kill -TERM "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
}

reload() { # SIGHUP, then wait for the log line
  local n
  n=$(grep -c "reload" "$dir/server.log" || true)
  kill -HUP "$server_pid"
  for _ in $(seq 100); do
    [ "$(grep -c "reload" "$dir/server.log" || true)" -gt "$n" ] && return 0
    sleep 0.05
  done
  echo "no reload log line"; return 1
}

# req METHOD PATH [BODY] [TOKEN] [extra curl args...]  → $status, $body (file $dir/body)
req() {
  local method=$1 path=$2 data=${3:-} tok=${4:-}
  shift 4 2>/dev/null || shift $#
  local args=(-s -o "$dir/body" -D "$dir/headers" -w '%{http_code}' -X "$method")
  [ -n "$tok" ] && args+=(-H "Authorization: Bearer $tok")
  [ -n "$data" ] && args+=(-H 'Content-Type: application/json' --data-binary "$data")
  status=$(curl "${args[@]}" "$@" "$base$path")
  body=$(cat "$dir/body")
}
# code_is STATUS CODE: the last answer had this status and JSON error code.
code_is() { [ "$status" = "$1" ] && jq -e --arg c "$2" '.error.code == $c' "$dir/body" >/dev/null; }
