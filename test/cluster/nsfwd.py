#!/usr/bin/env python3
"""nsfwd.py NETNS LISTEN_PORT TARGET_HOST TARGET_PORT

A TCP forwarder across network namespaces: listens on 127.0.0.1:LISTEN_PORT
inside the named network namespace (/run/netns/NETNS) and forwards each
connection to TARGET_HOST:TARGET_PORT in the namespace this process started
in.  A socket stays in the namespace it was created in, so the listener is
made after setns() into NETNS and every outgoing socket after setns() back.
Lets a component run in a test namespace (kube-proxy programming its own
nftables) reach the test control plane on the host's loopback, without any
address or route in the host's namespace.  Stops on SIGTERM.
"""
import ctypes
import os
import selectors
import signal
import socket
import sys
import threading

CLONE_NEWNET = 0x40000000
libc = ctypes.CDLL(None, use_errno=True)


def setns(fd):
    if libc.setns(fd, CLONE_NEWNET) != 0:
        e = ctypes.get_errno()
        raise OSError(e, "setns: " + os.strerror(e))


def pipe(a, b):
    sel = selectors.DefaultSelector()
    sel.register(a, selectors.EVENT_READ, b)
    sel.register(b, selectors.EVENT_READ, a)
    try:
        while True:
            for key, _ in sel.select():
                data = key.fileobj.recv(65536)
                if not data:
                    return
                key.data.sendall(data)
    except OSError:
        pass
    finally:
        a.close()
        b.close()


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    ns, lport, thost, tport = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    home = os.open("/proc/self/ns/net", os.O_RDONLY)
    target = os.open("/run/netns/" + ns, os.O_RDONLY)
    setns(target)
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", lport))
    ls.listen(64)
    setns(home)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    print("nsfwd: %s 127.0.0.1:%d -> %s:%d" % (ns, lport, thost, tport), flush=True)
    while True:
        c, _ = ls.accept()
        try:
            t = socket.create_connection((thost, tport), timeout=10)
            t.settimeout(None)
        except OSError as e:
            print("nsfwd: connect %s:%d: %s" % (thost, tport, e), flush=True)
            c.close()
            continue
        threading.Thread(target=pipe, args=(c, t), daemon=True).start()


if __name__ == "__main__":
    main()
