#!/usr/bin/env python3
"""notify_sink.py SOCKET OUT: systemd's side of sd_notify(3) for tests. Binds a unix datagram
socket at SOCKET and appends each message received to OUT, messages separated by a line "--".
Exits on SIGTERM or after 600 s."""
import os
import socket
import sys

path, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
s.settimeout(600)
with open(out, "a", buffering=1) as f:
    while True:
        try:
            msg = s.recv(4096)
        except socket.timeout:
            break
        f.write(msg.decode("utf-8", "replace") + "\n--\n")
        os.fsync(f.fileno())
