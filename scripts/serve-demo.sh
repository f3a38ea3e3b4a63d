#!/usr/bin/env bash
# serve-demo.sh: run `hwjose serve` on the demo SoftHSM token with a demo config.
#
#   scripts/serve-demo.sh [BUILD_DIR]
#
# Creates (or reuses) a SoftHSM token "hwjose-demo" and an ES256 key "demo-es256" generated
# inside it (sensitive, never extractable), a demo client with a random bearer token, and
# serves http://127.0.0.1:8443 — plain HTTP because it listens on loopback only (the server
# refuses plain HTTP elsewhere; see docs/deploy.md for TLS). Everything it creates lives in
# tokens/serve-demo/state/ (git-ignored, 0700): the token, the user PIN file and the client
# token file (0600). PINs are passed through files and the environment, never argv.
# Ctrl-C stops the server.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build}
case $build in /*) ;; *) build=$PWD/$build ;; esac
state=$top/tokens/serve-demo/state
module=${HWJ_SOFTHSM_MODULE:-/usr/lib/softhsm/libsofthsm2.so}
label=hwjose-demo
object=demo-es256
listen=${HWJ_DEMO_LISTEN:-127.0.0.1:8443}

if [ ! -x "$build/hwjose" ]; then
  "$top/scripts/install-deps.sh"
  cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$build" -j"$(nproc)" --target hwjose-cli >/dev/null
fi
hwjose=$build/hwjose

umask 077
mkdir -p "$state/softhsm/tokens"
export SOFTHSM2_CONF=$state/softhsm/softhsm2.conf
[ -f "$SOFTHSM2_CONF" ] || printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' \
  "$state/softhsm/tokens" >"$SOFTHSM2_CONF"
pinfile=$state/user.pin
[ -s "$pinfile" ] || openssl rand -hex 16 >"$pinfile"
p11() { p11tool --provider "$module" "$@" </dev/null; }

# The token: initialised through p11tool, which takes PINs from the environment.
if ! p11 --list-tokens 2>/dev/null | grep -q "token=$label"; then
  echo "serve-demo: creating SoftHSM token '$label' in $state/softhsm"
  [ -s "$state/so.pin" ] || openssl rand -hex 16 >"$state/so.pin"
  GNUTLS_SO_PIN=$(cat "$state/so.pin") p11 --initialize --label "$label" "pkcs11:model=SoftHSM%20v2" >/dev/null 2>&1
  GNUTLS_SO_PIN=$(cat "$state/so.pin") GNUTLS_PIN=$(cat "$pinfile") \
    p11 --initialize-pin "pkcs11:token=$label" >/dev/null 2>&1 ||
    { echo "serve-demo: could not set the token's user PIN" >&2; exit 1; }
fi

uri="pkcs11:token=$label;object=$object;type=private?module-path=$module&pin-source=file:$pinfile"

# The key: generated inside the token by `hwjose keygen` (sensitive, never extractable). If that
# fails the demo stops: no other tool generates it instead.
if ! GNUTLS_PIN=$(cat "$pinfile") p11 --login --list-privkeys "pkcs11:token=$label" 2>/dev/null | grep -q "object=$object;"; then
  echo "serve-demo: generating ES256 key '$object' inside the token"
  if ! "$hwjose" keygen --key "$uri" --alg ES256 >"$state/$object.jwk.json"; then
    echo "serve-demo: \`hwjose keygen\` could not generate '$object' in token '$label' (error above);" \
      "nothing was generated, stopping" >&2
    exit 1
  fi
fi

# The demo client: a random bearer token; the config holds only its SHA-256.
tokfile=$state/client.token
[ -s "$tokfile" ] || openssl rand -hex 32 >"$tokfile"
tokhash=$(tr -d '\n' <"$tokfile" | sha256sum | cut -d' ' -f1)

cat >"$state/config.json" <<JSON
{
  "listen": "$listen",
  "workers": 2,
  "keys": [
    {"name": "demo", "uri": "$uri", "alg": "ES256",
     "ttl": "15m", "max_ttl": "1h", "iss": "http://$listen", "aud": ["demo-api"]}
  ],
  "clients": [
    {"name": "demo-client", "token_sha256": "$tokhash", "permissions": {"demo": ["jwt"]}}
  ],
  "limits": {"max_body_bytes": 65536, "timeout_seconds": 10, "max_connections": 512},
  "audit": {"path": "$state/audit.log"},
  "metrics_public": true
}
JSON

cat <<MSG

hwjose serve — demo
  URL:           http://$listen
  JWKS:          http://$listen/.well-known/jwks.json
  client token:  $tokfile
  config:        $state/config.json   (SIGHUP reloads it)
  audit log:     $state/audit.log     (check: $hwjose audit verify $state/audit.log)

Get a JWT:
  curl -s -H "Authorization: Bearer \$(cat $tokfile)" \\
       -d '{"claims":{"sub":"alice","aud":"demo-api"}}' http://$listen/v1/keys/demo/jwt

Get one and verify it against the JWKS URL (each key there names its alg: no --alg needed):
  curl -s -H "Authorization: Bearer \$(cat $tokfile)" \\
       -d '{"claims":{"sub":"alice","aud":"demo-api"}}' http://$listen/v1/keys/demo/jwt |
    jq -r .jwt | $hwjose jwt verify --jwks-uri http://$listen/.well-known/jwks.json \\
                   --iss http://$listen --aud demo-api

MSG
exec "$hwjose" serve --config "$state/config.json"
