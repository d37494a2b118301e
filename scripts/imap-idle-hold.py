#!/usr/bin/env python3
"""Holds N IMAP sessions in IDLE (for memory-per-session measurements), over implicit TLS or
plaintext: logs in USER_PREFIX<n>, selects INBOX, sends IDLE, prints "ready N", then waits
until standard input closes.

    imap-idle-hold.py HOST PORT USER_PREFIX PASSWORD COUNT tls|plain
"""
import socket
import ssl
import sys


def main():
    host, port, prefix, password, count, mode = sys.argv[1:7]
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    held = []
    for n in range(int(count)):
        s = socket.create_connection((host, int(port)), timeout=60)
        if mode == "tls":
            s = ctx.wrap_socket(s)
        f = s.makefile("rb")
        f.readline()
        for tag, line in ((b"a", b"a LOGIN %s%d %s\r\n" % (prefix.encode(), n, password.encode())),
                          (b"b", b"b SELECT INBOX\r\n")):
            s.sendall(line)
            while not f.readline().startswith(tag + b" "):
                pass
        s.sendall(b"c IDLE\r\n")
        if not f.readline().startswith(b"+"):
            raise SystemExit(f"session {n}: IDLE refused")
        held.append((s, f))
    print(f"ready {len(held)}", flush=True)
    sys.stdin.read()


main()
