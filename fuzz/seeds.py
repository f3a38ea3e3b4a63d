#!/usr/bin/env python3
"""seeds.py: writes the non-generated seeds (fuzz/corpus/<target>/rfc-* and hand-*):
the RFC 7520 cookbook (and RFC 7797, RFC 8037) outputs and keys, and hand-written inputs
for the edges (alg none, crit, nesting, big numbers, configs, requests).
Usage: fuzz/seeds.py CONFORMANCE_DIR CORPUS_DIR   (gen-* seeds: fuzz/mkseeds.c)"""
import base64, glob, json, os, sys

conf, corpus = sys.argv[1], sys.argv[2]
n = 0


def put(target, data, prefix="hand"):
    global n
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(corpus, target, "%s-%03d" % (prefix, n)), "wb") as f:
        f.write(data)
    n += 1


def b64(b):
    if isinstance(b, str):
        b = b.encode()
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def walk_keys(o, out):
    if isinstance(o, dict):
        if "kty" in o:
            out.append(o)
        for v in o.values():
            walk_keys(v, out)
    elif isinstance(o, list):
        for v in o:
            walk_keys(v, out)


keys = []
for f in sorted(glob.glob(conf + "/**/*.json", recursive=True)):
    d = json.load(open(f))
    walk_keys(d, keys)
    if not isinstance(d, dict):
        continue
    kind = "jwe" if ("/jwe/" in f or "ecdh" in f) else "jws"
    if "6.nesting" in f:
        for part in (d.get("sign", {}), d.get("encrypt", {})):
            for fmt, v in (part.get("output") or {}).items():
                put("jwe" if part is d.get("encrypt") else "jws_compact" if fmt == "compact"
                    else "jws_json", v if isinstance(v, str) else json.dumps(v), "rfc")
        continue
    for fmt, v in (d.get("output") or {}).items():
        if v is None:
            continue
        if kind == "jwe":
            put("jwe", v if isinstance(v, str) else json.dumps(v), "rfc")
        elif fmt == "compact":
            put("jws_compact", v, "rfc")
        else:
            put("jws_json", json.dumps(v), "rfc")
seen = set()
for k in keys:
    s = json.dumps(k, sort_keys=True)
    if s not in seen:
        seen.add(s)
        put("jwk", json.dumps(k), "rfc")
put("jwk", json.dumps({"keys": [k for k in keys if k["kty"] != "oct"][:4]}), "rfc")

# JWS/JWT edges: none, crit, b64, odd headers, big/odd numbers.
hdrs = [{"alg": "none"}, {"alg": "HS256", "crit": ["exp"], "exp": 1},
        {"alg": "HS256", "crit": ["b64"], "b64": False}, {"alg": "ES256", "kid": "x", "jwk": {}},
        {"alg": "RS256", "crit": []}, {"alg": "EdDSA", "zip": "DEF"}, {"alg": "HS256", "typ": "at+jwt"}]
claims = [{"iss": "https://issuer.test", "aud": ["svc-a"], "exp": 1700000600, "iat": 1700000000,
           "nbf": 1.7e9, "sub": "alice"}, {"iss": "https://issuer.test", "aud": "svc-a",
           "exp": 1e400}, {"exp": -9223372036854775808, "iat": 18446744073709551616}]
for h in hdrs:
    for c in claims:
        tok = b64(json.dumps(h)) + "." + b64(json.dumps(c)) + "." + b64(b"\0" * 64)
        put("jwt", tok)
        put("jws_compact", tok)
    put("jws_json", json.dumps({"payload": b64("x"), "signatures": [
        {"protected": b64(json.dumps(h)), "header": {"kid": "k"}, "signature": ""}]}))
put("jws_json", json.dumps({"payload": "", "protected": b64('{"alg":"HS256"}'),
                             "header": {"alg": "HS256"}, "signature": b64("s")}))
put("jws_compact", "..")
put("jws_compact", "e30.e30.")
put("jwe", "....")
put("jwe", json.dumps({"protected": b64('{"enc":"A128GCM"}'), "recipients": [
    {"header": {"alg": "dir"}}, {"header": {"alg": "PBES2-HS256+A128KW", "p2c": 4294967296,
                                             "p2s": "AAAA"}}], "iv": "", "ciphertext": "",
    "tag": ""}))
put("jwe", b64(json.dumps({"alg": "ECDH-ES", "enc": "A128GCM", "epk": {
    "kty": "EC", "crv": "P-256", "x": b64(b"\0" * 32), "y": b64(b"\0" * 32)}})) + "...AA.AA")
