#!/bin/bash
# bench-xen.sh BUILD_DIR - real Xen: boots Xen in QEMU (test/rig/rig.sh) and
# runs test/bench/rig-bench.sh in its Dom0, which times xenletd against
# `xl create` and many concurrent domains.  Figures are printed, never
# asserted (they come from software emulation: compare ratios, not
# seconds).  The rig output is kept in BUILD_DIR/bench/rig.log.  Exit 0:
# measured; 77: skipped (the reason is printed); else failed.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
B=$(mkdir -p "${1:-build}" && cd "${1:-build}" && pwd)
OUT=$B/bench
mkdir -p "$OUT"

summary() { echo "bench-xen: $1 passed, $2 failed, $3 skipped"; }

if ! make -s -C "$ROOT/test/guests" O="$B/guests"; then
	echo "bench-xen: building the test unikernels failed"
	summary 0 1 0
	exit 1
fi
for f in "$B/xenletd" "$B/xl-pod"; do
	if [ ! -x "$f" ]; then
		echo "bench-xen: skipped: $f not built"
		summary 0 0 1
		exit 77
	fi
done
t0=$(date +%s)
"$ROOT/test/rig/rig.sh" --bin "$B/xenletd" --bin "$B/xl-pod" --guests "$B/guests" \
	--work "$OUT/work" --timeout 1200 "$ROOT/test/bench/rig-bench.sh" >"$OUT/rig.log" 2>&1
rc=$?
secs=$(($(date +%s) - t0))
if [ $rc = 77 ]; then
	echo "bench-xen: $(grep '^skipped:' "$OUT/rig.log" | tail -1)"
	summary 0 0 1
	exit 77
fi
grep -E 'Xen version|BENCH' "$OUT/rig.log" | sed 's/^ *[0-9.]* //'
line=$(grep -Eo '[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped' "$OUT/rig.log" | tail -1)
echo "bench-xen: the rig took $secs s (full log: $OUT/rig.log)"
if [ -z "$line" ]; then
	echo "bench-xen: the Dom0 script did not finish; last lines of the log:"
	tail -n 30 "$OUT/rig.log"
	summary 0 1 0
	exit 1
fi
echo "bench-xen: $line"
[ $rc = 0 ]
