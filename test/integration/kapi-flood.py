#!/usr/bin/env python3
"""kapi-flood.py - an attacker of the kubelet API for test-kapi-exhaust.sh.

  kapi-flood.py anon PORT N READY
      N anonymous TLS keep-alive connections, each sends one GET /pods (no
      client certificate: 401) and keeps the connection; writes the count of
      connections still open after their answer to READY, then holds them
      until killed.
  kapi-flood.py flood PORT IDLE UPLOADS READY
      UPLOADS anonymous TLS connections that each POST a 1 MiB body slowly
      (64 KiB every 0.1 s, the last byte never, then silence), then IDLE
      plain TCP connects that never send a byte; source addresses spread over
      127.0.1.0/24 (per-address limits are not what this tests).  Writes a
      summary line to READY once everything was sent, then holds all
      connections until killed.
  kapi-flood.py trickle PORT LIMIT
      one TLS connection that sends its request head one byte a second;
      prints how many seconds passed until the server closed it and exits 0
      if it did within LIMIT seconds, 1 otherwise.
  kapi-flood.py certwait PORT CERT KEY READY GO
      a TLS connection with the client certificate CERT; creates READY once
      the handshake is done, waits for the file GO, then sends GET /pods and
      prints the status line of the answer (or why there is none).
  kapi-flood.py bigpost PORT
      POST with a Content-Length of 1 MiB, no body sent; prints the status
      line the server answers with within 5 s (or "no answer").
"""
import os
import socket
import ssl
import sys
import threading
import time

HOST = "127.0.0.1"
MIB = 1 << 20


def tls_ctx():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def tcp(port, src=None, timeout=10):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    if src:
        s.bind((src, 0))
    s.connect((HOST, port))
    return s


def tls(port, src=None, timeout=10):
    return tls_ctx().wrap_socket(tcp(port, src, timeout), server_hostname="localhost")


def hold():
    while True:
        time.sleep(3600)


def anon(port, n, ready):
    conns, open_after = [], 0
    for _ in range(n):
        try:
            s = tls(port)
            s.sendall(b"GET /pods HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n")
            s.recv(4096)
            conns.append(s)
        except OSError:
            pass
    time.sleep(0.5)
    for s in conns:
        # still open: a read times out; closed by the server: b"" or an
        # error once the rest of the answer is read
        s.settimeout(0.2)
        try:
            while s.recv(4096) != b"":
                pass
        except socket.timeout:
            open_after += 1
        except OSError:
            pass
    with open(ready, "w") as f:
        f.write("%d\n" % open_after)
    hold()


def uploader(port, src, done):
    try:
        s = tls(port, src, timeout=30)
        s.sendall(b"POST /exec/default/victim/main?command=pause HTTP/1.1\r\n"
                  b"Host: x\r\nContent-Type: application/octet-stream\r\n"
                  b"Content-Length: %d\r\n\r\n" % MIB)
        chunk = b"x" * (64 << 10)
        sent = 0
        while sent < MIB - 1:
            n = min(len(chunk), MIB - 1 - sent)
            s.sendall(chunk[:n])
            sent += n
            time.sleep(0.1)
        done.append(s)
    except OSError:
        done.append(None)


def flood(port, idle, uploads, ready):
    done, threads = [], []
    for i in range(uploads):
        t = threading.Thread(target=uploader, args=(port, "127.0.1.%d" % (100 + i % 15), done))
        t.daemon = True
        t.start()
        threads.append(t)
    for t in threads:
        t.join(60)
    idles, refused = [], 0
    for i in range(idle):
        try:
            idles.append(tcp(port, "127.0.1.%d" % (1 + i % 30), timeout=2))
        except OSError:
            refused += 1
    cut = sum(1 for s in done if s is None)
    with open(ready, "w") as f:
        f.write("uploads %d (cut by the server %d), idle %d (connect failed %d)\n"
                % (uploads, cut, len(idles), refused))
    hold()


def trickle(port, limit):
    s = tls(port, timeout=1)
    head = b"GET /pods HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 200 + b"\r\n\r\n"
    start = time.monotonic()
    for b in head:
        if time.monotonic() - start > limit:
            break
        try:
            s.sendall(bytes([b]))
            if s.recv(1) == b"":
                break
        except socket.timeout:
            continue
        except OSError:
            break
    took = time.monotonic() - start
    print("%.1f" % took)
    return 0 if took < limit else 1


def bigpost(port):
    s = tls(port, timeout=5)
    s.sendall(b"POST /exec/default/victim/main?command=pause HTTP/1.1\r\nHost: x\r\n"
              b"Content-Length: %d\r\n\r\n" % MIB)
    try:
        line = s.recv(4096).split(b"\r\n")[0].decode()
    except OSError:
        line = ""
    print(line or "no answer")


def certwait(port, cert, key, ready, go):
    ctx = tls_ctx()
    ctx.load_cert_chain(cert, key)
    s = ctx.wrap_socket(tcp(port, timeout=30), server_hostname="localhost")
    open(ready, "w").close()
    deadline = time.monotonic() + 60
    while not os.path.exists(go) and time.monotonic() < deadline:
        time.sleep(0.1)
    try:
        s.sendall(b"GET /pods HTTP/1.1\r\nHost: x\r\n\r\n")
        line = s.recv(4096).split(b"\r\n")[0].decode()
    except OSError as e:
        line = "closed: %s" % e
    print(line or "closed")


def main(argv):
    mode, port = argv[1], int(argv[2])
    if mode == "anon":
        anon(port, int(argv[3]), argv[4])
    elif mode == "flood":
        flood(port, int(argv[3]), int(argv[4]), argv[5])
    elif mode == "trickle":
        return trickle(port, float(argv[3]))
    elif mode == "bigpost":
        bigpost(port)
    elif mode == "certwait":
        certwait(port, argv[3], argv[4], argv[5], argv[6])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
