#!/bin/bash
# run.sh BUILD_DIR - the integration tier: every test/integration/test-*.sh,
# each against a real control plane (test/cluster) and xenletd with hv_sim.
# Each script ends with "<name>: N passed, N failed, N skipped"; this adds
# them up into the tier's own summary line.
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
B=${1:-build}
pass=0 fail=0 skip=0 failed=()

# Build (or find cached) control-plane binaries once for every script.
if [ -z "${XN_CLUSTER_BIN:-}" ]; then
	if bin=$("$top/test/cluster/build.sh" | tail -n 1) && [ -x "$bin/kube-apiserver" ]; then
		export XN_CLUSTER_BIN=$bin
	else
		echo "integration: cannot build the control plane (test/cluster/build.sh failed)"
		echo "integration: 0 passed, 1 failed, 0 skipped"
		exit 1
	fi
fi
# metrics-server (for kubectl top) likewise; a failed build skips only the
# checks that need it, with the reason.
if [ -z "${XN_METRICS_SERVER_BIN:-}" ] && [ -z "${XN_METRICS_SERVER_SKIP:-}" ]; then
	mslog=$(mktemp)
	if d=$("$top/test/cluster/build-metrics-server.sh" 2>"$mslog" | tail -n 1) && [ -x "$d/metrics-server" ]; then
		export XN_METRICS_SERVER_BIN=$d/metrics-server
	else
		cat "$mslog" >&2
		XN_METRICS_SERVER_SKIP="metrics-server build failed: $(sed -n 's/^build-metrics-server.sh: error: //p' "$mslog" | tail -n 1)"
		export XN_METRICS_SERVER_SKIP
	fi
	rm -f "$mslog"
fi

for t in "$here"/test-*.sh; do
	name=$(basename "$t" .sh)
	if [ -n "${XN_ONLY:-}" ] && [[ $name != *"$XN_ONLY"* ]]; then
		continue
	fi
	echo "=== $name"
	out=$(mktemp)
	timeout --foreground -k 10 "${XN_TEST_TIMEOUT:-900}" bash "$t" "$B" 2>&1 | tee "$out"
	rc=${PIPESTATUS[0]}
	line=$(grep -E '[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped' "$out" | tail -n 1)
	rm -f "$out"
	if [ -z "$line" ]; then
		echo "$name: no summary line (exit $rc): counted as one failure"
		fail=$((fail + 1)) failed+=("$name")
		continue
	fi
	p=$(echo "$line" | sed -E 's/^([^0-9]*)?([0-9]+) passed.*/\2/')
	f=$(echo "$line" | sed -E 's/.* ([0-9]+) failed.*/\1/')
	s=$(echo "$line" | sed -E 's/.* ([0-9]+) skipped.*/\1/')
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
	fi
	[ "$f" -eq 0 ] || failed+=("$name")
	pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + s))
done
[ ${#failed[@]} -eq 0 ] || echo "integration: failures in: ${failed[*]}"
echo "integration: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
