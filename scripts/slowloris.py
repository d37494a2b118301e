#!/usr/bin/env python3
"""Slowloris against a mail server: opens COUNT connections and drips one byte every DRIP
seconds on each (a command line that never ends), prints "ready N" once all are open, and
reports when the server closed each one.

    slowloris.py HOST PORT COUNT DRIP_SECONDS GIVE_UP_SECONDS

Output, last line: "closed N of COUNT; close time after connect p50=… max=… s". A server with
a pre-auth deadline fixed at accept closes every one of them at that deadline however steady
the dripping (THREATS.md LOAD-03).
"""
import selectors
import socket
import sys
import time


def main():
    host, port, count, drip, give_up = sys.argv[1:6]
    count, drip, give_up = int(count), float(drip), float(give_up)
    sel = selectors.DefaultSelector()
    opened = {}  # socket -> connected at
    for _ in range(count):
        s = socket.create_connection((host, int(port)), timeout=30)
        s.setblocking(False)
        opened[s] = time.monotonic()
        sel.register(s, selectors.EVENT_READ)
    print(f"ready {len(opened)}", flush=True)
    line = b"a LOGIN " + b"x" * 100000
    lifetimes = []
    started = time.monotonic()
    next_drip, sent = started, 0
    while opened and time.monotonic() - started < give_up:
        now = time.monotonic()
        if now >= next_drip:
            byte = line[sent % len(line):][:1]
            for s in list(opened):
                try:
                    s.send(byte)
                except BlockingIOError:
                    pass
                except OSError:
                    pass  # the read side reports the close
            sent += 1
            next_drip = now + drip
        # A readable socket has a greeting, a reply or the end of the stream.
        for key, _ in sel.select(timeout=max(0.0, min(0.5, next_drip - time.monotonic()))):
            s = key.fileobj
            try:
                gone = s.recv(65536) == b""
            except BlockingIOError:
                gone = False
            except OSError:
                gone = True
            if gone:
                lifetimes.append(time.monotonic() - opened.pop(s))
                sel.unregister(s)
                s.close()
    for s in opened:
        s.close()
    lifetimes.sort()
    if lifetimes:
        p50 = lifetimes[len(lifetimes) // 2]
        print(f"closed {len(lifetimes)} of {count}; close time after connect "
              f"p50={p50:.1f} max={lifetimes[-1]:.1f} s", flush=True)
    else:
        print(f"closed 0 of {count}", flush=True)


main()
