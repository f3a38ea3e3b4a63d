#!/usr/bin/env python3
"""gen_roca.py: RSA test keys with and without the ROCA fingerprint (CVE-2017-15361).

The flawed Infineon RSALib generator made primes of the form
    p = k * M + (65537^a mod M)
with M the product of the first n primes (Nemec et al., "The Return of Coppersmith's Attack",
CCS 2017, section 2.3: n = 39 for 512-960-bit keys, 71 up to 1952 bits, 126 up to 3936 bits,
225 up to 4096 bits). This script makes keys with exactly that structure (so N = p*q is a
power of 65537 modulo M), a control key of two ordinary random primes, and a number that
passes the per-prime fingerprint but not the exact test (its discrete logs disagree).

Deterministic (seeded), python3 standard library only. Run from this folder:
    python3 gen_roca.py
It rewrites the *.jwk, roca.jwks and bn.txt files beside it. The keys protect nothing.
"""
import base64
import json
import random

E = 65537
RNG = random.Random(15361)  # CVE-2017-15361


def first_primes(n):
    out, c = [], 2
    while len(out) < n:
        if all(c % p for p in out if p * p <= c):
            out.append(c)
        c += 1
    return out


def is_prime(n, rounds=40):
    if n < 2:
        return False
    for p in first_primes(60):
        if n % p == 0:
            return n == p
    d, s = n - 1, 0
    while d % 2 == 0:
        d //= 2
        s += 1
    for _ in range(rounds):
        x = pow(RNG.randrange(2, n - 1), d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = x * x % n
            if x == n - 1:
                break
        else:
            return False
    return True


def primorial(n):
    m = 1
    for p in first_primes(n):
        m *= p
    return m


def roca_prime(bits, nprimes):
    """A prime of `bits` bits of the RSALib form k*M + (65537^a mod M)."""
    m = primorial(nprimes)
    while True:
        a = RNG.randrange(1, 1 << 64)
        k = RNG.randrange(1 << (bits - m.bit_length() - 1), 1 << (bits - m.bit_length()))
        p = k * m + pow(E, a, m)
        if p.bit_length() == bits and (p - 1) % E and is_prime(p):
            return p


def random_prime(bits):
    while True:
        p = RNG.getrandbits(bits) | (3 << (bits - 2)) | 1
        if (p - 1) % E and is_prime(p):
            return p


def b64u(n):
    return base64.urlsafe_b64encode(n.to_bytes((n.bit_length() + 7) // 8, "big")).rstrip(b"=").decode()


def jwk(p, q, kid, private=True):
    n, phi = p * q, (p - 1) * (q - 1)
    d = pow(E, -1, phi)
    k = {"kty": "RSA", "kid": kid, "n": b64u(n), "e": b64u(E)}
    if private:
        k.update(d=b64u(d), p=b64u(p), q=b64u(q), dp=b64u(d % (p - 1)), dq=b64u(d % (q - 1)),
                 qi=b64u(pow(q, -1, p)))
    return k


# The published per-prime test (the detector's), and the exact one (one exponent for all of M).
SMALL = first_primes(39)[1:]  # 3..167


def dlog(r, p):
    x, g = 0, 1
    while True:
        if g == r % p:
            return x
        x, g = x + 1, g * E % p
        if g == 1:
            return None


def order(p):
    x, g = 1, E % p
    while g != 1:
        x, g = x + 1, g * E % p
    return x


def fingerprint(n):
    return all(dlog(n, p) is not None for p in SMALL)


def exact(n):
    from math import gcd
    xs = [dlog(n, p) for p in SMALL]
    if None in xs:
        return False
    os = [order(p) for p in SMALL]
    return all(xs[i] % gcd(os[i], os[j]) == xs[j] % gcd(os[i], os[j])
               for i in range(len(SMALL)) for j in range(i + 1, len(SMALL)))


def fingerprint_only(bits):
    """An odd number of `bits` bits whose residue mod each small prime is a power of 65537, the
    exponents chosen independently so that no single exponent fits them all."""
    from math import prod
    m = prod(SMALL)
    while True:
        n = 0
        for p in SMALL:
            r = pow(E, RNG.randrange(order(p)), p)
            mp = m // p
            n = (n + r * mp * pow(mp, -1, p)) % m
        n += m * RNG.randrange(1 << (bits - m.bit_length() - 1), 1 << (bits - m.bit_length()))
        n = n if n % 2 else n + m  # m is odd: the residues stay
        if fingerprint(n) and not exact(n):
            return n


def write(name, obj):
    with open(name, "w") as f:
        json.dump(obj, f, indent=1)
        f.write("\n")


def main():
    vuln = {}
    for bits, nprimes in ((2048, 126), (4096, 225)):
        p, q = roca_prime(bits // 2, nprimes), roca_prime(bits // 2, nprimes)
        assert fingerprint(p * q) and exact(p * q)
        vuln[bits] = p * q
        write("roca-rsa%d.jwk" % bits, jwk(p, q, "roca-%d" % bits))
        write("roca-rsa%d.pub.jwk" % bits, jwk(p, q, "roca-%d" % bits, private=False))
    p, q = random_prime(1024), random_prime(1024)
    assert not fingerprint(p * q)
    control = p * q
    write("control-rsa2048.jwk", jwk(p, q, "control-2048"))
    write("control-rsa2048.pub.jwk", jwk(p, q, "control-2048", private=False))
    with open("roca-rsa2048.pub.jwk") as f:  # a set with one bad key among good ones
        write("roca.jwks", {"keys": [jwk(p, q, "control-2048", private=False), json.load(f)]})
    near = fingerprint_only(2048)
    with open("bn.txt", "w") as f:
        f.write("# hex modulus, then 1 (ROCA) or 0; written by gen_roca.py\n")
        f.write("%x 1\n%x 1\n%x 0\n%x 0\n" % (vuln[2048], vuln[4096], control, near))


if __name__ == "__main__":
    main()
