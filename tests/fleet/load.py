#!/usr/bin/env python3
"""load.py: load through the balancer, JWKS samples from every replica, and the fleet checks.

  load.py run --lb URL --replica URL... --key NAME --token TOKEN --out FILE
              [--workers 4] [--rate 200] [--seconds 20] [--max-requests 20000] [--interval 0.2]
              [--aud AUD]
      WORKERS threads POST /v1/keys/NAME/jwt through the balancer, RATE requests a second in all
      (0: as fast as they can), until SECONDS have passed or MAX_REQUESTS answers came back, recording each answer's status, times and JWT; meanwhile
      one sampler thread per replica GETs /.well-known/jwks.json from that replica directly at
      the same instants every INTERVAL seconds (a "round"), recording its status, ETag and body.
      Writes everything to FILE as JSON. Loopback only; stdlib only.

  load.py check FILE [--hwjose BIN --iss ISS --aud AUD] [--node-verify SCRIPT] [--sample N]
                [--expect-kids KID,...]
      Exit 1 unless: every answer was 2xx; every JWT's kid is in the JWKS of every replica
      sampled from its iat until min(its exp, the end of the load); a sample of JWTs verifies
      with `hwjose jwt verify --jwks` and with panva/jose (SCRIPT) against a JWKS sampled in its
      window; within a round, every replica that answered served the same ETag (see rounds()).
"""
import argparse
import base64
import hashlib
import http.client
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse


def loopback(url):
    u = urllib.parse.urlsplit(url)
    if u.scheme != "http" or u.hostname not in ("127.0.0.1", "localhost", "::1"):
        sys.exit(f"load.py: {url}: loopback http URLs only")
    return u.hostname, u.port or 80


class Client:
    """One keep-alive connection; reconnects after any error."""

    def __init__(self, url, timeout):
        self.host, self.port = loopback(url)
        self.timeout = timeout
        self.conn = None

    def request(self, method, path, body=None, headers=None):
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            self.conn.request(method, path, body=body, headers=headers or {})
            r = self.conn.getresponse()
            data = r.read()
            if r.getheader("Connection", "").lower() == "close":
                self.close()
            return r.status, dict((k.lower(), v) for k, v in r.getheaders()), data
        except (OSError, http.client.HTTPException) as e:
            self.close()
            return 0, {}, f"{type(e).__name__}: {e}".encode()

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def run(a):
    stop_at = time.time() + a.seconds
    done = threading.Event()
    lock = threading.Lock()
    answers, samples = [], []
    body = json.dumps({"claims": {"aud": a.aud, "sub": "fleet-load"}}).encode()
    headers = {"Authorization": f"Bearer {a.token}", "Content-Type": "application/json"}
    path = f"/v1/keys/{urllib.parse.quote(a.key)}/jwt"

    def worker(i):
        c = Client(a.lb, timeout=10)
        gap = a.workers / a.rate if a.rate > 0 else 0
        next_at = time.time() + i * gap / a.workers
        while not done.is_set():
            if gap:
                time.sleep(max(0.0, next_at - time.time()))
                next_at = max(next_at + gap, time.time() - gap)
            t0 = time.time()
            if t0 >= stop_at:
                break
            status, _, data = c.request("POST", path, body, headers)
            rec = {"t0": t0, "t1": time.time(), "status": status}
            if status == 200:
                try:
                    rec["jwt"] = json.loads(data)["jwt"]
                except (ValueError, KeyError):
                    rec["status"], rec["error"] = -1, "200 without a jwt: " + data[:200].decode("utf-8", "replace")
            else:
                rec["error"] = data[:300].decode("utf-8", "replace")
            with lock:
                answers.append(rec)
                if len(answers) >= a.max_requests:
                    done.set()
        c.close()

    t_base = time.time()

    def sampler(replica):
        c = Client(replica, timeout=1)
        k = 0
        while not done.is_set() and time.time() < stop_at:
            k += 1
            wait = t_base + k * a.interval - time.time()
            if wait > 0:
                time.sleep(wait)
            t0 = time.time()
            status, h, data = c.request("GET", "/.well-known/jwks.json")
            rec = {"round": k, "replica": replica, "t0": t0, "t1": time.time(), "status": status,
                   "etag": h.get("etag"), "body": data.decode("utf-8", "replace")}
            with lock:
                samples.append(rec)
        c.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(a.workers)]
    threads += [threading.Thread(target=sampler, args=(r,)) for r in a.replica]
    for t in threads:
        t.start()
    for t in threads:
        t.join(a.seconds + 30)  # a worker's request is bounded by its socket timeout
    done.set()
    end = time.time()
    out = {"start": t_base, "end": end, "interval": a.interval, "replicas": a.replica,
           "key": a.key, "answers": answers, "samples": samples}
    tmp = a.out + ".tmp"
    with open(tmp, "w") as f:
        json.dump(out, f)
    os.replace(tmp, a.out)
    ok = sum(1 for x in answers if 200 <= x["status"] < 300)
    print(f"load: {len(answers)} answers ({ok} 2xx) in {end - t_base:.1f}s, {len(samples)} JWKS samples")


