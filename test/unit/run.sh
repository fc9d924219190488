#!/bin/bash
# run.sh BUILD_DIR - run every unit test binary with TAP output and print one
# summary line "N passed, N failed, N skipped".  A test that skips prints
# "skipped: <reason>" itself; the harness counts it as skipped, never passed.
set -u
B=${1:-build}
pass=0 fail=0 skip=0
failed_bins=()
for t in "$B"/test/unit/test_*; do
	[ -x "$t" ] || continue
	out=$(CMOCKA_MESSAGE_OUTPUT=TAP "$t" 2>&1)
	rc=$?
	echo "$out" | sed "s|^|$(basename "$t"): |"
	# cmocka 1.1 reports a skip as "not ok N # SKIP"; others as "ok N # SKIP"
	p=$(echo "$out" | grep -E '^ok [0-9]+' | grep -cv '# SKIP')
	s=$(echo "$out" | grep -cE '^(not )?ok [0-9]+.*# SKIP')
	f=$(echo "$out" | grep -E '^not ok [0-9]+' | grep -cv '# SKIP')
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		# crashed (sanitizer report, abort) before reporting a failure
		f=1
	fi
	[ "$f" -eq 0 ] || failed_bins+=("$(basename "$t")")
	pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + s))
done
[ ${#failed_bins[@]} -eq 0 ] || echo "failed: ${failed_bins[*]}"
echo "unit ($B): $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
