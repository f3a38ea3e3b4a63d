#!/usr/bin/env bash
# Installs every Debian 12 package hwjose needs to build, test and benchmark.
# Idempotent: quiet and fast when everything is already present.
set -euo pipefail

pkgs=(
  # build
  build-essential cmake pkg-config clang clang-format
  # libraries
  libssl-dev libjansson-dev libp11-kit-dev p11-kit libtss2-dev libcurl4-openssl-dev libevent-dev
  libcmocka-dev zlib1g-dev
  # the service's state store (SQLite, PostgreSQL) and a fleet's load balancer in tests
  libsqlite3-dev libpq-dev libsystemd-dev postgresql haproxy
  # man pages (docs/man/*.scd)
  scdoc
  # hardware stand-ins and their tools
  softhsm2 opensc libengine-pkcs11-openssl swtpm swtpm-tools tpm2-tools tpm2-openssl
  # interop and load peers
  python3 python3-jwcrypto nodejs npm wrk
  # service tests (tests/server/test_server.sh) and demo (p11tool: token set-up with PINs from the environment)
  curl jq gnutls-bin
  # keys and certificates the tests make (tests/test_jwks_cache*.c|sh, tests/server)
  openssl
  # systemd-analyze verify for docs/deploy.md's unit (tests/docs/test_deploy_unit.sh)
  systemd
)

missing=()
for p in "${pkgs[@]}"; do
  # nodejs/npm may come from outside Debian on some images; accept any working binary.
  case "$p" in
    nodejs) command -v node >/dev/null 2>&1 && continue ;;
    npm) command -v npm >/dev/null 2>&1 && continue ;;
  esac
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm peers for interop tests (jose, dpop, oauth4webapi) and @apidevtools/swagger-parser for
# docs/openapi.yaml (tests/interop/package.json), installed into the project's (git-ignored)
# node_modules.
top=$(cd "$(dirname "$0")/.." && pwd)
if [ ! -d "$top/tests/interop/node_modules/jose" ] || [ ! -d "$top/tests/interop/node_modules/dpop" ] ||
  [ ! -d "$top/tests/interop/node_modules/oauth4webapi" ] ||
  [ ! -d "$top/tests/interop/node_modules/@apidevtools/swagger-parser" ]; then
  echo "install-deps: installing npm jose, dpop, oauth4webapi and @apidevtools/swagger-parser into tests/interop"
  (cd "$top/tests/interop" && npm install --no-audit --no-fund --silent >/dev/null)
fi
