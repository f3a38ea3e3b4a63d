#!/usr/bin/env python3
"""pem2jwk.py PEM [ALG] [KID]: print the private JWK of an unencrypted PEM key (RSA, EC
P-256/384/521, Ed25519) using only `openssl pkey -text` and the standard library, so that
the CLI tests can open the same key as jwk:PATH and file:PATH. Test helper only."""
import base64
import re
import subprocess
import sys


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def fields(text):
    """name -> bytes for the hex blocks of `openssl pkey -text`; name -> int for 'e'."""
    out, name, buf = {}, None, []
    for line in text.splitlines():
        m = re.match(r"^(\w+):\s*(.*)$", line)
        if m and not line.startswith(" "):
            if name and buf:
                out[name] = bytes.fromhex("".join(buf).replace(":", ""))
            name, buf = m.group(1), []
            rest = m.group(2)
            em = re.match(r"^(\d+) \(0x[0-9a-f]+\)$", rest)
            if em:
                out[name] = int(em.group(1))
                name = None
        elif name and line.startswith(" "):
            buf.append(line.strip())
    if name and buf:
        out[name] = bytes.fromhex("".join(buf).replace(":", ""))
    return out, text


def uint(b):
    b = b.lstrip(b"\0")
    return b if b else b"\0"


def main():
    pem = sys.argv[1]
    alg = sys.argv[2] if len(sys.argv) > 2 and sys.argv[2] else None
    kid = sys.argv[3] if len(sys.argv) > 3 and sys.argv[3] else None
    text = subprocess.run(["openssl", "pkey", "-in", pem, "-text", "-noout"], check=True,
                          capture_output=True, text=True).stdout
    f, raw = fields(text)
    if "modulus" in f:
        e = f["publicExponent"]
        jwk = {"kty": "RSA", "n": b64u(uint(f["modulus"])),
               "e": b64u(e.to_bytes((e.bit_length() + 7) // 8, "big")),
               "d": b64u(uint(f["privateExponent"])), "p": b64u(uint(f["prime1"])),
               "q": b64u(uint(f["prime2"])), "dp": b64u(uint(f["exponent1"])),
               "dq": b64u(uint(f["exponent2"])), "qi": b64u(uint(f["coefficient"]))}
    elif raw.startswith("ED25519"):
        jwk = {"kty": "OKP", "crv": "Ed25519", "x": b64u(f["pub"]), "d": b64u(f["priv"])}
    else:
        crv = {"P-256": ("P-256", 32), "P-384": ("P-384", 48), "P-521": ("P-521", 66)}
        m = re.search(r"NIST CURVE: (P-\d+)", raw)
        name, size = crv[m.group(1)]
        pub = f["pub"]
        assert pub[0] == 4
        jwk = {"kty": "EC", "crv": name, "x": b64u(pub[1:1 + size]), "y": b64u(pub[1 + size:]),
               "d": b64u(f["priv"].lstrip(b"\0").rjust(size, b"\0"))}
    if alg:
        jwk["alg"] = alg
    if kid:
        jwk["kid"] = kid
    import json
    print(json.dumps(jwk))


if __name__ == "__main__":
    main()
