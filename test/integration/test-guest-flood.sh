#!/bin/bash
# test-guest-flood.sh BUILD_DIR - a guest cannot flood the API server
# (issue 9, finding 4).  Against a real control plane, sim guests
# (docs/sim-scripts.md, `xenstore KEY VALUE`) write 1000 invalid values to
# their readiness flag data/xenlet/ready, and flip it 0/1 a few hundred
# times; the node must answer with a bounded number of log lines, Event
# objects (each invalid value is one Event with a count, its message the
# same whatever the value) and status patches, and the final Ready state
# must be the guest's last word.
# Prints "guest-flood: N passed, N failed, N skipped".
set -u
B=$(cd "${1:-build}" && pwd)
SRC=$(cd "$(dirname "$0")/../.." && pwd)
NODE=xen-flood-1

# shellcheck source=test/lib/tap.sh
. "$SRC/test/lib/tap.sh"
# shellcheck source=test/integration/lib-xenletd.sh
. "$SRC/test/integration/lib-xenletd.sh"

if ! command -v kubectl >/dev/null; then
	skip "guest flood checks" "kubectl not installed"
	summary guest-flood
	exit
fi

WATCH=
stop_watch() { xn_it_kill "$WATCH"; WATCH=; }
trap 'stop_watch; _xn_it_cleanup' EXIT

xn_it_cluster_up test-guest-flood || { summary guest-flood; exit; }
trap 'stop_watch; _xn_it_cleanup' EXIT

# ---- the guests ----
IMG=$TMP/images
mkdir -p "$IMG"
# junk.sim: ready, then 1000 invalid values (too long, of 1000 lengths, or
# one bad character), then ready again
python3 - "$IMG/junk.sim" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    f.write("print junk writer\nxenstore ready 1\nsleep 100\n")
    for i in range(1, 1001):
        f.write("xenstore ready %s\nsleep 1\n" % ("x" if i % 3 == 0 else "j" * (i + 1)))
    f.write("xenstore ready 1\nprint junk done\n")
PY
# flip.sim: ready, then 300 flips 0/1 two milliseconds apart, ending on 0
# then 1 (the final state is Ready)
{
	echo "print flipper"
	echo "xenstore ready 1"
	echo "sleep 100"
	for _ in $(seq 1 300); do
		printf 'xenstore ready 0\nsleep 2\nxenstore ready 1\nsleep 2\n'
	done
	printf 'xenstore ready 0\nsleep 2\nxenstore ready 1\nprint flip done\n'
} >"$IMG/flip.sim"
# flop.sim: the same flips ending on 0 (the final state is not Ready)
sed 's/^print flip done$//; $d' "$IMG/flip.sim" >"$IMG/flop.sim"
printf 'xenstore ready 0\nprint flop done\n' >>"$IMG/flop.sim"

guest_pod() { # guest_pod NAME SCRIPT
	kubectl apply -f - >/dev/null <<YAML
apiVersion: v1
kind: Pod
metadata:
  name: $1
  annotations: {xenlet.io/readiness: guest}
spec:
  runtimeClassName: xen-unikernel
  restartPolicy: Never
  terminationGracePeriodSeconds: 2
  containers:
  - name: main
    image: $IMG/$2
    resources: {limits: {memory: 64Mi, cpu: 250m}}
YAML
}
ready_of() { kubectl get pod "$1" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null; }
ready_is() { [ "$(ready_of "$1")" = "$2" ]; }
logged() { grep -q "$1" "$TMP/logs/default_$2_"*/main/0.log 2>/dev/null; }

xn_it_start_xenletd -v --node-ip 127.0.0.1 --image-root "$IMG"
wait_for 30 kubectl wait --for=condition=Ready "node/$NODE" --timeout=1s
check "node registers" $? "$(tail -n 5 "$TMP/xenletd.log")"

