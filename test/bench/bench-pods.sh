#!/bin/bash
# bench-pods.sh BUILD_DIR - rounds of 100 pods bound to one xenlet node at
# once (hv_sim, real control plane), each round created, run and deleted:
# per pod, the time from its binding to Running (p50, p99, max), and the
# daemon's RSS when idle and after each round with every pod gone.
#
# Both ends of the latency are stamped on this host's monotonic clock as the
# events arrive on one raw watch of the namespace's pods: bound is the first
# event that shows the pod with spec.nodeName (the pods are created bound),
# Running the first event whose status.phase is Running, i.e. the daemon's
# status patch.  Kubernetes timestamps (seconds) are too coarse for this.
# Figures only: nothing here passes or fails on a number.  The latencies are
# wall clock and include whatever else the machine runs (the load average
# is printed); xenletd's own CPU per pod does not depend on that.
#   XN_BENCH_PODS (100) pods per round, XN_BENCH_ROUNDS (3) rounds;
#   for diagnosis: XN_BENCH_XENLETD_FLAGS (e.g. -vv), XN_BENCH_WRAP (a
#   command put in front of xenletd; it should exec xenletd, since RSS, CPU
#   and the final SIGTERM go to the pid started here: heaptrack, which runs
#   it as a child, gives no figures and leaves it running), XN_BENCH_KEEP=1
#   (keep the run dir)
set -u
B=$(cd "${1:-build}" && pwd)
SRC=$(cd "$(dirname "$0")/../.." && pwd)
N=${XN_BENCH_PODS:-100}
ROUNDS=${XN_BENCH_ROUNDS:-3}
NODE=xen-bench
. "$SRC/test/cluster/lib.sh"
TMP=$(mktemp -d /tmp/bench-pods.XXXXXX)
export XN_CLUSTER_DIR=$TMP/cluster
DPID= WPID=
cleanup() {
	[ -n "$WPID" ] && kill "$WPID" 2>/dev/null && wait "$WPID" 2>/dev/null
	[ -n "$DPID" ] && kill -TERM "$DPID" 2>/dev/null && wait "$DPID" 2>/dev/null
	cluster_down >/dev/null 2>&1
	[ -n "${XN_BENCH_KEEP:-}" ] || rm -rf "$TMP"
}
trap cleanup EXIT

cluster_up >"$TMP/cluster.log" 2>&1 || { echo "bench-pods: control plane failed"; tail "$TMP/cluster.log"; exit 1; }
cluster_node_kubeconfig "$NODE" "$TMP/node.kubeconfig" >/dev/null
XN_SIM_MEMORY_MB=$((N * 64 + 1024)) XN_SIM_CPUS=64 ${XN_BENCH_WRAP:-} "$B/xenletd" --backend=sim -d \
	--kubeconfig "$TMP/node.kubeconfig" --node-name "$NODE" --node-ip 127.0.0.1 \
	--root-dir "$TMP/root" --pod-log-dir "$TMP/logs" --ctl-socket "$TMP/ctl.sock" \
	--image-root "$SRC/test/fixtures/sim" ${XN_BENCH_XENLETD_FLAGS:-} \
	>"$TMP/xenletd.log" 2>&1 &
DPID=$!
# kubectl wait fails at once on a Node not yet registered (a slow start)
for _ in $(seq 1 120); do kubectl get "node/$NODE" >/dev/null 2>&1 && break; sleep 0.5; done
kubectl wait --for=condition=Ready "node/$NODE" --timeout=60s >/dev/null || { echo "bench-pods: node not Ready"; exit 1; }
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$DPID/status"; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$DPID/stat"; }

# One watch, straight from the API server (a JSON line per event, read as
# it arrives: kubectl would buffer), stamps each pod's binding, its first
# Running and its deletion, keyed by uid; resumed from the last
# resourceVersion when the server ends it.  (The wall clock beside it is
# for lining the figures up with xenletd's log.)
python3 -u - "$TMP/times" "$XN_APISERVER_URL" "$XN_CLUSTER_DIR/pki" 2>"$TMP/watch.err" <<'PY' &
import http.client, json, ssl, sys, time, urllib.parse
out = open(sys.argv[1], "w", buffering=1)
url, pki = urllib.parse.urlsplit(sys.argv[2]), sys.argv[3]
ctx = ssl.create_default_context(cafile=pki + "/ca.crt")
ctx.load_cert_chain(pki + "/admin.crt", pki + "/admin.key")
bound, running, rv = set(), set(), ""
while True:
    # the API server ends a watch that falls behind: resume where it ended
    c = http.client.HTTPSConnection(url.hostname, url.port, context=ctx)
    c.request("GET", "/api/v1/namespaces/default/pods?watch=1&timeoutSeconds=3600" +
              ("&resourceVersion=" + rv if rv else ""))
    resp = c.getresponse()
    if resp.status != 200:
        print("watch: HTTP %d: %s" % (resp.status, resp.read()[:200]), file=sys.stderr)
        sys.exit(1)
    while True:
        line = resp.readline()
        if not line:
            break
        now, wall = time.monotonic(), time.time()
        if not line.strip():
            continue
        ev = json.loads(line)
        o = ev["object"]
        md = o.get("metadata", {})
        if ev["type"] == "ERROR":
            print("watch: %s" % o.get("message"), file=sys.stderr)
            sys.exit(1)
        rv = md.get("resourceVersion", rv)
        uid, name = md.get("uid"), md.get("name")
        if ev["type"] == "DELETED":
            print("deleted", name, uid, now, wall, file=out)
            continue
        if uid not in bound and o.get("spec", {}).get("nodeName"):
            bound.add(uid)
            print("bound", name, uid, now, wall, file=out)
        if uid not in running and o.get("status", {}).get("phase") == "Running":
            running.add(uid)
            print("running", name, uid, now, wall, file=out)
    c.close()
