#!/usr/bin/env python3
# spdy-seeds.py - write the seed corpora of fuzz_spdy_frames and
# fuzz_spdy_session (test/fuzz/corpus/spdy_*/): an exec and an attach
# session as the API server opens them, in both input forms of
# spdy_input.h (records with clear-text header blocks, and raw bytes with
# header blocks compressed with the SPDY dictionary, read from
# daemon/spdy.c).  Run from the repository root; rewrites the seeds.
import codecs, os, re, struct, zlib

src = open("daemon/spdy.c", encoding="latin-1").read()
lit = src[src.index("xn_spdy_dict[] ="):]
lit = lit[: lit.index(";")]
DICT = b"".join(codecs.escape_decode(s)[0] for s in re.findall(r'"((?:[^"\\]|\\.)*)"', lit))
assert len(DICT) == 1423, len(DICT)

def block(pairs):
    b = struct.pack(">I", len(pairs))
    for k, v in pairs:
        b += struct.pack(">I", len(k)) + k + struct.pack(">I", len(v)) + v
    return b

def streams(cmd):
    # (id, streamtype) as kubectl exec/attach open them: error first
    names = [b"error", b"stdin", b"stdout", b"stderr", b"resize"]
    return [(1 + 2 * i, [(b"streamtype", n), (b"port", b"0")] if n == b"resize" else
             [(b"streamtype", n)]) for i, n in enumerate(names if cmd else names[:4])]

def records(cmd):
    out = b"\x01"
    for sid, hdrs in streams(cmd):
        b = block(hdrs)
        out += b"\x01" + b"\x00" + struct.pack(">IH", sid, len(b)) + b
    data = b"ls -l\n"
    out += b"\x02" + b"\x00" + struct.pack(">IH", 3, len(data)) + data      # stdin
    out += b"\x03" + bytes([6, 0]) + struct.pack(">H", 4) + struct.pack(">I", 1)  # PING 1
    out += b"\x03" + bytes([9, 0]) + struct.pack(">H", 8) + struct.pack(">II", 3, 1000)
    out += b"\x03" + bytes([4, 0]) + struct.pack(">H", 12) + struct.pack(">III", 1, 7, 65536)
    out += b"\x02" + b"\x01" + struct.pack(">IH", 3, 0)                     # stdin FIN
    out += b"\x09" + b"\x01" + struct.pack(">IH", 9, len(block([]))) + block([])
    out += b"\x03" + bytes([3, 0]) + struct.pack(">H", 8) + struct.pack(">II", 5, 5)  # RST
    out += b"\x03" + bytes([7, 0]) + struct.pack(">H", 8) + struct.pack(">II", 9, 0)  # GOAWAY
    return out

def control(t, flags, payload):
    return struct.pack(">HHI", 0x8003, t, flags << 24 | len(payload)) + payload

def raw(cmd):
    z = zlib.compressobj(zdict=DICT)
    out = b"\x00"
    for sid, hdrs in streams(cmd):
        hb = z.compress(block(hdrs)) + z.flush(zlib.Z_SYNC_FLUSH)
        out += control(1, 0, struct.pack(">IIH", sid, 0, 0) + hb)
    out += struct.pack(">II", 3, 6) + b"uptime"
    out += control(6, 0, struct.pack(">I", 1))
    out += struct.pack(">II", 3, 1 << 24)
    return out

for target in ("spdy_frames", "spdy_session"):
    d = "test/fuzz/corpus/" + target
    os.makedirs(d, exist_ok=True)
    # the first byte is the piece size (see the targets), then spdy_input.h's form
    for name, piece, body in (("exec-records", 255, records(True)),
                              ("attach-records", 0, records(False)),
                              ("exec-raw", 255, raw(True)),
                              ("attach-raw-pieces", 2, raw(False))):
        with open(os.path.join(d, name), "wb") as f:
            f.write(bytes([piece]) + body)