put("jwk", '{"kty":"RSA","n":"AQAB","e":"AQAB"}')
put("jwk", '{"kty":"EC","crv":"P-256","x":"AA","y":"AA","d":"AA"}')
put("jwk", '{"kty":"oct","k":"","key_ops":["sign","sign"],"use":"enc"}')
put("jwk", '{"kty":"OKP","crv":"Ed25519","x":"' + b64(b"\1" + b"\0" * 31) + '"}')
put("jwk", '{"keys":[{"kty":"oct","k":"AAAA","kid":"a"},{"kty":"oct","k":"AAAA","kid":"a"}]}')

# Service config.
base = {"listen": "127.0.0.1:8443", "keys": [{"name": "k1", "uri": "file:/nonexistent.pem",
        "alg": "ES256", "state": "active", "ttl": "5m", "max_ttl": "1h", "iss": "https://i",
        "aud": ["a", "b"]}, {"name": "enc", "uri": "pkcs11:token=t;object=o", "alg": "RSA-OAEP-256",
        "state": "retiring"}], "clients": [{"name": "alice", "token_sha256": "00" * 32,
        "permissions": {"*": ["jwt", "sign"], "enc": ["decrypt"]}}], "limits": {
        "max_body_bytes": 1024, "timeout_seconds": 5, "max_connections": 64},
        "audit": {"path": "/tmp/a.log", "fsync": True}, "jwks_max_age": 60}
put("server_config", json.dumps(base, indent=1))
tls = dict(base, listen="[::]:443", tls={"cert": "c.pem", "key": "k.pem", "client_ca": "ca.pem",
           "mtls": "optional"}, clients=[{"name": "b", "mtls_subject": "CN=b,O=E",
           "permissions": {"k1": ["jwt"]}}], workers=4, metrics_public=True)
put("server_config", json.dumps(tls))
put("server_config", json.dumps(dict(base, listen="0.0.0.0:1", allow_plain_http_non_loopback=True)))
put("server_config", '{"listen":"127.0.0.1:0","keys":[],"clients":[],"audit":{}}')

# Service requests: flags byte (1 POST, 2 good token, 4 bad token), path, '\n', body.
def req(flags, path, body=""):
    put("server_request", bytes([flags]) + path.encode() + b"\n" + body.encode())


req(3, "/v1/keys/sig/jwt", '{"claims":{"aud":"svc-a","sub":"bob","x":[1,{"y":null}]},"ttl":60}')
req(3, "/v1/keys/open/jwt", '{"claims":{"iss":"me","aud":["a","b"]}}')
req(3, "/v1/keys/sig/jwt", '{"claims":{"aud":"svc-a","exp":1}}')
req(3, "/v1/keys/open/sign", '{"payload":"' + b64("hello") + '","header":{"typ":"x"}}')
req(3, "/v1/keys/sig/sign", '{"payload":"","header":{"kid":"no"}}')
req(3, "/v1/keys/rsa/sign", '{"payload":"AA"}')
req(3, "/v1/keys/dec/decrypt", '{"jwe":"' + b64('{"alg":"RSA-OAEP-256","enc":"A128GCM"}') + '.AA.AA.AA.AA"}')
req(3, "/v1/keys/ecdh/decrypt", '{"jwe":"e30...."}')
req(3, "/v1/keys/nope/jwt", "{}")
req(1, "/v1/keys/sig/jwt", "{}")
req(5, "/v1/keys/sig/jwt", "{}")
req(2, "/v1/keys/sig/jwt", "")
req(3, "/v1/keys/sig/jwt", "[1,2")
for p in ("/.well-known/jwks.json", "/v1/keys", "/healthz", "/metrics", "/v1/keys/sig/",
          "/%2e%2e/x?y=1#z"):
    req(0, p)
    req(2, p)
# Real JWEs (the gen-* seeds, fuzz/mkseeds.c) for the service's decryption keys.
for f in sorted(glob.glob(os.path.join(corpus, "jwe", "gen-*"))):
    tok = open(f).read()
    if tok.startswith("{"):
        continue
    hdr = json.loads(base64.urlsafe_b64decode(tok.split(".")[0] + "=="))
    name = {"RSA-OAEP-256": "dec", "ECDH-ES+A128KW": "ecdh"}.get(hdr["alg"])
    if name:
        req(3, "/v1/keys/%s/decrypt" % name, json.dumps({"jwe": tok}))
print("wrote", n, "seeds")
