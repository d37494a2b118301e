#!/usr/bin/env python3
"""Holds N IMAP sessions in IDLE (for memory-per-session measurements), over implicit TLS or
plaintext, optionally compressed (COMPRESS=DEFLATE, RFC 4978, after login): logs in
USER_PREFIX<n>, selects INBOX, sends IDLE, prints "ready N", then waits until standard input
closes.

    imap-idle-hold.py HOST PORT USER_PREFIX PASSWORD COUNT tls|plain [deflate]
"""
import socket
import ssl
import sys
import zlib


class Session:
    """One connection; after `deflate()` both directions are raw DEFLATE."""

    def __init__(self, sock):
        self.sock = sock
        self.pending = b""
        self.deflater = None
        self.inflater = None

    def send(self, data):
        if self.deflater is not None:
            data = self.deflater.compress(data) + self.deflater.flush(zlib.Z_SYNC_FLUSH)
        self.sock.sendall(data)

    def line(self):
        while b"\n" not in self.pending:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise SystemExit("connection closed")
            if self.inflater is not None:
                chunk = self.inflater.decompress(chunk)
            self.pending += chunk
        line, _, self.pending = self.pending.partition(b"\n")
        return line + b"\n"

    def command(self, tag, line):
        self.send(line)
        while True:
            answer = self.line()
            if answer.startswith(tag + b" "):
                return answer

    def deflate(self):
        # Raw DEFLATE, "without any zlib header" (RFC 4978 §4).
        self.deflater = zlib.compressobj(wbits=-15)
        self.inflater = zlib.decompressobj(wbits=-15)


def main():
    host, port, prefix, password, count, mode = sys.argv[1:7]
    compress = sys.argv[7:8] == ["deflate"]
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    held = []
    for n in range(int(count)):
        s = socket.create_connection((host, int(port)), timeout=60)
        if mode == "tls":
            s = ctx.wrap_socket(s)
        session = Session(s)
        session.line()
        login = b"a LOGIN %s%d %s\r\n" % (prefix.encode(), n, password.encode())
        if not session.command(b"a", login).startswith(b"a OK"):
            raise SystemExit(f"session {n}: login failed")
        if compress:
            if not session.command(b"z", b"z COMPRESS DEFLATE\r\n").startswith(b"z OK"):
                raise SystemExit(f"session {n}: COMPRESS refused")
            session.deflate()
        session.command(b"b", b"b SELECT INBOX\r\n")
        session.send(b"c IDLE\r\n")
        if not session.line().startswith(b"+"):
            raise SystemExit(f"session {n}: IDLE refused")
        held.append(session)
    print(f"ready {len(held)}", flush=True)
    sys.stdin.read()


main()
