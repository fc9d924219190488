#!/bin/bash
# bench-sim-net.sh BUILD_DIR - the sim network (docs/sim-scripts.md,
# "Network"; no cluster): what a vif adds to a pod's start, pod-to-pod
# throughput across the bridge and its rules, and what is left after many
# pods came and went.
#
#   start     per pod, from just before `xl-pod create` to the first line
#             its guest prints (the CRI log's timestamp): the domain built,
#             the vif plugged by the hook, the guest's address set, the
#             domain unpaused.  XN_BENCH_STARTS pods (30) one after the
#             other with a vif (a podCIDR) and as many without (none):
#             p50, p99, max.
#   iperf3    TCP from one pod's netns to another's pod IP, through both
#             vifs, the bridge and the hook's nft chains: 5 s, one stream
#             and four.
#   churn     XN_BENCH_CHURN pods (100) created at once, all running with an
#             address, then all deleted: the netns, vifs, nft rules, backend
#             directories, address records and addresses left (must be 0).
# Figures only; nothing passes or fails on a number (the churn's leftovers
# are a correctness check and fail the benchmark when not zero).
# Exit 77 (skipped) without root, ip, nft, curl, python3, busybox or iperf3.
set -u
B=$(cd "${1:-build}" && pwd)
SRC=$(cd "$(dirname "$0")/../.." && pwd)
STARTS=${XN_BENCH_STARTS:-30}
CHURN=${XN_BENCH_CHURN:-100}
# shellcheck source=test/lib/tap.sh
. "$SRC/test/lib/tap.sh"
# shellcheck source=test/integration/lib-simnet.sh
. "$SRC/test/integration/lib-simnet.sh"

if ! why=$(simnet_need) || ! command -v iperf3 >/dev/null; then
	echo "bench-sim-net: skipped: ${why:-iperf3 not found (scripts/deps.sh installs it)}"
	exit 77
fi
simnet_up || {
	echo "bench-sim-net: cannot make the Dom0 namespace"
	exit 1
}
export XN_SIM_MEMORY_MB=$(((CHURN + 10) * 16 + 1024))
running() { [ "$(_pod_field "$1" state)" = running ]; }
first_line_ns() { # first_line_ns NAME: the CRI timestamp of its first line, ns
	local f
	f=$(ls "$TMP"/logs/default_"$1"_*/main/0.log 2>/dev/null | head -n 1)
	[ -n "$f" ] && head -n 1 "$f" | python3 -c '
import sys, datetime
ts = sys.stdin.read().split()[0]
sec, frac = ts.rstrip("Z").split(".")
d = datetime.datetime.strptime(sec, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=datetime.timezone.utc)
print(int(d.timestamp()) * 10**9 + int(frac.ljust(9, "0")[:9]))'
}
# percentiles FILE: p50 p99 max of the numbers (ms) in FILE
percentiles() {
	sort -n "$1" | awk '{ v[NR] = $1 } END {
		p50 = v[int((NR - 1) * 0.50) + 1]; p99 = v[int((NR - 1) * 0.99) + 1]
		printf "%8.1f %8.1f %8.1f  (n=%d)\n", p50, p99, v[NR], NR }'
}
simnet_image start 'print up
ready'

# start_round LABEL FLAGS...: STARTS pods one by one, their start times
start_round() {
	local label=$1 i t0 t1
	shift
	simnet_start "$@" || {
		echo "bench-sim-net: xenletd did not start"
		exit 1
	}
	: >"$TMP/start-$label"
	for i in $(seq 1 "$STARTS"); do
		t0=$(date +%s%N)
		xlpod create "s$label$i" "$TMP/images/start.sim" >/dev/null
		wait_for 20 running "s$label$i" && wait_for 5 first_line_ns "s$label$i" || {
			echo "bench-sim-net: pod s$label$i did not start"
			exit 1
		}
		t1=$(first_line_ns "s$label$i")
		echo "$(((t1 - t0) / 1000)) 1000" | awk '{ printf "%.3f\n", $1 / $2 }' >>"$TMP/start-$label"
		xlpod destroy "s$label$i" >/dev/null
	done
	wait_for 30 sh -c "[ -z \"\$(\"$B/xl-pod\" -s \"$TMP/ctl.sock\" list | sed 1d)\" ]"
	simnet_stop
}

