#!/usr/bin/env python3
"""store-paths.py FILE [--dump] - every path in the mem store's file (XN_STORE_MEM_FILE)
as the daemon would load it: FILE, then FILE.journal replayed over it (a node
line sets that node, {"rm": path} removes the subtree; a last line cut short
is ignored), one path a line; with --dump the merged nodes as the file's
own JSON ({"nodes": [...]}), for tests that read values.  For tests that look into a sim node's
xenstore from outside (daemon/store_mem_file.c has the format)."""
import json
import sys

path = sys.argv[1]
nodes = {}
try:
    with open(path) as f:
        for n in json.load(f)["nodes"]:
            nodes[n["path"]] = n
except FileNotFoundError:
    pass
try:
    with open(path + ".journal") as f:
        for line in f:
            if not line.endswith("\n"):
                break  # cut short by a crash: ignored, as the daemon does
            o = json.loads(line)
            if "rm" in o:
                gone = o["rm"]
                for p in [p for p in nodes if p == gone or p.startswith(gone + "/")]:
                    del nodes[p]
            else:
                nodes[o["path"]] = o
except FileNotFoundError:
    pass
if len(sys.argv) > 2 and sys.argv[2] == "--dump":
    json.dump({"nodes": [nodes[p] for p in sorted(nodes)]}, sys.stdout)
else:
    for p in sorted(nodes):
        print(p)
