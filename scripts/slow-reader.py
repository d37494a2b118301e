#!/usr/bin/env python3
"""A slow IMAP reader (THREATS.md LOAD-04): logs in, selects INBOX, sends
`FETCH 1:* BODY[]` and reads the answer at RATE octets per second for SECONDS, then closes.
Prints the octets read.

    slow-reader.py HOST PORT USER PASSWORD RATE SECONDS
"""
import socket
import sys
import time


def main():
    host, port, user, password, rate, seconds = sys.argv[1:7]
    rate, seconds = int(rate), float(seconds)
    s = socket.create_connection((host, int(port)), timeout=60)
    # A small receive buffer, so the kernel does not read far ahead on the client's behalf.
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
    f = s.makefile("rb")
    f.readline()
    for tag, cmd in ((b"a", b"LOGIN %s %s" % (user.encode(), password.encode())),
                     (b"b", b"SELECT INBOX")):
        s.sendall(tag + b" " + cmd + b"\r\n")
        while not f.readline().startswith(tag + b" "):
            pass
    s.sendall(b"c FETCH 1:* BODY[]\r\n")
    total = 0
    started = time.monotonic()
    tick = 0.1
    while time.monotonic() - started < seconds:
        chunk = s.recv(int(rate * tick))
        if not chunk:
            break
        total += len(chunk)
        time.sleep(tick)
    print(f"read {total} octets in {time.monotonic() - started:.0f} s", flush=True)
    s.close()


main()
