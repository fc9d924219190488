#!/bin/sh
# rig-bench.sh - Dom0 side of the bench tier (busybox sh, run by the rig as
# /test.sh with xenletd and xl-pod in /usr/local/bin and the test
# unikernels in /guests).  Measures, never asserts:
#   1. create request -> first console byte, through xenletd (xl-pod create
#      -> first line in the pod's CRI log) and through `xl create` (-> first
#      line in xenconsoled's log), for the same PVH unikernel; the ratio;
#   2. creation time (request -> the guest's XN-TEST-HOLDING line) of the
#      1st, 10th, 25th and 50th domain running at the same time, as many
#      as fit in free memory.
# Times come from /proc/uptime (10 ms) and polls every 50 ms: TCG makes
# every process start cost tens of ms, so figures are +-0.1 s.  Prints
# "BENCH" table lines and "<n> passed, <n> failed, <n> skipped" (1 passed
# when every figure was measured).
SOCK=/run/xenlet/xenletd.sock
LOGS=/var/log/pods
XLOG=/var/log/xen/console
REPS=3
MAXDOMS=50
MEM_MIB=16
bad=0

pod() { xl-pod -s $SOCK "$@"; }
up() { cut -d' ' -f1 /proc/uptime; }
dt() { echo "$1 $2" | awk '{ printf "%.2f", $2 - $1 }'; }
# wait_file_line GLOB PATTERN SECONDS: prints the uptime when a file
# matching GLOB has a line matching PATTERN
wait_line() {
	i=0
	while [ $i -lt $(($3 * 20)) ]; do
		if grep -q "$2" $1 2>/dev/null; then up; return 0; fi
		sleep 0.05; i=$((i + 1))
	done
	return 1
}
mean() { awk '{ s += $1; n++ } END { if (n) printf "%.2f", s / n; else print "-" }'; }

for b in xenletd xl-pod; do
	if ! command -v $b >/dev/null; then
		echo "skipped: $b not in Dom0"
		echo "0 passed, 0 failed, 1 skipped"
		exit 0
	fi
done
mkdir -p /var/lib/xenlet $LOGS /run/xenlet
xenletd --backend=libxl --store=xs -d --root-dir=/var/lib/xenlet --pod-log-dir=$LOGS \
	--ctl-socket=$SOCK --node-name rig --image-root=/guests >/tmp/xenletd.log 2>&1 &
XP=$!
i=0
while ! pod list >/dev/null 2>&1 && [ $i -lt 80 ]; do sleep 0.25; i=$((i + 1)); done

# Warm-up, untimed in the table: under TCG the first run of any code path
# pays for its translation (libxl's, shared by xl and xenletd, too).
t0=$(up)
pod create -m 32Mi -t pvh w0 /guests/xn-test-pvh hold >/dev/null
t1=$(wait_line "$LOGS/default_w0_*/main/0.log" XN-TEST-GUEST 60) &&
	cold=$(dt $t0 $t1) && echo "BENCH warm-up (xenletd's first domain): $cold s"
pod destroy -g 0 w0 >/dev/null
cat >/tmp/w1.cfg <<CFG
name = "w1"
type = "pvh"
kernel = "/guests/xn-test-pvh"
cmdline = "hold"
memory = 32
CFG
t0=$(up)
xl create /tmp/w1.cfg >/dev/null 2>&1 &
xlp=$!
t1=$(wait_line "$XLOG/guest-w1.log" XN-TEST-GUEST 60) &&
	coldxl=$(dt $t0 $t1) && echo "BENCH warm-up (xl's first domain): $coldxl s"
wait $xlp
xl destroy w1

