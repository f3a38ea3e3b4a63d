#!/usr/bin/env bash
# softhsm-token.sh: a SoftHSM token in a folder of its own, for the demo and the tests.
#
#   scripts/softhsm-token.sh create [DIR] [LABEL] [--demo-keys]
#   scripts/softhsm-token.sh destroy DIR
#   scripts/softhsm-token.sh env [DIR]
#
# create: DIR (default tokens/softhsm/ in the repo, git-ignored) gets softhsm2.conf, a tokens/
#   store, and random PINs in so.pin and user.pin (mode 0600; *.pin is git-ignored); the token
#   LABEL (default "hwjose") is initialised unless it exists (idempotent). --demo-keys also
#   generates, unless present, "demo-es256" (ES256) and "demo-enc" (RSA-OAEP-256, 2048 bits)
#   with `hwjose keygen` ($HWJOSE, else build/hwjose, else hwjose on PATH).
#   Prints the line to eval: export SOFTHSM2_CONF=...
# destroy: removes DIR's token store, PIN files and config (only a folder this script made).
# env: prints the export line for DIR.
#
# PINs never appear in argv: p11tool (GnuTLS) reads them from GNUTLS_SO_PIN / GNUTLS_PIN in its
# environment, which only this user can read. (softhsm2-util and pkcs11-tool take them as
# arguments, visible to every user in ps.) hwjose reads user.pin through pin-source=file:.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
module=${HWJ_SOFTHSM_MODULE:-/usr/lib/softhsm/libsofthsm2.so}
marker=.hwjose-softhsm

die() { echo "softhsm-token.sh: $*" >&2; exit 1; }
usage() { sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }

need_tools() {
  [ -r "$module" ] || die "SoftHSM module $module not found; run scripts/install-deps.sh"
  command -v p11tool >/dev/null || die "p11tool (gnutls-bin) not found; run scripts/install-deps.sh"
}

abs() { mkdir -p "$1" && (cd "$1" && pwd); }

p11() { p11tool --provider "$module" "$@"; }

token_exists() { p11 --list-tokens 2>/dev/null | grep -q "token=$(enc "$1")\$"; }

# RFC 7512 percent-encoding of a label (as p11tool prints it).
enc() { local s=$1 o= c i; for ((i = 0; i < ${#s}; i++)); do c=${s:i:1}
  case $c in [a-zA-Z0-9._~-]) o+=$c ;; *) o+=$(printf '%%%02X' "'$c") ;; esac; done; printf '%s' "$o"; }

find_hwjose() {
  if [ -n "${HWJOSE:-}" ]; then echo "$HWJOSE"; return; fi
  [ -x "$here/build/hwjose" ] && { echo "$here/build/hwjose"; return; }
  command -v hwjose || die "hwjose not found: build it (cmake --build build) or set HWJOSE"
}

create() {
  local dir=${1:-$here/tokens/softhsm} label=${2:-hwjose} demo=${3:-}
  need_tools
  dir=$(abs "$dir")
  [ -z "$(ls -A "$dir" 2>/dev/null)" ] || [ -e "$dir/$marker" ] ||
    die "$dir is not empty and was not made by this script; choose another folder"
  umask 077
  touch "$dir/$marker"
  mkdir -p "$dir/tokens"
  export SOFTHSM2_CONF=$dir/softhsm2.conf
  [ -f "$SOFTHSM2_CONF" ] ||
    printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' \
      "$dir" >"$SOFTHSM2_CONF"
  [ -s "$dir/so.pin" ] || od -An -N16 -tx1 /dev/urandom | tr -d ' \n' >"$dir/so.pin"
  [ -s "$dir/user.pin" ] || od -An -N8 -tx1 /dev/urandom | tr -d ' \n' >"$dir/user.pin"
  chmod 600 "$dir/so.pin" "$dir/user.pin"
  if ! token_exists "$label"; then
    # "token=" (empty label) is SoftHSM's free, uninitialised slot.
    GNUTLS_SO_PIN=$(cat "$dir/so.pin") p11 --initialize --label "$label" \
      "pkcs11:model=SoftHSM%20v2;token=" >/dev/null 2>&1 ||
      die "initialising token '$label' failed"
    GNUTLS_SO_PIN=$(cat "$dir/so.pin") GNUTLS_PIN=$(cat "$dir/user.pin") \
      p11 --initialize-pin "pkcs11:token=$(enc "$label")" >/dev/null 2>&1 ||
      die "setting the user PIN of '$label' failed"
    echo "softhsm-token.sh: token '$label' created in $dir" >&2
  fi
  if [ "$demo" = --demo-keys ]; then
    local hw base
    hw=$(find_hwjose)
    base="pkcs11:token=$(enc "$label")"
    for k in demo-es256:ES256 demo-enc:RSA-OAEP-256; do
      local name=${k%%:*} alg=${k#*:}
      if "$hw" keys --token "$base?pin-source=file:$dir/user.pin" --json | grep -q "object=$name;"; then
        continue
      fi
      "$hw" keygen --key "$base;object=$name?pin-source=file:$dir/user.pin" --alg "$alg" \
        --bits 2048 >"$dir/$name.jwk.json"
      echo "softhsm-token.sh: key $name ($alg) generated; public JWK in $dir/$name.jwk.json" >&2
    done
  fi
  echo "export SOFTHSM2_CONF=$SOFTHSM2_CONF"
}

destroy() {
  local dir=${1:-}
  [ -n "$dir" ] || usage
  [ -d "$dir" ] || return 0
  [ -e "$dir/$marker" ] || die "$dir was not made by this script; not removing it"
  rm -rf "$dir/tokens" "$dir/softhsm2.conf" "$dir/so.pin" "$dir/user.pin" "$dir"/*.jwk.json \
    "$dir/$marker"
  rmdir "$dir" 2>/dev/null || true
}

cmd=${1:-}
shift || true
case $cmd in
  create)
    args=() demo=
    for a in "$@"; do [ "$a" = --demo-keys ] && demo=$a || args+=("$a"); done
    create "${args[0]:-}" "${args[1]:-}" "$demo" ;;
  destroy) destroy "$@" ;;
  env) d=$(abs "${1:-$here/tokens/softhsm}"); echo "export SOFTHSM2_CONF=$d/softhsm2.conf" ;;
  *) usage ;;
esac