# ---- 1000 invalid readiness values ----
guest_pod junk junk.sim
wait_for 90 logged "junk done" junk
check "the junk guest wrote its 1000 invalid values" $? "$(tail -n 3 "$TMP/logs"/default_junk_*/main/0.log 2>&1)"
wait_for 20 ready_is junk True
check "  ... and its last valid value, 1, makes it Ready" $? "Ready=$(ready_of junk)"
# Each complaint the daemon logged is one occurrence of the Event: its count
# reaches that number once the paced count updates (one PATCH per Event per
# 10 s, daemon/event_correlate.c) have gone.  Only the Unhealthy Warning about
# the flag is this check's business (a pod with dnsPolicy ClusterFirst on a
# node without clusterDNS also gets the kubelet's MissingClusterDNS Warning).
nlog=$(grep -c 'pod default/junk: .*data/xenlet/ready' "$TMP/xenletd.log")
junk_events() {
	kubectl get events --field-selector involvedObject.name=junk -o json | python3 -c '
import json, sys
items = json.load(sys.stdin)["items"]
warn = [e for e in items if e["type"] == "Warning" and e["reason"] == "Unhealthy"
        and "data/xenlet/ready" in e["message"]]
print(len(items), len(warn), sum(e.get("count", 1) for e in warn))
for e in items:
    if e["type"] == "Warning":
        print("#", e["reason"], e.get("count"), e["message"])'
}
count_reached() {
	sum=$(junk_events)
	read -r nobj nwarn wcount <<<"$(echo "$sum" | head -n 1)"
	[ "$wcount" -ge "$nlog" ]
}
sum= nobj=0 nwarn=0 wcount=0
wait_for 40 count_reached
check "  ... the Events' count reaches the complaints logged ($wcount of $nlog)" $? "$sum"
check "  ... at most 10 Event objects about the pod (got $nobj)" "$([ "$nobj" -le 10 ]; echo $?)" "$sum"
check "  ... one Unhealthy Warning Event for the invalid values, with a count (got $nwarn objects, count $wcount)" \
	"$([ "$nwarn" -eq 1 ] && [ "$wcount" -ge 1 ]; echo $?)" "$sum"
check "  ... the Events' count stays within the pod's budget (count $wcount <= 10)" "$([ "$wcount" -le 10 ]; echo $?)" "$sum"
echo "$sum" | grep '^# Unhealthy' | grep -qE 'bytes|[0-9]+ bytes|value too long'
check "  ... whose message does not carry the value's length" "$([ $? -ne 0 ]; echo $?)" "$sum"
echo "$sum" | grep -q '^# Unhealthy .*data/xenlet/ready'
check "  ... and names the key" $? "$sum"
check "  ... at most 10 log lines about it (got $nlog)" "$([ "$nlog" -le 10 ] && [ "$nlog" -ge 1 ]; echo $?)" \
	"$(grep 'pod default/junk: .*data/xenlet/ready' "$TMP/xenletd.log" | tail -n 3)"

# ---- readiness flipping ----
# Every change of the pod object (each status PATCH is one resourceVersion)
# as the API server's watch reports it.
flip_run() { # flip_run NAME SCRIPT DONE WANT
	kubectl get --raw "/api/v1/namespaces/default/pods?watch=1&fieldSelector=metadata.name=$1" \
		>"$TMP/watch-$1.json" 2>/dev/null &
	WATCH=$!
	sleep 1
	guest_pod "$1" "$2"
	wait_for 60 logged "$3" "$1"
	check "the $1 guest flipped its flag 0/1 300 times" $? "$(tail -n 3 "$TMP/logs/default_$1_"*/main/0.log 2>&1)"
	wait_for 20 ready_is "$1" "$4"
	check "  ... and its last word counts: Ready=$4" $? "Ready=$(ready_of "$1")"
	sleep 3 # anything still debounced has gone out
	stop_watch
	mods=$(python3 -c '
import json, sys
n = 0
rvs = set()
for line in open(sys.argv[1]):
    line = line.strip()
    if not line:
        continue
    e = json.loads(line)
    if e["type"] == "MODIFIED":
        n += 1
        rvs.add(e["object"]["metadata"]["resourceVersion"])
print(n, len(rvs))' "$TMP/watch-$1.json")
	read -r nmod nrv <<<"$mods"
	# scheduling, Pending/Running and the first Ready are ~4 changes; the
	# flips last about 1-3 s and may add one readiness patch a second
	check "  ... the pod object changed at most 15 times (got $nmod, $nrv resourceVersions)" \
		"$([ "$nmod" -le 15 ] && [ "$nmod" -ge 2 ]; echo $?)" "$mods"
	ready_is "$1" "$4"
	check "  ... and stays Ready=$4 afterwards" $? "Ready=$(ready_of "$1")"
}
flip_run flip flip.sim "flip done" True
flip_run flop flop.sim "flop done" False

kubectl delete pod junk flip flop --wait=false >/dev/null 2>&1
xn_it_stop_xenletd
summary guest-flood