echo "== first console byte: xenletd vs xl create ($REPS runs each, PVH, 32 MiB)"
: >/tmp/xd.t
: >/tmp/xl.t
r=1
while [ $r -le $REPS ]; do
	t0=$(up)
	pod create -m 32Mi -t pvh f$r /guests/xn-test-pvh hold >/dev/null
	if t1=$(wait_line "$LOGS/default_f${r}_*/main/0.log" XN-TEST-GUEST 60); then
		dt $t0 $t1 >>/tmp/xd.t; echo >>/tmp/xd.t
		echo "BENCH run $r xenletd: $(dt $t0 $t1) s"
	else
		echo "BENCH run $r xenletd: no console line within 60 s"; bad=1
	fi
	pod destroy -g 0 f$r >/dev/null
	cat >/tmp/x$r.cfg <<CFG
name = "x$r"
type = "pvh"
kernel = "/guests/xn-test-pvh"
cmdline = "hold"
memory = 32
CFG
	t0=$(up)
	xl create /tmp/x$r.cfg >/dev/null 2>&1 &
	xlp=$!
	if t1=$(wait_line "$XLOG/guest-x$r.log" XN-TEST-GUEST 60); then
		dt $t0 $t1 >>/tmp/xl.t; echo >>/tmp/xl.t
		echo "BENCH run $r xl create: $(dt $t0 $t1) s"
	else
		echo "BENCH run $r xl create: no console line within 60 s"; bad=1
	fi
	wait $xlp
	xl destroy x$r
	r=$((r + 1))
done
md=$(grep . /tmp/xd.t | mean)
ml=$(grep . /tmp/xl.t | mean)
ratio=$(awk -v a="$md" -v b="$ml" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')

free=$(xl info | awk -F': ' '/^free_memory/ { print $2 }')
# a 16 MiB PVH domain takes ~17.5 MiB of Xen's memory with its page
# tables and Xen's own overhead; keep 64 MiB spare
fit=$(((free - 64) * 10 / 175))
n=$MAXDOMS
[ $fit -lt $n ] && n=$fit
echo "== $n concurrent domains ($MEM_MIB MiB each; $free MiB free, room for $fit)"
i=1
: >/tmp/conc.t
while [ $i -le $n ]; do
	t0=$(up)
	if ! pod create -m ${MEM_MIB}Mi -t pvh c$i /guests/xn-test-pvh hold >/tmp/c.out 2>&1; then
		echo "BENCH domain $i: create failed: $(cat /tmp/c.out)"; bad=1; break
	fi
	if ! t1=$(wait_line "$LOGS/default_c${i}_*/main/0.log" XN-TEST-HOLDING 120); then
		echo "BENCH domain $i: not running within 120 s"; bad=1; break
	fi
	echo "$i $(dt $t0 $t1)" >>/tmp/conc.t
	i=$((i + 1))
done
running=$(xl list | awk 'NR > 2' | wc -l)
pods=$(pod list | grep -c ' running ')
t0=$(up)
j=1
while [ $j -lt $i ]; do pod destroy -g 0 c$j >/dev/null; j=$((j + 1)); done
tdestroy=$(dt $t0 $(up))
kill $XP

at() { awk -v k="$1" '$1 == k { print $2 }' /tmp/conc.t; }
echo "BENCH"
echo "BENCH | measure                                     | seconds |"
echo "BENCH |---------------------------------------------|---------|"
echo "BENCH | create -> first console byte, xenletd (mean) | $md |"
echo "BENCH | create -> first console byte, xl create      | $ml |"
echo "BENCH | ratio xenletd / xl                           | $ratio |"
for k in 1 10 25 50; do
	v=$(at $k)
	[ -n "$v" ] && echo "BENCH | creation of concurrent domain #$k            | $v |"
done
echo "BENCH | first domain, cold: xenletd / xl             | ${cold:--} / ${coldxl:--} |"
echo "BENCH | domains running at once (xl list / xl-pod)   | $running / $pods |"
echo "BENCH | destroying all $((i - 1)) (xl-pod destroy -g 0 each) | $tdestroy |"
[ $n -lt $MAXDOMS ] && echo "BENCH note: only $n of $MAXDOMS domains fit in free memory"
if [ $bad = 0 ]; then
	echo "1 passed, 0 failed, 0 skipped"
else
	echo "0 passed, 1 failed, 0 skipped"
	exit 1
fi
