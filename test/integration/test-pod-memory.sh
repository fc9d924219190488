#!/bin/bash
# test-pod-memory.sh BUILD_DIR - memory does not grow with pods that have come
# and gone (issue 8, fault 2).  One xenletd on the sim backend runs rounds of
# local pods through xl-pod (create ROUND_PODS, then destroy them all); the
# daemon's RSS after the last round must stay within 2 MiB of its RSS after
# the first.  A memory bound, not a timing: the figures are printed.
# The same bound over the API path (100 pods bound at once, real API server)
# is a figure of test/bench/bench-pods.sh, not asserted here: what stays
# resident there is the heap's high-water mark of a burst, which follows how
# many requests the API server keeps waiting, i.e. the machine's load (with
# the same code: +0.3 MiB over 2 rounds, +1.5 MiB over 10 when round 2 took 6 s).
# Prints "N passed, N failed, N skipped"; exits 1 if anything failed.
set -u
B=$(cd "${1:-build}" && pwd)
SRC=$(cd "$(dirname "$0")/../.." && pwd)
ROUNDS=${XN_MEM_ROUNDS:-10}
PODS=${XN_MEM_PODS:-60}
SLACK_KIB=2048
TMP=$(mktemp -d /tmp/test-pod-memory.XXXXXX)
SOCK=$TMP/ctl.sock
# shellcheck source=test/lib/tap.sh
. "$SRC/test/lib/tap.sh"
# shellcheck source=test/integration/lib-xenletd.sh
. "$SRC/test/integration/lib-xenletd.sh"

cleanup() {
	xn_it_stop_xenletd
	if [ "$fail" -ne 0 ]; then
		echo "# xenletd log (tail):"
		tail -n 20 "$TMP/xenletd.log" 2>/dev/null | sed 's/^/#   /'
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT

xlpod() { "$B/xl-pod" -s "$SOCK" "$@"; }
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$DPID/status"; }
pods_listed() { xlpod list | tail -n +2 | wc -l; }

for f in "$B/xenletd" "$B/xl-pod"; do
	if [ ! -x "$f" ]; then
		skip "memory over rounds of pods" "$f not built"
		summary pod-memory
		exit
	fi
done

# room for a whole round at once (32 MiB each)
XN_SIM_MEMORY_MB=$((PODS * 32 + 1024)) XN_SIM_CPUS=64 "$B/xenletd" --backend=sim -d \
	--root-dir="$TMP/root" --pod-log-dir="$TMP/logs" --ctl-socket="$SOCK" \
	--image-root "$SRC/test/fixtures/sim" >>"$TMP/xenletd.log" 2>&1 &
DPID=$!
if ! wait_for 10 xlpod version; then
	not_ok "xenletd starts on the sim backend" "$(tail -n 20 "$TMP/xenletd.log")"
	summary pod-memory
	exit
fi
ok "xenletd starts on the sim backend"

# one round: PODS pods created, each running, then every one destroyed
round() {
	local i
	for i in $(seq 1 "$PODS"); do
		xlpod create -m 32 "mem-$i" "$SRC/test/fixtures/sim/server.sim" >/dev/null || return 1
	done
	for i in $(seq 1 "$PODS"); do
		xlpod destroy -g 1 "mem-$i" >/dev/null || return 1
	done
	[ "$(pods_listed)" -eq 0 ]
}

figures="idle $(rss_kib) KiB"
first= last= broken=
for r in $(seq 1 "$ROUNDS"); do
	if ! round; then
		broken="round $r: a create or destroy failed, or pods are left: $(xlpod list 2>&1)"
		break
	fi
	last=$(rss_kib)
	[ -n "$first" ] || first=$last
	figures="$figures, $r: $last"
done
echo "# RSS after each round of $PODS pods (KiB): $figures"
if [ -n "$broken" ]; then
	not_ok "$ROUNDS rounds of $PODS local pods run and go" "$broken"
else
	ok "$ROUNDS rounds of $PODS local pods run and go"
	check "RSS after round $ROUNDS ($last KiB) within 2 MiB of RSS after round 1 ($first KiB)" \
		$([ $((last - first)) -le $SLACK_KIB ]; echo $?) "$figures"
fi
summary pod-memory
