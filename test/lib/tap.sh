# tap.sh - result helpers for the shell test scripts; source it.  POSIX sh
# (no arrays, no [[ ]]), so busybox ash in a Dom0 can source it too.
#
# Every result is one TAP-style line, "ok - NAME" or "not ok - NAME", and
# goes into the counters pass, fail and skip; `summary LABEL` prints the
# line the tier runners add up: "LABEL: N passed, N failed, N skipped".
# Helpers use only variables named _tap_*.

pass=0 fail=0 skip=0

# ok NAME
ok() {
	echo "ok - $1"
	pass=$((pass + 1))
}

# not_ok NAME [DETAILS]: DETAILS follow as "#   " lines, the first
# TAP_DETAIL_LINES of them if the caller set that
not_ok() {
	echo "not ok - $1"
	if [ $# -gt 1 ] && [ -n "$2" ]; then
		printf '%s\n' "$2" | head -n "${TAP_DETAIL_LINES:-2147483647}" | sed 's/^/#   /'
	fi
	fail=$((fail + 1))
}

# check NAME STATUS [DETAILS]: ok when STATUS, an exit status, is 0
check() {
	if [ "$2" -eq 0 ]; then ok "$1"; else not_ok "$1" "${3:-}"; fi
}

# check_eq NAME GOT WANT: ok when the two strings are equal
check_eq() {
	if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1" "got '$2', want '$3'"; fi
}

# skip NAME REASON: a check that cannot run here
skip() {
	echo "ok - $1 # SKIP $2"
	echo "skipped: $2"
	skip=$((skip + 1))
}

# wait_for SECONDS CMD...: run CMD (its output discarded) every 0.2 s until
# it succeeds; fails once SECONDS have passed.  A bound on waiting for the
# system under test, never a measurement.
wait_for() {
	_tap_end=$(($(date +%s) + $1))
	shift
	while :; do
		"$@" >/dev/null 2>&1 && return 0
		[ "$(date +%s)" -lt "$_tap_end" ] || return 1
		sleep 0.2
	done
}

# summary LABEL: the summary line; returns 1 if anything failed
summary() {
	echo "$1: $pass passed, $fail failed, $skip skipped"
	[ "$fail" -eq 0 ]
}
