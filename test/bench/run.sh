#!/bin/bash
# run.sh BUILD_DIR - every benchmark (test/bench/bench-*.sh): each prints a
# table of figures and ratios.  Benchmarks never pass or fail on a number; a
# benchmark that could not run at all counts as failed, one that lacks what it
# needs (Xen rig, packages) as skipped, with the reason printed.
set -u
here=$(cd "$(dirname "$0")" && pwd)
B=${1:-build}
ran=0 failed=0 skipped=0
if [ -z "${XN_CLUSTER_BIN:-}" ]; then
	bin=$("$here/../cluster/build.sh" | tail -n 1) && export XN_CLUSTER_BIN=$bin
fi
for b in "$here"/bench-*.sh; do
	echo "=== $(basename "$b" .sh)"
	bash "$b" "$B"
	rc=$?
	case $rc in
	0) ran=$((ran + 1)) ;;
	77) skipped=$((skipped + 1)) ;;
	*) failed=$((failed + 1)) ;;
	esac
done
echo "bench: $ran passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
