#!/usr/bin/env python3
"""A normal IMAP client's latency: ROUNDS sequential sessions of connect, greeting, LOGIN,
SELECT INBOX, NOOP, LOGOUT against HOST:PORT as USER/PASSWORD; prints p50 and p99 of the
whole session in milliseconds.

    latency-probe.py HOST PORT USER PASSWORD ROUNDS
"""
import socket
import sys
import time


def session(host, port, user, password):
    s = socket.create_connection((host, port), timeout=30)
    f = s.makefile("rb")
    f.readline()
    for tag, cmd in ((b"a", b"LOGIN %s %s" % (user, password)), (b"b", b"SELECT INBOX"),
                     (b"c", b"NOOP"), (b"d", b"LOGOUT")):
        s.sendall(tag + b" " + cmd + b"\r\n")
        while True:
            line = f.readline()
            if not line:
                raise SystemExit(f"closed during {cmd!r}")
            if line.startswith(tag + b" "):
                if not line.startswith(tag + b" OK"):
                    raise SystemExit(f"{cmd!r}: {line!r}")
                break
    s.close()


def main():
    host, port, user, password, rounds = sys.argv[1:6]
    times = []
    for _ in range(int(rounds)):
        t = time.monotonic()
        session(host, int(port), user.encode(), password.encode())
        times.append((time.monotonic() - t) * 1000)
    times.sort()
    p50 = times[len(times) // 2]
    p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
    print(f"sessions={len(times)} p50_ms={p50:.2f} p99_ms={p99:.2f}", flush=True)


main()
