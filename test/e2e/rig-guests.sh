#!/bin/sh
# rig-guests.sh - Dom0 side of the e2e tier (busybox sh, run by the rig as
# /test.sh): starts the test unikernels in /guests with xl and checks what
# they do.  Prints PASS/FAIL/SKIP lines, TIMING lines, and at the end
# "<n> passed, <n> failed, <n> skipped"; exits non-zero on any failure.
pass=0 fail=0 skipped=0
LOGDIR=/var/log/xen/console

ok() { pass=$((pass + 1)); echo "PASS $*"; }
ko() { fail=$((fail + 1)); echo "FAIL $*"; }
up() { cut -d' ' -f1 /proc/uptime; }
dt() { echo "$1 $(up)" | awk '{ printf "%.2f", $2 - $1 }'; }
check() { # check DESCRIPTION COMMAND...
	d=$1; shift
	if "$@"; then ok "$d"; else ko "$d"; fi
}

# wait_for FILE PATTERN SECONDS (poll: process start is slow under TCG)
wait_for() {
	i=0
	while [ $i -lt $(($3 * 4)) ]; do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.25; i=$((i + 1))
	done
	return 1
}

# state NAME: "<state flags> <reason code>" from xl list -v; the reason code
# column (SHUTDOWN_*: 0 poweroff, 1 reboot, 3 crash) is filled once the
# domain has shut down.
state() { xl list -v "$1" 2>/dev/null | awk 'NR == 2 { print $5, $8 }'; }

# wait_shutdown NAME SECONDS: until the domain is shut down or crashed
wait_shutdown() {
	i=0
	while [ $i -lt $(($2 * 4)) ]; do
		case "$(state "$1")" in *s*' '* | *c*' '*) return 0 ;; esac
		sleep 0.25; i=$((i + 1))
	done
	return 1
}

# first_line NAME: the guest's first console line, without the CR
first_line() { head -n 1 "$LOGDIR/guest-$1.log" 2>/dev/null | tr -d '\r'; }

# start TYPE NAME CMDLINE: create paused, put a greeting in xenstore, unpause
start() {
	cat >/tmp/$2.cfg <<CFG
name = "$2"
type = "$1"
kernel = "/guests/xn-test-$1"
cmdline = "$3"
memory = 32
vcpus = 1
on_poweroff = "preserve"
on_crash = "preserve"
on_reboot = "preserve"
CFG
	t_create=$(up)
	if ! xl create -p /tmp/$2.cfg >/tmp/$2.create.log 2>&1; then
		cat /tmp/$2.create.log
		return 1
	fi
	id=$(xl domid "$2")
	xenstore-write /local/domain/$id/xenlet/greeting "hello-$2"
	xl unpause "$2"
	echo "TIMING $2: xl create -p + unpause $(dt $t_create) s"
}

show_console() { sed 's/\r$//; s/^/  | /' "$LOGDIR/guest-$1.log" 2>/dev/null | head -n 12; }

# --- exit=0: banner first, cmdline, greeting, ready and exit code in
# xenstore, numbered lines, powers off.
guest_exit() { # TYPE
	n=xn-$1-exit
	if ! start $1 $n "exit=0 ready lines=50"; then ko "$1 exit: xl create"; return; fi
	id=$(xl domid $n)
	wait_shutdown $n 60
	echo "TIMING $n: shut down $(dt $t_create) s after xl create"
	show_console $n
	check "$1 exit: banner is the first console line" \
		[ "$(first_line $n)" = "XN-TEST-GUEST $1 v1 booting" ]
	check "$1 exit: command line printed" grep -q "XN-TEST-CMDLINE exit=0 ready lines=50" $LOGDIR/guest-$n.log
	check "$1 exit: greeting read from xenstore" grep -q "XN-TEST-GREETING hello-$n" $LOGDIR/guest-$n.log
	check "$1 exit: 50 numbered lines" [ "$(grep -c '^XN-TEST-LINE [0-9]' $LOGDIR/guest-$n.log)" = 50 ]
	check "$1 exit: data/xenlet/ready = 1" [ "$(xenstore-read /local/domain/$id/data/xenlet/ready 2>&1)" = 1 ]
	check "$1 exit: data/xenlet/exit-code = 0" [ "$(xenstore-read /local/domain/$id/data/xenlet/exit-code 2>&1)" = 0 ]
	s=$(state $n)
	check "$1 exit: shutdown reason poweroff (state/reason: $s)" [ "${s#* }" = 0 ]
	xl destroy $n
}

# --- crash: SHUTDOWN_crash, kept by on_crash=preserve
guest_crash() {
	n=xn-$1-crash
	if ! start $1 $n "crash"; then ko "$1 crash: xl create"; return; fi
	wait_shutdown $n 60
	s=$(state $n)
	check "$1 crash: banner is the first console line" [ "$(first_line $n)" = "XN-TEST-GUEST $1 v1 booting" ]
	check "$1 crash: crashed, reason 3 (state/reason: $s)" [ "${s#* }" = 3 ] && case "$s" in *c*) true ;; *) false ;; esac
	xl destroy $n
}

# --- hold: stays up; "xl shutdown" (control/shutdown) powers it off
guest_hold_shutdown() {
	n=xn-$1-hold
	if ! start $1 $n "hold"; then ko "$1 hold: xl create"; return; fi
	if ! wait_for $LOGDIR/guest-$n.log XN-TEST-HOLDING 60; then
		ko "$1 hold: never printed XN-TEST-HOLDING"
		show_console $n
		xl destroy $n
		return
	fi
	sleep 1
	check "$1 hold: still running" sh -c "xl domid $n >/dev/null"
	t0=$(up)
	xl shutdown -w $n >/tmp/$n.shutdown.log 2>&1 || cat /tmp/$n.shutdown.log
	wait_shutdown $n 30
	echo "TIMING $n: xl shutdown took $(dt $t0) s"
	s=$(state $n)
	check "$1 hold: xl shutdown -> poweroff (state/reason: $s)" [ "${s#* }" = 0 ]
	check "$1 hold: guest saw the request" grep -q "XN-TEST-SHUTDOWN-REQUEST poweroff" $LOGDIR/guest-$n.log
	xl destroy $n
}

# --- hold: xl destroy removes a running guest
guest_hold_destroy() {
	n=xn-$1-destroy
	if ! start $1 $n "hold"; then ko "$1 destroy: xl create"; return; fi
	wait_for $LOGDIR/guest-$n.log XN-TEST-HOLDING 60
	t0=$(up)
	xl destroy $n
	echo "TIMING $n: xl destroy took $(dt $t0) s"
	check "$1 destroy: domain is gone" sh -c "! xl domid $n 2>/dev/null"
}

echo "RIG-XEN $(xl info | awk -F': ' '/^xen_version/ { print $2 }') $(xl info | awk -F': ' '/^virt_caps/ { print "(" $2 ")" }')"
for t in pvh pv; do
	if [ ! -f /guests/xn-test-$t ]; then
		skipped=$((skipped + 4)); echo "SKIP $t: /guests/xn-test-$t missing"; continue
	fi
	guest_exit $t
	guest_crash $t
	guest_hold_shutdown $t
	guest_hold_destroy $t
done
xl list
echo "$pass passed, $fail failed, $skipped skipped"
[ $fail = 0 ]
