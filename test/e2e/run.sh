#!/bin/bash
# run.sh BUILD_DIR - the e2e tier: build the test unikernels, boot Xen in
# QEMU (test/rig/rig.sh) and run test/e2e/rig-guests.sh in its Dom0.
# BUILD_DIR/xenletd and BUILD_DIR/xl-pod go into Dom0 when they exist.
# The whole rig output is kept in BUILD_DIR/e2e/rig.log; the interesting
# lines are shown.  Ends with "e2e: <n> passed, <n> failed, <n> skipped".
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
bins=()
for f in "$B/xenletd" "$B/xl-pod"; do
	[ -x "$f" ] && bins+=(--bin "$f")
done

t0=$(date +%s)
"$ROOT/test/rig/rig.sh" ${bins[@]+"${bins[@]}"} --guests "$B/guests" --work "$OUT/work" \
	"$ROOT/test/e2e/rig-guests.sh" >"$OUT/rig.log" 2>&1
rc=$?
secs=$(($(date +%s) - t0))
if [ $rc = 77 ]; then
	grep '^skipped:' "$OUT/rig.log" | tail -1
	summary 0 0 1
	exit 0
fi
# Xen's version, the Dom0 markers, the guests' own lines (Xen prints what a
# PVH guest writes to port 0xe9 as "(dN) ..."), and the test's verdicts.
grep -E 'Xen version|RIG-|XN-TEST-|PASS |FAIL |SKIP |TIMING |\[rig ' "$OUT/rig.log" |
	grep -v 'XN-TEST-LINE '
line=$(grep -Eo '[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped' "$OUT/rig.log" | tail -1)
echo "e2e: the rig took $secs s (full log: $OUT/rig.log)"
if [ -z "$line" ]; then
	echo "e2e: the Dom0 test did not finish; last lines of the log:"
	tail -n 40 "$OUT/rig.log"
	summary 0 1 0
	exit 1
fi
echo "e2e: $line"
[ $rc = 0 ]
