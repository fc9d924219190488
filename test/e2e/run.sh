#!/bin/bash
# run.sh BUILD_DIR - the e2e tier: build the test unikernels, boot Xen in
# QEMU (test/rig/rig.sh) three times: test/e2e/rig-guests.sh runs them with
# plain xl, test/e2e/rig-xenletd.sh through xenletd's libxl backend and
# xl-pod, test/e2e/rig-k8s.sh through Kubernetes (a control plane on the
# host, kubectl) with xenletd as the node in Dom0.  BUILD_DIR/xenletd and
# BUILD_DIR/xl-pod go into Dom0.  Each run's output is kept in
# BUILD_DIR/e2e/<run>.log (the Kubernetes run's rig in k8s-rig.log); the
# interesting lines are shown.  Ends with
# "e2e: <n> passed, <n> failed, <n> skipped" over all runs.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
B=$(mkdir -p "${1:-build}" && cd "${1:-build}" && pwd)
OUT=$B/e2e
mkdir -p "$OUT"

summary() { echo "e2e: $1 passed, $2 failed, $3 skipped"; }

if ! make -s -C "$ROOT/test/guests" O="$B/guests"; then
	echo "e2e: building the test unikernels failed"
	summary 0 1 0
	exit 1
fi
# the store's unit test too: its xenstore-backend case needs a real
# xenstored, which only Dom0 has
P=0 F=0 S=0
if ! make -s -C "$ROOT" B="$B" "$B/test/unit/test_store" >"$OUT/test_store.build" 2>&1; then
	echo "e2e: building test_store failed: $(tail -n 3 "$OUT/test_store.build")"
	F=$((F + 1))
fi
bins=()
for f in "$B/xenletd" "$B/xl-pod" "$B/test/unit/test_store"; do
	[ -x "$f" ] && bins+=(--bin "$f")
done

# run_rig NAME SCRIPT [RIG OPTIONS...]: one rig run; its counts go into
# the totals.  Returns the rig's status (77: skipped).
run_rig() {
	local name=$1 script=$2 t0 rc
	shift 2
	t0=$(date +%s)
	"$ROOT/test/rig/rig.sh" "$@" --guests "$B/guests" --work "$OUT/work-$name" \
		"$script" >"$OUT/$name.log" 2>&1
	rc=$?
	tally "$name" $rc $(($(date +%s) - t0))
}

# tally NAME STATUS SECONDS: show a finished run's log NAME.log, add its
# summary line to the totals.  Returns STATUS.
tally() {
	local name=$1 rc=$2 secs=$3 line
	if [ $rc = 77 ]; then
		echo "e2e $name: $(grep '^skipped:' "$OUT/$name.log" | tail -1)"
		S=$((S + 1))
		return 77
	fi
	# Xen's version, the Dom0 markers, the guests' own lines (Xen prints
	# what a PVH guest writes to port 0xe9 as "(dN) ..."), the verdicts.
	grep -E 'Xen version|RIG-|XN-TEST-|PASS |FAIL |SKIP |TIMING |\[rig ' "$OUT/$name.log" |
		grep -v 'XN-TEST-LINE \|XN-TEST-HEARTBEAT\|XN-TEST-TICK'
	line=$(grep -Eo '[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped' "$OUT/$name.log" | tail -1)
	echo "e2e $name: the rig took $secs s (full log: $OUT/$name.log)"
	if [ -z "$line" ]; then
		echo "e2e $name: the Dom0 test did not finish; last lines of the log:"
		tail -n 40 "$OUT/$name.log"
		F=$((F + 1))
		return 1
	fi
	echo "e2e $name: $line"
	set -- $line
	P=$((P + $1)) F=$((F + $3)) S=$((S + $5))
	[ $rc = 0 ] || [ "$3" != 0 ] || F=$((F + 1)) # failed without saying so
	return $rc
}

# 1: the test unikernels under plain xl
run_rig guests "$ROOT/test/e2e/rig-guests.sh" ${bins[@]+"${bins[@]}"}
rc=$?
# 2: xenletd with the libxl backend (needs both binaries); 3: the same
# node under Kubernetes.  Skipped with the first when the rig itself cannot
# run.
if [ $rc = 77 ]; then
	echo "e2e xenletd, k8s: skipped: the rig cannot run (above)"
	S=$((S + 2))
else
	if [ -x "$B/xenletd" ] && [ -x "$B/xl-pod" ]; then
		run_rig xenletd "$ROOT/test/e2e/rig-xenletd.sh" "${bins[@]}" --pod-cidr 10.250.0.0/24
		t0=$(date +%s)
		"$ROOT/test/e2e/rig-k8s.sh" "$B" "$OUT" >"$OUT/k8s.log" 2>&1
		tally k8s $? $(($(date +%s) - t0))
	else
		echo "e2e xenletd, k8s: skipped: $B/xenletd or $B/xl-pod not built"
		S=$((S + 2))
	fi
fi
summary $P $F $S
[ $F = 0 ]
