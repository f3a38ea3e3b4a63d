# lib.sh: helpers for the provider tests (source it). Needs $dir and $HWJ_PROVIDER_DIR.
# Sets $cnf, an openssl.cnf that loads the default provider, then hwjose (the way docs/
# openssl-provider.md tells a user to); `po` runs openssl with it, plain `openssl` runs without.
fails=${fails:-0}
check() { # check DESCRIPTION COMMAND...
  local what=$1; shift
  if "$@" >/dev/null 2>&1; then echo "ok   - $what"; else echo "FAIL - $what"; fails=$((fails + 1)); fi
}

cnf=$dir/openssl.cnf
cat >"$cnf" <<CNF
openssl_conf = openssl_init
[openssl_init]
providers = provider_sect
[provider_sect]
default = default_sect
hwjose = hwjose_sect
[default_sect]
activate = 1
[hwjose_sect]
module = $HWJ_PROVIDER_DIR/hwjose.so
activate = 1
CNF
# In a sanitized build the module needs the sanitizer runtime preloaded ($HWJ_PROVIDER_PRELOAD);
# openssl itself is not ours, so its leaks at exit are not checked.
if [ -n "${HWJ_PROVIDER_PRELOAD:-}" ]; then
  po() { ${PO_EXEC:+exec} timeout 60 env OPENSSL_CONF="$cnf" LD_PRELOAD="$HWJ_PROVIDER_PRELOAD" \
    ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" openssl "$@"; }
else
  po() { ${PO_EXEC:+exec} timeout 60 env OPENSSL_CONF="$cnf" openssl "$@"; }
fi
export cnf
export -f po # for checks run under bash -c

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# sign_verify NAME KEYURI PUBKEY [pkeyutl options...]: sign through the provider, verify with plain
# OpenSSL and the public key alone; a changed message must not verify.
sign_verify() {
  local name=$1 key=$2 pub=$3; shift 3
  printf 'message for %s\n' "$name" >"$dir/$name.msg"
  check "$name: openssl pkeyutl -sign with the key in the token" \
    po pkeyutl -sign -rawin "$@" -inkey "hwjose:$key" -in "$dir/$name.msg" -out "$dir/$name.sig"
  check "$name: plain OpenSSL verifies it with the public key" \
    timeout 30 openssl pkeyutl -verify -rawin "$@" -pubin -inkey "$pub" -in "$dir/$name.msg" -sigfile "$dir/$name.sig"
  check "$name: ... and through the provider with the key's URI" \
    po pkeyutl -verify -rawin "$@" -inkey "hwjose:$key" -in "$dir/$name.msg" -sigfile "$dir/$name.sig"
  printf 'another message\n' >"$dir/$name.bad"
  check "$name: ... and not over another message" \
    bash -c "! openssl pkeyutl -verify -rawin $* -pubin -inkey '$pub' -in '$dir/$name.bad' -sigfile '$dir/$name.sig'"
}

# sign_digest_verify NAME KEYURI PUBKEY DIGEST [pkeyutl options...]: `openssl pkeyutl -sign` of a
# digest computed beforehand (no -rawin), verified by plain OpenSSL over the same digest.
sign_digest_verify() {
  local name=$1 key=$2 pub=$3 md=$4; shift 4
  printf 'digest input for %s\n' "$name" | openssl dgst "-$md" -binary >"$dir/$name.dgst"
  check "$name: openssl pkeyutl -sign of a digest, key in the token" \
    po pkeyutl -sign -pkeyopt "digest:$md" "$@" -inkey "hwjose:$key" -in "$dir/$name.dgst" \
    -out "$dir/$name.dsig"
  check "$name: plain OpenSSL verifies it" \
    openssl pkeyutl -verify -pkeyopt "digest:$md" "$@" -pubin -inkey "$pub" -in "$dir/$name.dgst" \
    -sigfile "$dir/$name.dsig"
}

# tls_server NAME CERT KEYURI SIGTYPE: openssl s_server with its key in the token, s_client and curl
# over TLS 1.2 and 1.3; SIGTYPE is what TLS 1.3's CertificateVerify must be signed with.
tls_server() {
  local name=$1 cert=$2 key=$3 sigtype=$4 port pid out
  port=$(free_port)
  # PO_EXEC: the background subshell becomes timeout itself, so $! is what kill must stop (else
  # s_server outlived the test by up to 60 s, holding its key, e.g. swtpm's connection and slots)
  PO_EXEC=1 po s_server -accept "127.0.0.1:$port" -cert "$cert" -key "hwjose:$key" -www \
    >"$dir/$name.s_server.log" 2>&1 &
  pid=$!
  for _ in $(seq 100); do grep -q ACCEPT "$dir/$name.s_server.log" && break; sleep 0.05; done
  for v in 1_2 1_3; do
    out=$(echo | timeout 15 openssl s_client -connect "127.0.0.1:$port" -tls$v -CAfile "$cert" \
      -verify_return_error 2>&1) || true
    check "$name: s_client TLS ${v/_/.} handshake verified" grep -q "Verify return code: 0 (ok)" <<<"$out"
    check "$name: s_client TLS ${v/_/.} negotiated" grep -q "^New, TLSv${v/_/.}," <<<"$out"
    [ "$v" = 1_3 ] && check "$name: TLS 1.3 CertificateVerify is $sigtype" \
      grep -q "Peer signature type: $sigtype" <<<"$out"
  done
  check "$name: curl TLS 1.2" timeout 15 curl -sf -o /dev/null --tlsv1.2 --tls-max 1.2 \
    --cacert "$cert" "https://localhost:$port/"
  check "$name: curl TLS 1.3" timeout 15 curl -sf -o /dev/null --tlsv1.3 --cacert "$cert" \
    "https://localhost:$port/"
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