PY
WPID=$!
sleep 2
count() { awk -v k="$1" -v r="bench-$2-" '$1 == k && index($2, r) == 1 { print $3 }' "$TMP/times" | sort -u | wc -l; }
wait_count() { # wait_count KIND ROUND: until N pods of ROUND were seen KIND, 120 s at most
	local _
	for _ in $(seq 1 600); do
		[ "$(count "$1" "$2")" -ge "$N" ] && return 0
		sleep 0.2
	done
	return 1
}

rss_idle=$(rss_kib)
cpu0=$(cpu_ticks)
load0=$(cut -d' ' -f1 /proc/loadavg)
: >"$TMP/rss"
for r in $(seq 1 "$ROUNDS"); do
	for i in $(seq 1 "$N"); do
		cat <<EOF
apiVersion: v1
kind: Pod
metadata: {name: bench-$r-$i, labels: {bench-round: "$r"}}
spec:
  nodeName: $NODE
  terminationGracePeriodSeconds: 1
  tolerations: [{key: xenlet.io/unikernel, operator: Exists}]
  containers:
  - name: main
    image: $SRC/test/fixtures/sim/server.sim
    resources: {limits: {memory: 32Mi}}
---
EOF
	done >"$TMP/pods-$r.yaml"
	kubectl apply -f "$TMP/pods-$r.yaml" >/dev/null
	if ! wait_count running "$r"; then
		echo "bench-pods: round $r: only $(count running "$r") of $N pods reached Running within 120 s: no figures"
		tail -n 5 "$TMP/watch.err" "$TMP/xenletd.log"
		exit 1
	fi
	hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$DPID/status")
	kubectl delete pods -l "bench-round=$r" --wait=false >/dev/null
	if ! wait_count deleted "$r"; then
		echo "bench-pods: round $r: only $(count deleted "$r") of $N pods were deleted within 120 s: no figures"
		tail -n 5 "$TMP/watch.err" "$TMP/xenletd.log"
		exit 1
	fi
	sleep 1 # the last status answers and Events settle
	echo "$r $(rss_kib) $hwm" >>"$TMP/rss"
done
cpu1=$(cpu_ticks)
load1=$(cut -d' ' -f1 /proc/loadavg)

python3 - "$TMP/times" "$TMP/rss" "$N" "$ROUNDS" "$rss_idle" "$((cpu1 - cpu0))" "$(getconf CLK_TCK)" \
	"$load0" "$load1" "$(nproc)" <<'PY'
import sys
times, rssf = sys.argv[1], sys.argv[2]
n, rounds, idle, ticks, tck = (int(a) for a in sys.argv[3:8])
load0, load1, ncpu = sys.argv[8], sys.argv[9], sys.argv[10]
bound, running = {}, {}
for l in open(times):
    k, name, uid, t, _ = l.split()
    if k == "bound":
        bound[uid] = (name, float(t))
    elif k == "running":
        running[uid] = float(t)
def pct(lat, q):
    return lat[min(len(lat) - 1, int(round(q * (len(lat) - 1))))] if lat else float("nan")
per, alll = {}, []
for uid, (name, t) in bound.items():
    if uid in running:
        r = int(name.split("-")[1])
        per.setdefault(r, []).append(running[uid] - t)
        alll.append(running[uid] - t)
rss = {int(l.split()[0]): (int(l.split()[1]), int(l.split()[2])) for l in open(rssf)}
print("bench-pods: %d rounds of %d pods bound to one node at once (hv_sim, real API server)" % (rounds, n))
print("  %-6s %8s %8s %8s %8s %16s %14s" % ("round", "Running", "p50", "p99", "max", "RSS after (KiB)", "peak (KiB)"))
print("  %-6s %8s %8s %8s %8s %16d %14s" % ("idle", "", "", "", "", idle, ""))
for r in range(1, rounds + 1):
    lat = sorted(per.get(r, []))
    print("  %-6d %8d %7.0fms %7.0fms %7.0fms %16d %14d" % (
        r, len(lat), pct(lat, .5) * 1e3, pct(lat, .99) * 1e3, (lat[-1] if lat else float("nan")) * 1e3,
        rss[r][0], rss[r][1]))
alll.sort()
print("  %-6s %8d %7.0fms %7.0fms %7.0fms" % ("all", len(alll), pct(alll, .5) * 1e3, pct(alll, .99) * 1e3,
                                             (alll[-1] if alll else float("nan")) * 1e3))
print("  %-40s %9.2fs" % ("xenletd CPU over all rounds", ticks / tck))
if alll:
    print("  %-40s %8.1fms" % ("xenletd CPU per pod (start and stop)", ticks / tck / len(alll) * 1e3))
# the latencies are wall clock: other work on the machine counts in them
print("  %-40s %10s" % ("load average before / after (%s CPUs)" % ncpu, "%s / %s" % (load0, load1)))
if rounds > 1:
    print("  %-40s %+9d KiB" % ("RSS after the last round - after round 1", rss[rounds][0] - rss[1][0]))
if alll:
    print("  %-40s %10.2f" % ("ratio p99 / goal (100 ms)", pct(alll, .99) / 0.1))
PY