echo "pod start (ms, create to first console line):   p50      p99      max"
start_round vif
printf '  with a vif (netns, veth, hook, address)    %s\n' "$(percentiles "$TMP/start-vif")"
# the same daemon without a pod range: no vif at all
PODCIDR_SAVE=$PODCIDR
PODCIDR=
start_round novif
PODCIDR=$PODCIDR_SAVE
printf '  without a vif                              %s\n' "$(percentiles "$TMP/start-novif")"

# --- iperf3 pod to pod -----------------------------------------------------
simnet_start || exit 1
xlpod create srv "$TMP/images/start.sim" >/dev/null
xlpod create cli "$TMP/images/start.sim" >/dev/null
wait_for 20 running srv && wait_for 20 running cli && wait_for 5 first_line_ns srv &&
	wait_for 5 first_line_ns cli || {
	echo "bench-sim-net: iperf3 pods did not start"
	exit 1
}
srv_ns=$(pod_ns srv) cli_ns=$(pod_ns cli) srv_ip=$(pod_ip srv)
echo "pod to pod across xenlet0 (iperf3 TCP, 5 s):"
for streams in 1 4; do
	ip netns exec "$srv_ns" iperf3 -s -1 -B "$srv_ip" >/dev/null 2>&1 &
	ipid=$!
	SIMNET_PIDS="$SIMNET_PIDS $ipid"
	wait_for 5 sh -c "ip netns exec $srv_ns ss -Hltn | grep -q ':5201 '"
	gbps=$(ip netns exec "$cli_ns" iperf3 -c "$srv_ip" -t 5 -P "$streams" -J 2>/dev/null |
		python3 -c 'import json, sys; print("%.2f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 1e9))' 2>/dev/null)
	wait "$ipid" 2>/dev/null
	printf '  %d stream(s)                                 %s Gbit/s\n' "$streams" "${gbps:-failed}"
done
xlpod destroy srv >/dev/null
xlpod destroy cli >/dev/null

# --- churn: many pods come and go ------------------------------------------
t0=$(date +%s%N)
for i in $(seq 1 "$CHURN"); do
	xlpod create -m 16Mi "c$i" "$TMP/images/start.sim" >/dev/null
done
wait_for 300 sh -c "[ \$(\"$B/xl-pod\" -s \"$TMP/ctl.sock\" list | awk 'NR > 1 && \$3 == \"running\"' | wc -l) -ge $CHURN ]"
t1=$(date +%s%N)
addrs=$(store_paths /xenlet/net/pods/ | grep -c '/ipv4$')
netns_up=$(ip netns list | grep -c "^$PFX-")
dpids=
for i in $(seq 1 "$CHURN"); do
	xlpod destroy "c$i" >/dev/null &
	dpids="$dpids $!"
	if [ $((i % 10)) -eq 0 ]; then
		# shellcheck disable=SC2086 # a list of PIDs
		wait $dpids
		dpids=
	fi
done
# shellcheck disable=SC2086 # (a bare wait would wait for xenletd too)
[ -z "$dpids" ] || wait $dpids
wait_for 300 sh -c "[ -z \"\$(\"$B/xl-pod\" -s \"$TMP/ctl.sock\" list | sed 1d)\" ]"
t2=$(date +%s%N)
left=$(simnet_leftovers)
rules=$(d0 nft list ruleset 2>/dev/null | grep -c 'port-vif')
records=$(store_paths /xenlet/net/pods/ | wc -l)
guest_addrs=$(d0 ip -4 -o addr show | grep -vc -e " $GW/" -e ' 127.0.0.1/')
echo "churn: $CHURN pods at once"
printf '  running with an address: %d of %d (%d netns) in %.1f s; all deleted in %.1f s\n' \
	"$addrs" "$CHURN" "$netns_up" "$(echo "$t0 $t1" | awk '{ print ($2 - $1) / 1e9 }')" \
	"$(echo "$t1 $t2" | awk '{ print ($2 - $1) / 1e9 }')"
printf '  left after delete: %d netns/vif/table/backend entries, %d nft port rules, %d address records, %d addresses in Dom0\n' \
	"$(printf '%s' "$left" | grep -c .)" "$rules" "$records" "$guest_addrs"
[ -z "$left" ] && [ "$rules" -eq 0 ] && [ "$records" -eq 0 ] && [ "$guest_addrs" -eq 0 ]
