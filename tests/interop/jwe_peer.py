#!/usr/bin/python3
"""jwe_peer.py: python3-jwcrypto as the interop peer of hwjose's JWE tests.

  jwe_peer.py keygen KTY PARAM PRIV.json PUB.json KID   (RSA 2048 | EC P-256)
  jwe_peer.py encrypt PUB.json ALG ENC                  stdin -> compact JWE
  jwe_peer.py decrypt PRIV.json                         stdin -> plaintext
  jwe_peer.py nested-issue SIGN.json SIGNALG RCPT.json ALG ENC ISS AUD
  jwe_peer.py nested-verify RCPT.json SIGNPUB.json ISS AUD      stdin -> claims JSON
"""
import json
import sys
import time

from jwcrypto import jwe, jwk, jwt


def load(path):
    with open(path, encoding="utf-8") as f:
        return jwk.JWK(**json.load(f))


def main(argv):
    cmd, a = argv[1], argv[2:]
    if cmd == "keygen":
        kty, param, priv, pub, kid = a
        k = (jwk.JWK.generate(kty="RSA", size=int(param), kid=kid) if kty == "RSA"
             else jwk.JWK.generate(kty="EC", crv=param, kid=kid))
        with open(priv, "w", encoding="utf-8") as f:
            f.write(k.export_private())
        with open(pub, "w", encoding="utf-8") as f:
            f.write(k.export_public())
    elif cmd == "encrypt":
        pub, alg, enc = a
        e = jwe.JWE(sys.stdin.buffer.read(), protected=json.dumps({"alg": alg, "enc": enc}))
        e.add_recipient(load(pub))
        print(e.serialize(compact=True))
    elif cmd == "decrypt":
        e = jwe.JWE()
        e.deserialize(sys.stdin.read().strip(), key=load(a[0]))
        sys.stdout.buffer.write(e.payload)
    elif cmd == "nested-issue":
        sign, sign_alg, rcpt, alg, enc, iss, aud = a
        now = int(time.time())
        skey = load(sign)
        with open(sign, encoding="utf-8") as f:
            kid = json.load(f).get("kid")
        inner = jwt.JWT(header={"alg": sign_alg, "typ": "JWT", "kid": kid},
                        claims={"iss": iss, "aud": aud, "iat": now, "exp": now + 300})
        inner.make_signed_token(skey)
        outer = jwt.JWT(header={"alg": alg, "enc": enc, "cty": "JWT"},
                        claims=inner.serialize())
        outer.make_encrypted_token(load(rcpt))
        print(outer.serialize())
    elif cmd == "nested-verify":
        rcpt, sign_pub, iss, aud = a
        e = jwe.JWE()
        e.deserialize(sys.stdin.read().strip(), key=load(rcpt))
        if json.loads(e.objects["protected"]).get("cty") != "JWT":
            raise ValueError("cty is not JWT")
        t = jwt.JWT(jwt=e.payload.decode(), key=load(sign_pub),
                    check_claims={"iss": iss, "aud": aud, "exp": None})
        print(t.claims)
    else:
        raise ValueError("unknown command " + cmd)


if __name__ == "__main__":
    try:
        main(sys.argv)
    except Exception as exc:  # the test only needs a message and a status
        sys.stderr.write("jwe_peer.py: %s\n" % exc)
        sys.exit(1)
