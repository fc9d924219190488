#!/usr/bin/env python3
"""elf-seeds.py OUTDIR - seed kernels for fuzz_image_elf: small ELFs as
unikernels carry their Xen notes (32/64-bit, little and big endian; notes in
a PT_NOTE segment, only in SHT_NOTE sections, or the legacy __xen_guest
string), a bzImage header, an arm64 Image header and a gzip'd kernel."""
import os
import struct
import sys


def notes(e, items):
    out = b""
    for typ, desc in items:
        if isinstance(desc, int):
            desc = struct.pack(e + "I", desc)
        out += struct.pack(e + "III", 4, len(desc), typ) + b"Xen\0"
        out += desc + b"\0" * (-len(desc) % 4)
    return out


def elf(is64, be, machine, blob, where, xen_guest=None):
    e = ">" if be else "<"
    w = "Q" if is64 else "I"
    ehsz, phsz, shsz = (64, 56, 64) if is64 else (52, 32, 40)
    shstr = b"\0.note.Xen\0__xen_guest\0.shstrtab\0"
    nph = 1 if where == "segment" else 0
    notes_at = ehsz + nph * phsz
    str_at = notes_at + len(blob)
    xg = (xen_guest or "").encode() + b"\0" if xen_guest else b""
    xg_at = str_at + len(shstr)
    sh_at = (xg_at + len(xg) + 7) & ~7
    nsh = 4 if xen_guest else 3
    ident = b"\x7fELF" + bytes([2 if is64 else 1, 2 if be else 1, 1]) + b"\0" * 9
    hdr = ident + struct.pack(e + "HHI" + w + w + w + "IHHHHHH", 2, machine, 1, 0x100000,
                              ehsz if nph else 0, sh_at, 0, ehsz, phsz, nph, shsz, nsh, nsh - 1)
    ph = b""
    if nph:
        if is64:
            ph = struct.pack(e + "IIQQQQQQ", 4, 4, notes_at, 0, 0, len(blob), len(blob), 4)
        else:
            ph = struct.pack(e + "IIIIIIII", 4, notes_at, 0, 0, len(blob), len(blob), 4, 4)
    body = hdr + ph + blob + shstr + xg
    body += b"\0" * (sh_at - len(body))

    def sh(name, typ, off, size):
        if is64:
            return struct.pack(e + "IIQQQQIIQQ", name, typ, 0, 0, off, size, 0, 0, 4, 0)
        return struct.pack(e + "IIIIIIIIII", name, typ, 0, 0, off, size, 0, 0, 4, 0)

    shs = sh(0, 0, 0, 0) + sh(1, 7 if where != "none" else 1, notes_at, len(blob))
    if xen_guest:
        shs += sh(11, 1, xg_at, len(xg))
    shs += sh(23, 3, str_at, len(shstr))
    return body + shs


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    seeds = {}
    for is64 in (False, True):
        for be in (False, True):
            e = ">" if be else "<"
            tag = "%d%s" % (64 if is64 else 32, "be" if be else "le")
            pvh = notes(e, [(6, b"Solo5\0"), (18, 0x100000)])
            pv = notes(e, [(6, b"Mini-OS\0"), (5, b"xen-3.0\0"), (8, b"generic\0"),
                           (1, 0x1000), (2, 0x2000), (10, b"!writable_page_tables\0")])
            seeds["pvh-segment-" + tag] = elf(is64, be, 62, pvh, "segment")
            seeds["pv-segment-" + tag] = elf(is64, be, 62, pv, "segment")
            seeds["pv-section-" + tag] = elf(is64, be, 62, pv, "section")
    seeds["both-linux-64le"] = elf(True, False, 62, notes("<", [
        (6, b"linux\0"), (5, b"xen-3.0\0"), (1, struct.pack("<Q", 0xffffffff81000000)),
        (18, 0x1000850)]), "segment")
    seeds["xen-guest-32le"] = elf(False, False, 3, b"", "none",
                                  "GUEST_OS=linux,XEN_VER=xen-3.0,LOADER=generic")
    seeds["no-notes-arm64"] = elf(True, False, 183, b"", "none")
    bz = bytearray(0x400)
    bz[0x1fe:0x200] = b"\x55\xaa"
    bz[0x202:0x206] = b"HdrS"
    seeds["bzimage-header"] = bytes(bz)
    img = bytearray(128)
    img[56:60] = b"ARM\x64"
    seeds["arm64-image-header"] = bytes(img)
    seeds["gzip-header"] = b"\x1f\x8b\x08\x00" + b"\0" * 12
    seeds["sim-script"] = b"print hello\nexit 0\n"
    for name, data in seeds.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
