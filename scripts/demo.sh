#!/usr/bin/env bash
# The demo: install what is needed, build, create a SoftHSM token with two keys generated
# inside it, issue a JWT signed in the token, verify it against the JWKS exported from the
# token; then the nested flow (sign, encrypt to the receiver's token key, decrypt in the
# token, verify). Safe to re-run: the token and its keys are reused.
#
# Environment (for tests; a new user needs neither):
#   HWJOSE=PATH      use this hwjose binary; skips install-deps.sh and the build
#   HWJ_DEMO_DIR=DIR the token's folder (default tokens/softhsm/; made by softhsm-token.sh)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
dir=${HWJ_DEMO_DIR:-$top/tokens/softhsm}
case $dir in /*) ;; *) dir=$PWD/$dir ;; esac
cd "$top"

if [ -n "${HWJOSE:-}" ]; then
    [ -x "$HWJOSE" ] || { echo "demo.sh: HWJOSE=$HWJOSE is not an executable" >&2; exit 2; }
    echo "demo.sh: using HWJOSE=$HWJOSE (set in the environment: no install, no build)" >&2
else
    "$top/scripts/install-deps.sh"
    # HWJ_BUILD_TESTS is left as it is (default ON; only hwjose-cli is built here), so the demo
    # never turns tests off in a build/ that scripts/test.sh or a developer uses.
    cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    cmake --build build -j"$(nproc)" --target hwjose-cli >/dev/null
    export HWJOSE="$top/build/hwjose"
fi

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "SoftHSM token 'hwjose' in ${dir#"$top"/}/ (random PINs in 0600 files)"
# (assigned first: `eval "$(cmd)"` would carry on under set -e if cmd failed)
token_env=$(scripts/softhsm-token.sh create "$dir" hwjose --demo-keys)
eval "$token_env"
dir=$(cd "$dir" && pwd)
pin="pin-source=file:$dir/user.pin"
sig="pkcs11:token=hwjose;object=demo-es256?$pin"
enc="pkcs11:token=hwjose;object=demo-enc?$pin"
out="$dir/demo"
mkdir -p "$out"

step "hwjose keys: what the token holds, and its custody facts"
"$HWJOSE" keys --token "pkcs11:token=hwjose?$pin"

step "Public JWKS exported from the token"
"$HWJOSE" jwks --key "$sig" | tee "$out/jwks.json"

step "Issue a JWT signed inside the token (ES256)"
"$HWJOSE" jwt issue --key "$sig" --iss https://issuer.example --aud demo-api --sub alice \
    --exp 15m --claim 'scope="read"' | tee "$out/token.jwt"

step "Verify it against the exported JWKS"
"$HWJOSE" jwt verify --jwks "$out/jwks.json" --alg ES256 --iss https://issuer.example \
    --aud demo-api <"$out/token.jwt"

step "A wrong audience is refused (exit 1)"
if "$HWJOSE" jwt verify --jwks "$out/jwks.json" --alg ES256 --iss https://issuer.example \
    --aud other-api <"$out/token.jwt"; then
    echo "demo: the wrong audience was accepted" >&2
    exit 1
fi

step "Nested JWT: signed in the token, encrypted to the receiver's token key (RSA-OAEP-256)"
"$HWJOSE" jwks --key "$enc" | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["keys"][0]))' \
    >"$out/receiver.jwk"
"$HWJOSE" jwt issue --key "$sig" --iss https://issuer.example --aud demo-api --sub alice \
    --encrypt-to "$out/receiver.jwk" --enc A256GCM | tee "$out/nested.jwe"

step "Decrypt inside the receiver's token, verify the inner JWT"
"$HWJOSE" jwt verify --jwks "$out/jwks.json" --alg ES256 --iss https://issuer.example \
    --aud demo-api --decrypt-key "$enc" <"$out/nested.jwe"

step "Done: both private keys stayed inside SoftHSM"
