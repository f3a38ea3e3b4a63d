#!/usr/bin/python3
"""rawhttp.py: a small HTTP/1.x client for the protocol cases curl will not make.

    rawhttp.py [--tls --cafile CA] [--timeout S] PORT ACTION...

One connection to 127.0.0.1:PORT (optionally TLS), then the ACTIONs in order; prints one JSON
object on stdout and exits 0 (the test script judges it with jq), 2 on a usage error.

Actions (ESC: Python string escapes, e.g. \\r\\n, decoded to bytes as latin-1):
  send:ESC        write ESC's bytes (in one sendall)
  sendfile:PATH   write a file's bytes (in one sendall)
  read:N          read N complete responses (1xx interim responses count as one each)
  readhead        read one response's head only (the answer to HEAD: no body follows)
  quiet:S         wait S seconds; then the bytes received but not read (none expected) are
                  counted in "extra" (and stay in the buffer)
  eof:S           wait up to S seconds for the server to close (FIN or RST)
  sleep:S         sleep S seconds
  mark:PATH       create the file PATH (tells the test script this point was reached)
  waitfile:PATH   wait (up to the overall deadline) until the file PATH exists

Output: {"responses": [{"status", "reason", "version", "headers": {lower-case name: value},
"body"}], "eof": bool, "eof_after": seconds from the start of the eof action, "extra": bytes,
"elapsed": seconds from connect to the end, "error": text or null}. Every wait is bounded by
--timeout (default 5 s) per read and by a 30 s overall deadline.
"""
import codecs
import json
import os
import socket
import ssl
import sys
import time


class Closed(Exception):
    pass


class Conn:
    def __init__(self, port, tls, cafile, timeout):
        self.timeout = timeout
        self.deadline = time.monotonic() + 30
        s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        if tls:
            ctx = ssl.create_default_context(cafile=cafile)
            ctx.check_hostname = False  # the test certificate names IP:127.0.0.1
            s = ctx.wrap_socket(s, server_hostname="127.0.0.1")
        self.s = s
        self.buf = b""
        self.closed = False

    def _wait(self, limit):
        left = min(limit, self.deadline - time.monotonic())
        if left <= 0:
            raise TimeoutError("deadline")
        self.s.settimeout(left)

    def fill(self, limit=None):
        """Read more bytes into buf; Closed on EOF or reset; TimeoutError on timeout."""
        if self.closed:
            raise Closed()
        self._wait(self.timeout if limit is None else limit)
        try:
            data = self.s.recv(65536)
        except (ConnectionResetError, BrokenPipeError, ssl.SSLEOFError, ssl.SSLZeroReturnError):
            data = b""
        except ssl.SSLError as e:  # a TLS alert or a torn record: the peer is gone
            if "timed out" in str(e):
                raise TimeoutError(str(e))
            data = b""
        if not data:
            self.closed = True
            raise Closed()
        self.buf += data

    def line(self):
        while b"\r\n" not in self.buf:
            if len(self.buf) > 1 << 20:
                raise ValueError("line too long")
            self.fill()
        ln, self.buf = self.buf.split(b"\r\n", 1)
        return ln.decode("latin-1")

    def take(self, n):
        while len(self.buf) < n:
            self.fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def response(self, head_only):
        status_line = self.line()
        parts = status_line.split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/"):
            raise ValueError("bad status line %r" % status_line)
        status = int(parts[1])
        headers = {}
        while True:
            ln = self.line()
            if not ln:
                break
            name, _, value = ln.partition(":")
            name = name.strip().lower()
            value = value.strip()
            # repeated headers: keep them all, comma-joined
            headers[name] = headers[name] + ", " + value if name in headers else value
        body = b""
        no_body = head_only or status < 200 or status in (204, 304)
        if not no_body:
            if "chunked" in headers.get("transfer-encoding", "").lower():
                while True:
                    size = int(self.line().split(";")[0], 16)
                    if size == 0:
                        while self.line():
                            pass
                        break
                    body += self.take(size)
                    self.take(2)
            elif "content-length" in headers:
                body = self.take(int(headers["content-length"].split(",")[0]))
            else:  # delimited by the close
                try:
                    while True:
                        self.fill()
                except Closed:
                    pass
                body, self.buf = self.buf, b""
        return {"version": parts[0], "status": status,
                "reason": parts[2] if len(parts) > 2 else "",
                "headers": headers, "body": body.decode("latin-1")}


def main(argv):
    tls, cafile, timeout = False, None, 5.0
    while argv and argv[0].startswith("--"):
        opt = argv.pop(0)
        if opt == "--tls":
            tls = True
        elif opt == "--cafile":
            cafile = argv.pop(0)
        elif opt == "--timeout":
            timeout = float(argv.pop(0))
        else:
            print("unknown option " + opt, file=sys.stderr)
            return 2
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    port = int(argv.pop(0))
    out = {"responses": [], "eof": False, "eof_after": None, "extra": 0, "error": None}
    t0 = time.monotonic()
    conn = None
    try:
        conn = Conn(port, tls, cafile, timeout)
        for act in argv:
            kind, _, arg = act.partition(":")
            if kind == "send":
                data = codecs.decode(arg, "unicode_escape").encode("latin-1")
                conn.s.sendall(data)
            elif kind == "sendfile":
                with open(arg, "rb") as f:
                    conn.s.sendall(f.read())
            elif kind == "read":
                for _ in range(int(arg or 1)):
                    out["responses"].append(conn.response(False))
            elif kind == "readhead":
                out["responses"].append(conn.response(True))
            elif kind == "quiet":
                end = time.monotonic() + float(arg)
                try:
                    while time.monotonic() < end:
                        conn.fill(max(0.01, end - time.monotonic()))
                except (TimeoutError, socket.timeout):
                    pass
                except Closed:
                    out["eof"] = True
                out["extra"] += len(conn.buf)  # unread bytes: none were expected
            elif kind == "eof":
                start = time.monotonic()
                try:
                    while True:
                        conn.fill(max(0.01, start + float(arg) - time.monotonic()))
                        if time.monotonic() - start > float(arg):
                            break
                except Closed:
                    out["eof"] = True
                    out["eof_after"] = round(time.monotonic() - start, 3)
                except (TimeoutError, socket.timeout):
                    pass
                out["extra"] += len(conn.buf)
                conn.buf = b""
            elif kind == "sleep":
                time.sleep(float(arg))
            elif kind == "mark":
                open(arg, "w").close()
            elif kind == "waitfile":
                while not os.path.exists(arg):
                    if time.monotonic() > conn.deadline:
                        raise TimeoutError("waitfile " + arg)
                    time.sleep(0.02)
            else:
                print("unknown action " + act, file=sys.stderr)
                return 2
    except Closed:
        out["eof"] = True
        out["error"] = "closed by the server"
    except (TimeoutError, socket.timeout) as e:
        out["error"] = "timeout: %s" % e
    except (OSError, ValueError) as e:
        out["error"] = "%s: %s" % (type(e).__name__, e)
    finally:
        if conn:
            try:
                conn.s.close()
            except OSError:
                pass
    out["elapsed"] = round(time.monotonic() - t0, 3)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