def b64d(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def jwt_parts(jwt):
    h, p, _ = jwt.split(".")
    return json.loads(b64d(h)), json.loads(b64d(p))


def kids(sample):
    return {k.get("kid") for k in json.loads(sample["body"])["keys"]}


class Report:
    def __init__(self):
        self.fails = 0
        self.facts = {}

    def check(self, what, cond, detail=""):
        print(("ok   - " if cond else "FAIL - ") + what + ("" if cond or not detail else f": {detail}"))
        self.fails += 0 if cond else 1


def rounds(good, rep):
    """Every replica that answered in a round served the same ETag, and the same ETag means the
    same body. No tolerance for store_refresh: publish_delay keeps a new version out of every
    JWKS until every replica has it, so replicas differ only by clock. The one mismatch excused
    is a round whose requests straddle a whole second: the versions' times are whole Unix
    seconds, so the JWKS changes exactly at one, and a round's requests are a few ms apart."""
    by_round = {}
    for s in good:
        by_round.setdefault(s["round"], []).append(s)
    bad, excused, compared = [], 0, 0
    for k, ss in sorted(by_round.items()):
        if len(ss) < 2:
            continue
        compared += 1
        if len({s["etag"] for s in ss}) == 1:
            continue
        lo, hi = min(s["t0"] for s in ss), max(s["t1"] for s in ss)
        if int(lo) != int(hi):
            excused += 1
            continue
        bad.append((k, lo, sorted((s["replica"], s["etag"]) for s in ss)))
    body_of = {}
    clash = 0
    for s in good:
        if body_of.setdefault(s["etag"], s["body"]) != s["body"]:
            clash += 1
    rep.facts.update(rounds_compared=compared, rounds_excused_second_boundary=excused,
                     etags=len(body_of))
    rep.check(f"every replica serves the same ETag in each sample round ({compared} rounds, "
              f"{excused} straddling a second boundary)", not bad, str(bad[:3]))
    rep.check("an ETag always names the same body", clash == 0, f"{clash} samples")
    rep.check("every JWKS answer has an ETag", all(s["etag"] for s in good))


def windows(d, jwts, good, rep):
    """A JWT's kid is in every replica's JWKS from its iat until min(exp, end of the load).
    A sample counts when its request left at or after iat and its answer came before the end."""
    by_window = {}
    for j in jwts:
        h, p = jwt_parts(j)
        by_window.setdefault((h.get("kid"), p["iat"], p["exp"]), []).append(j)
    missing, empty = [], 0
    for (kid, iat, exp), js in by_window.items():
        hi = min(exp, d["end"])
        inside = [s for s in good if s["t0"] >= iat and s["t1"] <= hi]
        if not inside:
            empty += 1
        for s in inside:
            if kid not in kids(s):
                missing.append((kid, iat, s["replica"], round(s["t0"], 3), len(js)))
    rep.facts.update(jwt_windows=len(by_window), jwt_windows_without_sample=empty)
    rep.check(f"every JWT's kid is in every replica's JWKS from iat to min(exp, end) "
              f"({len(by_window)} windows)", not missing, str(missing[:3]))
    return by_window


def pick(by_window, good, n):
    """Up to n (jwt, jwks body) pairs: every kid, spread over time, JWKS from rotating replicas."""
    keys = sorted(by_window, key=lambda w: (w[1], w[0] or ""))
    step = max(1, len(keys) // max(1, n))
    chosen = keys[::step]
    for kid in {w[0] for w in keys}:
        if not any(w[0] == kid for w in chosen):
            chosen.append(next(w for w in keys if w[0] == kid))
    out = []
    for i, (kid, iat, exp) in enumerate(chosen):
        inside = [s for s in good if s["t0"] >= iat and s["t1"] <= exp and kid in kids(s)]
        if inside:
            out.append((by_window[(kid, iat, exp)][0], inside[i % len(inside)]["body"], iat))
    return out


def verify_hwjose(a, pairs, rep):
    bad = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, (jwt, jwks, _) in enumerate(pairs):
            f = os.path.join(tmp, f"jwks{i}.json")
            with open(f, "w") as fh:
                fh.write(jwks)
            # --leeway: the tokens live a few seconds and the check runs after the load
            r = subprocess.run([a.hwjose, "jwt", "verify", "--jwks", f, "--alg", "ES256",
                                "--iss", a.iss, "--aud", a.aud, "--leeway", "3600s"],
                               input=jwt.encode(), capture_output=True, timeout=30)
            if r.returncode != 0:
                bad.append(r.stderr.decode()[:200])
    rep.check(f"hwjose jwt verify accepts {len(pairs)} sampled JWTs against a JWKS of their window",
              pairs and not bad, str(bad[:2]))


def verify_node(a, pairs, rep):
    job = [{"jwt": j, "jwks": json.loads(b), "iat": iat, "iss": a.iss, "aud": a.aud}
           for j, b, iat in pairs]
    r = subprocess.run(["node", a.node_verify], input=json.dumps(job).encode(),
                       capture_output=True, timeout=60)
    out = r.stdout.decode().strip()
    rep.check(f"panva/jose verifies {len(pairs)} sampled JWTs against a JWKS of their window",
              r.returncode == 0 and out == f"verified {len(pairs)}", (out + r.stderr.decode())[:300])


def check(a):
    with open(a.file) as f:
        d = json.load(f)
    rep = Report()
    answers, samples = d["answers"], d["samples"]
    bad = [x for x in answers if not 200 <= x["status"] < 300]
    rep.check(f"{len(answers)} answers through the balancer, none other than 2xx",
              answers and not bad, f"{len(bad)}: " + str([(x['status'], x.get('error')) for x in bad[:3]]))
    good = [s for s in samples if s["status"] == 200]
    for r in d["replicas"]:
        n = sum(1 for s in samples if s["replica"] == r)
        rep.facts[r] = {"samples": n, "failed": n - sum(1 for s in good if s["replica"] == r)}
    jwts = [x["jwt"] for x in answers if "jwt" in x]
    rep.facts.update(answers=len(answers), jwts=len(jwts), kids=sorted(
        {jwt_parts(j)[0].get("kid") for j in jwts}), seconds=round(d["end"] - d["start"], 1))
    rep.check("every JWT header has alg ES256 and a kid",
              all(jwt_parts(j)[0].get("alg") == "ES256" and jwt_parts(j)[0].get("kid") for j in jwts))
    if a.expect_kids:
        seen = set(rep.facts["kids"])
        want = [k for k in a.expect_kids.split(",") if k]
        rep.check(f"each of the {len(want)} expected kids signed JWTs under load",
                  all(k in seen for k in want), f"missing {[k for k in want if k not in seen]}")
    by_window = windows(d, jwts, good, rep)
    rounds(good, rep)
    pairs = pick(by_window, good, a.sample)
    if a.hwjose:
        verify_hwjose(a, pairs, rep)
    if a.node_verify:
        verify_node(a, pairs, rep)
    print("# " + json.dumps(rep.facts, sort_keys=True))
    sys.exit(1 if rep.fails else 0)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="mode", required=True)
    r = sub.add_parser("run")
    r.add_argument("--lb", required=True)
    r.add_argument("--replica", action="append", required=True)
    r.add_argument("--key", required=True)
    r.add_argument("--token", required=True)
    r.add_argument("--out", required=True)
    r.add_argument("--aud", default="svc-a")
    r.add_argument("--workers", type=int, default=4)
    r.add_argument("--rate", type=float, default=200)
    r.add_argument("--seconds", type=float, default=20)
    r.add_argument("--max-requests", type=int, default=20000)
    r.add_argument("--interval", type=float, default=0.2)
    c = sub.add_parser("check")
    c.add_argument("file")
    c.add_argument("--hwjose")
    c.add_argument("--node-verify")
    c.add_argument("--iss")
    c.add_argument("--aud", default="svc-a")
    c.add_argument("--sample", type=int, default=20)
    c.add_argument("--expect-kids", help="comma-separated kids that must each have signed")
    a = p.parse_args()
    if a.mode == "run":
        if not (0 < a.workers <= 16 and 0 < a.seconds <= 120 and 0 < a.max_requests <= 100000
                and a.rate >= 0):
            sys.exit("load.py: keep it bounded: workers ≤ 16, seconds ≤ 120, max-requests ≤ 100000")
        run(a)
    else:
        if a.hwjose and not a.iss:
            sys.exit("load.py: --hwjose needs --iss")
        check(a)


if __name__ == "__main__":
    main()
