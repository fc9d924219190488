#!/bin/bash
# bench-pods.sh BUILD_DIR - 100 pods bound to one xenlet node at once (hv_sim,
# real control plane): per-pod time from creation to Running as seen through
# a watch (p50, p99, max), and the daemon's peak RSS and CPU seconds.
# Figures only: nothing here passes or fails on a number.
set -u
B=$(cd "${1:-build}" && pwd)
SRC=$(cd "$(dirname "$0")/../.." && pwd)
N=${XN_BENCH_PODS:-100}
NODE=xen-bench
. "$SRC/test/cluster/lib.sh"
TMP=$(mktemp -d /tmp/bench-pods.XXXXXX)
export XN_CLUSTER_DIR=$TMP/cluster
DPID= WPID=
cleanup() {
	[ -n "$WPID" ] && kill "$WPID" 2>/dev/null
	[ -n "$DPID" ] && kill -TERM "$DPID" 2>/dev/null && wait "$DPID" 2>/dev/null
	cluster_down >/dev/null 2>&1
	rm -rf "$TMP"
}
trap cleanup EXIT

cluster_up >"$TMP/cluster.log" 2>&1 || { echo "bench-pods: control plane failed"; tail "$TMP/cluster.log"; exit 1; }
cluster_node_kubeconfig "$NODE" "$TMP/node.kubeconfig" >/dev/null
XN_SIM_MEMORY_MB=$((N * 64 + 1024)) XN_SIM_CPUS=64 "$B/xenletd" --backend=sim -d \
	--kubeconfig "$TMP/node.kubeconfig" --node-name "$NODE" --node-ip 127.0.0.1 \
	--root-dir "$TMP/root" --pod-log-dir "$TMP/logs" --ctl-socket "$TMP/ctl.sock" \
	--image-root "$SRC/test/fixtures/sim" \
	>"$TMP/xenletd.log" 2>&1 &
DPID=$!
kubectl wait --for=condition=Ready "node/$NODE" --timeout=60s >/dev/null || { echo "bench-pods: node not Ready"; exit 1; }
cpu0=$(awk '{print $14 + $15}' "/proc/$DPID/stat")

# One watch stamps, on arrival, each pod's ADDED event and its first Running.
python3 - "$TMP/times" <<'PY' &
import json, subprocess, sys, time
out = open(sys.argv[1], "w", buffering=1)
p = subprocess.Popen(["kubectl", "get", "pods", "--watch", "--output-watch-events", "-o", "json"],
                     stdout=subprocess.PIPE, text=True)
dec, buf, seen = json.JSONDecoder(), "", {}
for line in p.stdout:
    buf += line
    while True:
        buf = buf.lstrip()
        try:
            ev, i = dec.raw_decode(buf)
        except ValueError:
            break
        buf = buf[i:]
        now = time.monotonic()
        o = ev["object"]; name = o["metadata"]["name"]
        if name not in seen:
            seen[name] = now
            print("added", name, now, file=out)
        if o.get("status", {}).get("phase") == "Running":
            print("running", name, now, file=out)
PY
WPID=$!
sleep 2
for i in $(seq 1 "$N"); do
	cat <<EOF
apiVersion: v1
kind: Pod
metadata: {name: bench-$i}
spec:
  nodeName: $NODE
  tolerations: [{key: xenlet.io/unikernel, operator: Exists}]
  containers:
  - name: main
    image: $SRC/test/fixtures/sim/server.sim
    resources: {limits: {memory: 32Mi}}
---
EOF
done >"$TMP/pods.yaml"
kubectl apply -f "$TMP/pods.yaml" >/dev/null
for _ in $(seq 1 600); do
	[ "$(awk '$1=="running"{print $2}' "$TMP/times" | sort -u | wc -l)" -ge "$N" ] && break
	sleep 0.2
done
running=$(awk '$1=="running"{print $2}' "$TMP/times" | sort -u | wc -l)
if [ "$running" -lt "$N" ]; then
	echo "bench-pods: only $running of $N pods reached Running within 120 s: no figures"
	tail -n 20 "$TMP/xenletd.log"
	exit 1
fi
cpu1=$(awk '{print $14 + $15}' "/proc/$DPID/stat")
hwm=$(awk '/VmHWM/{print $2}' "/proc/$DPID/status")
rss=$(awk '/VmRSS/{print $2}' "/proc/$DPID/status")
tck=$(getconf CLK_TCK)
python3 - "$TMP/times" "$N" "$(((cpu1 - cpu0)))" "$tck" "$hwm" "$rss" <<'PY'
import sys
path, n, ticks, tck, hwm, rss = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
added, running = {}, {}
for l in open(path):
    k, name, t = l.split()
    d = added if k == "added" else running
    d.setdefault(name, float(t))
lat = sorted(running[p] - added[p] for p in running if p in added)
def pct(q):
    return lat[min(len(lat) - 1, int(round(q * (len(lat) - 1))))] if lat else float("nan")
print("bench-pods: %d pods bound to one node at once (hv_sim, real API server)" % n)
print("  %-34s %10s" % ("figure", "value"))
print("  %-34s %10d" % ("pods Running (seen by the watch)", len(lat)))
print("  %-34s %9.3fs" % ("creation -> Running p50", pct(0.50)))
print("  %-34s %9.3fs" % ("creation -> Running p99", pct(0.99)))
print("  %-34s %9.3fs" % ("creation -> Running max", lat[-1] if lat else float("nan")))
print("  %-34s %9.2fs" % ("xenletd CPU during the burst", ticks / tck))
print("  %-34s %7d KiB" % ("xenletd peak RSS (VmHWM)", hwm))
print("  %-34s %7d KiB" % ("xenletd RSS after", rss))
if lat:
    print("  %-34s %10.2f" % ("ratio p99 / p50", pct(0.99) / pct(0.50) if pct(0.50) else float("nan")))
    print("  %-34s %10.2f" % ("ratio p99 / SLO (5 s)", pct(0.99) / 5.0))
PY
