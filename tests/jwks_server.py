#!/usr/bin/env python3
"""A static JWKS server on a loopback port whose answers a test controls.

    jwks_server.py --port-file PATH [--tls-cert CERT --tls-key KEY]

Binds 127.0.0.1 on a free port and writes the port to PATH (atomically) once it listens;
with --tls-cert/--tls-key it speaks HTTPS only.
Any GET path not starting with /_ is "the JWKS" and is answered from the current state:

    POST /_control  JSON object merged into the state:
        body           the response body (a string)
        status         HTTP status (default 200)
        etag           ETag header value, e.g. "\"v1\"" (null: none); a matching
                       If-None-Match is answered 304
        cache_control  Cache-Control header value (null: none)
        age            Age header value (null: none)
        location       Location header value (for 3xx)
        delay          seconds to wait before answering
        oversize       when > 0, the body is {"keys":[]} padded to this many bytes
        no_length      omit Content-Length (the body ends when the connection closes)
        paths          {PATH: {"body": ..., "status": ...}}: fixed answers for these paths
                       (an issuer's OpenID configuration beside its JWKS)
    POST /_reset    counters to zero
    GET  /_stats    {"requests": n, "not_modified": n, "if_none_match": [values, in order]}
"""
import argparse
import json
import os
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
STATE = {
    "body": '{"keys":[]}',
    "status": 200,
    "etag": None,
    "cache_control": None,
    "age": None,
    "location": None,
    "delay": 0,
    "oversize": 0,
    "no_length": False,
    "paths": {},
}
STATS = {"requests": 0, "not_modified": 0, "if_none_match": []}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def log_message(self, fmt, *args):  # quiet
        pass

    def _send(self, status, body, headers=(), length=True):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        if length:
            self.send_header("Content-Length", str(len(data)))
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b"{}"
        with LOCK:
            if self.path == "/_control":
                STATE.update(json.loads(raw))
            elif self.path == "/_reset":
                STATS.update({"requests": 0, "not_modified": 0, "if_none_match": []})
            else:
                self._send(404, "no such control endpoint\n")
                return
        self._send(200, "{}", [("Content-Type", "application/json")])

    def do_GET(self):
        if self.path == "/_stats":
            with LOCK:
                body = json.dumps(STATS)
            self._send(200, body, [("Content-Type", "application/json")])
            return
        with LOCK:
            st = dict(STATE)
            STATS["requests"] += 1
            inm = self.headers.get("If-None-Match")
            if inm is not None:
                STATS["if_none_match"].append(inm)
            not_modified = st["etag"] is not None and inm == st["etag"]
            if not_modified:
                STATS["not_modified"] += 1
        fixed = st["paths"].get(self.path)
        if fixed is not None:
            self._send(int(fixed.get("status", 200)), fixed.get("body", ""),
                       [("Content-Type", "application/json")])
            return
        if st["delay"]:
            time.sleep(st["delay"])
        headers = [("Content-Type", "application/jwk-set+json")]
        for name, key in (("ETag", "etag"), ("Cache-Control", "cache_control"),
                          ("Age", "age"), ("Location", "location")):
            if st[key] is not None:
                headers.append((name, str(st[key])))
        if not_modified:
            self._send(304, b"", headers, length=False)
            return
        body = st["body"]
        if st["oversize"]:
            body = '{"keys":[]}' + " " * max(0, int(st["oversize"]) - 11)
        try:
            self._send(int(st["status"]), body, headers, length=not st["no_length"])
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client aborted an oversize transfer, as it should


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    args = ap.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    if args.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(tmp, args.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
