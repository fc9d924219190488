#!/bin/bash
# run.sh BUILD_DIR SECONDS [NAME...] - run each libFuzzer target in
# BUILD_DIR/test/fuzz/ (all of test/fuzz/fuzz_*.c, or the NAMEs given) for
# SECONDS, one after the other, and print one summary line
# "fuzz: N passed, N failed, N skipped".  A target that crashes, leaks,
# times out or runs out of memory has failed; its input is kept and its path
# printed.  A target that was not built because clang has no libFuzzer
# runtime is skipped, with the reason.
#
# The seed corpus test/fuzz/corpus/NAME/ is read, never written: new inputs
# go to BUILD_DIR/fuzz/corpus/NAME/, which later runs start from too (merge
# them into the seed corpus by hand, see docs/fuzzing.md).  Logs are in
# BUILD_DIR/fuzz/log/NAME.log, crash inputs in BUILD_DIR/fuzz/crash/NAME/.
#
# run.sh --probe CC: exit 0 when CC can link a libFuzzer target.
set -u
cd "$(dirname "$0")/../.."

if [ "${1:-}" = --probe ]; then
	probe=$(mktemp -d)
	printf '%s\n' '#include <stddef.h>' '#include <stdint.h>' \
		'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);' \
		'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { return d && n > 99; }' \
		>"$probe/p.c"
	"${2:-clang}" -fsanitize=fuzzer,address,undefined -o "$probe/p" "$probe/p.c" >/dev/null 2>&1
	rc=$?
	rm -rf "$probe"
	exit $rc
fi

B=${1:?usage: run.sh BUILD_DIR SECONDS [NAME...]}
SECS=${2:?usage: run.sh BUILD_DIR SECONDS [NAME...]}
shift 2
if [ $# -gt 0 ]; then
	names=("$@")
else
	names=()
	for f in test/fuzz/fuzz_*.c; do
		n=${f#test/fuzz/fuzz_}
		names+=("${n%.c}")
	done
fi

have_fuzzer=1
"$0" --probe "${FUZZ_CC:-clang}" || have_fuzzer=0
pass=0 fail=0 skip=0
W=$B/fuzz
for n in "${names[@]}"; do
	bin=$B/test/fuzz/fuzz_$n
	if [ ! -f "test/fuzz/fuzz_$n.c" ]; then
		echo "fuzz $n: failed: no target test/fuzz/fuzz_$n.c"
		fail=$((fail + 1))
		continue
	fi
	if [ $have_fuzzer = 0 ]; then
		echo "fuzz $n: skipped: ${FUZZ_CC:-clang} cannot link libFuzzer (Debian: install libclang-rt-14-dev)"
		skip=$((skip + 1))
		continue
	fi
	if [ ! -x "$bin" ]; then
		echo "fuzz $n: failed: $bin was not built"
		fail=$((fail + 1))
		continue
	fi
	# files the kubeconfig and config targets write: on tmpfs when there is
	# one (every input rewrites a file; on ext4 the truncation alone costs)
	tmp=$(mktemp -d "${XN_FUZZ_TMP:-/dev/shm}/xn-fuzz-$n.XXXXXX" 2>/dev/null) ||
		tmp=$(mktemp -d "$W/tmp-$n.XXXXXX")
	mkdir -p "$W/corpus/$n" "$W/crash/$n" "$W/log"
	seeds=()
	[ -d "test/fuzz/corpus/$n" ] && seeds=("test/fuzz/corpus/$n")
	dict=()
	[ -f "test/fuzz/dict/$n.dict" ] && dict=("-dict=test/fuzz/dict/$n.dict")
	log=$W/log/$n.log
	# One process (no -jobs/-workers: libFuzzer's default, and the machine is
	# shared).  -timeout catches hangs (an input that takes 10 s is a
	# finding), -rss_limit_mb runaway memory.
	TMPDIR=$tmp "$bin" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$W/crash/$n/" \
		"${dict[@]}" "$W/corpus/$n" "${seeds[@]}" </dev/null >"$log" 2>&1
	rc=$?
	rm -rf "$tmp"
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	cov=$(sed -n 's/^#[0-9]*[[:space:]]*DONE[[:space:]]*cov: \([0-9]*\).*/\1/p' "$log" | tail -1)
	if [ $rc -eq 0 ]; then
		echo "fuzz $n: passed: ${runs:-?} executions in ${SECS} s, coverage ${cov:-?}"
		pass=$((pass + 1))
	else
		art=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
		why=$(grep -m1 -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error:)' "$log")
		echo "fuzz $n: failed (exit $rc): ${why:-see $log}"
		echo "fuzz $n: crash input: ${art:-none written}; log: $log"
		echo "fuzz $n: reproduce: $bin ${art:-}"
		fail=$((fail + 1))
	fi
done
echo "fuzz: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
