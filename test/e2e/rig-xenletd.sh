#!/bin/sh
# rig-xenletd.sh - Dom0 side of the e2e tier for xenletd on real Xen
# (busybox sh, run by the rig as /test.sh with xenletd and xl-pod in
# /usr/local/bin and the test unikernels in /guests).  Starts xenletd with
# the libxl backend and the xenstore store, drives it with xl-pod and checks
# what happens to the domains, their exit codes, consoles and leftovers.
# Prints PASS/FAIL/SKIP lines, TIMING lines, and at the end
# "<n> passed, <n> failed, <n> skipped"; exits non-zero on any failure.
pass=0 fail=0 skipped=0
ROOT=/var/lib/xenlet
LOGS=/var/log/pods
SOCK=/run/xenlet/xenletd.sock
DLOG=/tmp/xenletd.log
IMAGES=/tmp/xn-images # a second image root, for the bad kernels below
XP=
NET_ARGS= # "--pod-cidr ..." for the pod network part
[ -f /etc/rig.env ] && . /etc/rig.env

ok() { pass=$((pass + 1)); echo "PASS $*"; }
ko() { fail=$((fail + 1)); echo "FAIL $*"; }
skip() { skipped=$((skipped + 1)); echo "SKIP $*"; }
check() { # check DESCRIPTION COMMAND...
	d=$1; shift
	if "$@"; then ok "$d"; else ko "$d"; fi
}
up() { cut -d' ' -f1 /proc/uptime; }
dt() { echo "$1 $(up)" | awk '{ printf "%.2f", $2 - $1 }'; }
pod() { xl-pod -s $SOCK "$@"; }
has() { echo "$1" | grep -qi -- "$2"; }

for b in xenletd xl-pod; do
	if ! command -v $b >/dev/null; then
		echo "skipped: $b not in Dom0 (build it and pass it with rig.sh --bin)"
		echo "0 passed, 0 failed, 1 skipped"
		exit 0
	fi
done

# ---- the daemon ----

start_daemon() {
	local i
	mkdir -p $ROOT $LOGS /run/xenlet
	mkdir -p $IMAGES
	xenletd --backend=libxl --store=xs -d -v --root-dir=$ROOT --pod-log-dir=$LOGS \
		--ctl-socket=$SOCK --node-name rig --image-root=/guests --image-root=$IMAGES \
		$NET_ARGS >>$DLOG 2>&1 &
	XP=$!
	i=0
	while [ $i -lt 80 ]; do
		pod list >/dev/null 2>&1 && return 0
		kill -0 $XP 2>/dev/null || break
		sleep 0.25; i=$((i + 1))
	done
	echo "xenletd did not come up; its log:"
	tail -n 30 $DLOG
	return 1
}
alive() { kill -0 $XP 2>/dev/null; }

# ---- what xl-pod and Xen say ----

# obj NAME: the pod's object from `xl-pod list -l` on one line
obj() { pod list -l | tr -d '\n\t' | sed 's/}, *{/}\n{/g' | grep "\"name\":\"$1\""; }
# field NAME KEY: a string or number member of the pod's object
field() {
	obj "$1" | sed -n "s/.*\"$2\":\"\([^\"]*\)\".*/\1/p; t; s/.*\"$2\":\([0-9.-]*\).*/\1/p"
}
# wait_state NAME STATE SECONDS
wait_state() {
	local i=0
	while [ $i -lt $(($3 * 4)) ]; do
		[ "$(field "$1" state)" = "$2" ] && return 0
		sleep 0.25; i=$((i + 1))
	done
	return 1
}
# wait_gone NAME SECONDS: the pod is no longer listed
wait_gone() {
	local i=0
	while [ $i -lt $(($2 * 4)) ]; do
		[ -z "$(obj "$1")" ] && return 0
		sleep 0.25; i=$((i + 1))
	done
	return 1
}
# crilog NAME: the pod's first CRI log file
crilog() { ls $LOGS/default_"$1"_*/main/0.log 2>/dev/null | head -n 1; }
# console NAME: the log's lines without the CRI prefix (time stream tag)
console() { local f; f=$(crilog "$1"); [ -n "$f" ] && cut -d' ' -f4- "$f" | tr -d '\r'; }
# wait_console NAME PATTERN SECONDS
wait_console() {
	local i=0
	while [ $i -lt $(($3 * 4)) ]; do
		console "$1" | grep -q "$2" && return 0
		sleep 0.25; i=$((i + 1))
	done
	return 1
}
show_console() { console "$1" | head -n 8 | sed 's/^/  | /'; }
# domains: how many domains besides Dom0 Xen runs
domains() { xl list | awk 'NR > 2' | wc -l; }
xl_has() { xl list "$1" >/dev/null 2>&1; }
# no_domain DOMID: the domain id is neither in Xen nor in xenstore
no_domain() {
	! xl list | awk 'NR > 1 { print $2 }' | grep -qx "$1" &&
		! xenstore-exists /local/domain/"$1" 2>/dev/null
}

# run_exit NAME TYPE CMDLINE WANT_CODE WANT_REASON: a guest that ends by itself
run_exit() {
	n=$1
	t0=$(up)
	if ! pod create -t "$2" "$n" /guests/xn-test-"$2" $3 >/tmp/$n.uid 2>&1; then
		ko "$n: xl-pod create: $(cat /tmp/$n.uid)"; return
	fi
	if ! wait_state "$n" terminated 60; then
		ko "$n: terminated within 60 s (state: $(field "$n" state) $(field "$n" message))"
		return
	fi
	echo "TIMING $n: create to terminated $(dt $t0) s"
	show_console "$n"
	grep -q "pod default/$n: Started" $DLOG && ok "$n: was started (running)" ||
		ko "$n: no Started event in the daemon log"
	check "$n: exit code $4 (got $(field "$n" exitCode), $(field "$n" message))" \
		[ "$(field "$n" exitCode)" = "$4" ]
	check "$n: reason $5 (got $(field "$n" reason))" [ "$(field "$n" reason)" = "$5" ]
	first=$(console "$n" | head -n 1)
	case $2 in pv) want="XN-TEST-GUEST pv v1 booting" ;; *) want="XN-TEST-GUEST pvh v1 booting" ;; esac
	check "$n: banner is the first line of the CRI log (got \"$first\")" [ "$first" = "$want" ]
	second=$(console "$n" | sed -n 2p)
	check "$n: command line is the second line" [ "$second" = "XN-TEST-CMDLINE $3" ]
	check "$n: domain gone from xl list" sh -c "! xl list | grep -q '^default-$n-'"
}

# ---- the checks ----

echo "== xenletd with the libxl backend"
: >$DLOG
if ! start_daemon; then
	ko "xenletd starts"
	echo "$pass passed, $fail failed, $skipped skipped"
	exit 1
fi
ok "xenletd starts (libxl backend, xenstore store)"

echo "== node"
pod node | sed 's/^/  | /'
xv=$(xl info | awk -F': ' '/^xen_version/ { print $2 }')
nc=$(xl info | awk -F': ' '/^nr_cpus/ { print $2 }')
xf=$(xl info | awk -F': ' '/^free_memory/ { print $2 }')
pv=$(pod node | awk -F': ' '/^xen_version/ { print $2 }')
pc=$(pod node | awk -F': ' '/^nr_cpus/ { print $2 }')
pf=$(pod node | awk -F': ' '/^free_memory/ { print $2 }')
check "node: Xen version $pv = xl info's $xv" [ -n "$pv" -a "$pv" = "$xv" ]
check "node: CPUs $pc = xl info's $nc" [ -n "$pc" -a "$pc" = "$nc" ]
check "node: free memory $pf MiB ~ xl info's $xf MiB" \
	awk -v a="$pf" -v b="$xf" 'BEGIN { d = a - b; exit !(a > 0 && d < 8 && d > -8) }'

echo "== the store's unit tests against the real xenstored"
if command -v test_store >/dev/null 2>&1; then
	CMOCKA_MESSAGE_OUTPUT=TAP test_store >/tmp/test_store.out 2>&1
	ts_rc=$?
	sed -n 's/^\(not \)\{0,1\}ok /  test_store: &/p' /tmp/test_store.out
	check "store: every unit test passes in Dom0 (exit $ts_rc)" sh -c "[ $ts_rc = 0 ] && ! grep -q '^not ok' /tmp/test_store.out"
	check "store: the xenstore backend (xs) case ran here, not skipped" \
		grep -q '^ok [0-9]* - xs_backend$' /tmp/test_store.out
else
	skip "store unit tests: test_store was not copied into Dom0"
fi

echo "== guests that end by themselves"
run_exit e0 pvh "exit=0 ready lines=3" 0 Completed
run_exit e3 pvh "exit=3" 3 Error
run_exit c1 pvh "crash" 134 Error
run_exit p0 pv "exit=0 lines=2" 0 Completed
run_exit pc pv "crash" 134 Error

echo "== a guest that never boots"
# --ready: booted means the readiness flag; a guest without the "ready" word
# never sets it, so the boot deadline destroys it
t0=$(up)
if pod create --boot-timeout 5 --ready -t pvh bt /guests/xn-test-pvh hold >/dev/null 2>&1 &&
	wait_state bt terminated 60; then
	echo "TIMING bt: create to destroyed at the boot deadline $(dt $t0) s"
	check "bt: exit code 124 at the boot deadline (got $(field bt exitCode))" [ "$(field bt exitCode)" = 124 ]
	check "bt: reason BootTimeout (got $(field bt reason): $(field bt message))" [ "$(field bt reason)" = BootTimeout ]
	check "bt: domain gone from xl list" sh -c "! xl list | grep -q '^default-bt-'"
else
	ko "bt: terminated at its boot deadline (state: $(field bt state) $(field bt message))"
fi

echo "== destroy with a grace period"
# hold_destroy NAME TYPE CMDLINE GRACE LINE: destroy -g GRACE a holding
# guest; LINE is what the guest must have printed on its way out, read
# from the CRI log held open across the destroy (which removes the log):
# what the guest said before it died must be in the log by then.
hold_destroy() {
	n=$1
	pod create -t "$2" "$n" /guests/xn-test-"$2" $3 >/dev/null
	if ! wait_state "$n" running 60 || ! wait_console "$n" XN-TEST-HOLDING 30; then
		ko "$n: running and holding (state: $(field "$n" state) $(field "$n" message))"
		return
	fi
	exec 3<"$(crilog "$n")"
	id=$(field "$n" domid)
	t0=$(up)
	pod destroy -g "$4" "$n"
	rc=$?
	el=$(dt $t0)
	cat <&3 >/tmp/$n.console
	exec 3<&-
	echo "TIMING $n: destroy -g $4 ($3) $el s"
	check "$n: destroy -g $4 succeeds" [ $rc = 0 ]
	check "$n: guest printed \"$5\"" grep -q "$5" /tmp/$n.console
	check "$n: pod forgotten" [ -z "$(obj "$n")" ]
	check "$n: domain $id gone (xl list, xenstore)" no_domain "$id"
}
hold_destroy h1 pvh hold 5 "XN-TEST-SHUTDOWN-REQUEST poweroff"
hold_destroy h2 pv hold 5 "XN-TEST-SHUTDOWN-REQUEST poweroff"
hold_destroy h3 pvh "hold noshutdown" 3 "XN-TEST-SHUTDOWN-IGNORED poweroff"
check "h3: destroyed at the deadline, not before ($el s >= 3)" \
	awk -v t="$el" 'BEGIN { exit !(t >= 2.9) }'

echo "== a guest that never acknowledges a shutdown request"
# "deaf": no shutdown driver, as a Unikraft helloworld built for Xen.  libxl
# waits up to 60 s for the acknowledgement of control/shutdown; the daemon
# must go on answering meanwhile and destroy the domain when the grace
# period ends.  Each `xl-pod list` is bounded by timeout(1) so a frozen
# daemon shows as a slow answer instead of hanging the test.  (/proc/uptime:
# busybox's date has no %N; its 10 ms steps are plenty for a 1 s bound.)
list_ms() { # list_ms: milliseconds one `xl-pod list` takes (5000: no answer)
	local a b
	a=$(up)
	timeout 5 xl-pod -s $SOCK list >/dev/null 2>&1 || { echo 5000; return; }
	b=$(up)
	echo "$a $b" | awk '{ printf "%d", ($2 - $1) * 1000 }'
}
id=
pod create -t pv d1 /guests/xn-test-pv deaf >/dev/null
if wait_state d1 running 60 && wait_console d1 XN-TEST-TICK 30; then
	id=$(field d1 domid)
	exec 3<"$(crilog d1)"
	t0=$(up)
	pod destroy -g 3 d1 >/tmp/d1.destroy 2>&1 &
	DP=$!
	i=0 # the grace period has begun once the daemon says so
	while [ $i -lt 40 ] && ! grep -q "pod default/d1: Killing" $DLOG; do
		sleep 0.1; i=$((i + 1))
	done
	worst=0 samples=""
	while kill -0 $DP 2>/dev/null && [ "$(dt $t0 | cut -d. -f1)" -lt 3 ]; do
		ms=$(list_ms)
		samples="$samples $ms"
		[ "$ms" -gt "$worst" ] && worst=$ms
		sleep 0.2
	done
	echo "TIMING d1: xl-pod list during the grace period (ms):$samples"
	check "d1: xl-pod list answers within 1 s while the grace period runs (worst $worst ms)" \
		[ -n "$samples" -a "$worst" -lt 1000 ]
	i=0 # the destroy returns once the pod is forgotten
	while [ $i -lt 120 ] && kill -0 $DP 2>/dev/null; do sleep 0.25; i=$((i + 1)); done
	el=$(dt $t0)
	kill -0 $DP 2>/dev/null && { kill $DP; ko "d1: destroy -g 3 returned within 30 s"; }
	wait $DP
	rc=$?
	cat <&3 >/tmp/d1.console
	exec 3<&-
	echo "TIMING d1: destroy -g 3 (deaf) $el s"
	check "d1: destroy -g 3 succeeds (rc $rc: $(cat /tmp/d1.destroy))" [ $rc = 0 ]
	check "d1: the guest ran on into the grace period (ticks in its log)" \
		grep -q "XN-TEST-TICK" /tmp/d1.console
	check "d1: destroyed at the deadline, not before ($el s >= 3)" \
		awk -v t="$el" 'BEGIN { exit !(t >= 2.9) }'
	check "d1: domain $id gone (xl list, xenstore)" no_domain "$id"
	check "d1: pod forgotten" [ -z "$(obj d1)" ]
	# the kill's outcome as the daemon reports it (its pod events)
	check "d1: exit code 137 (destroyed) recorded in the daemon's pod events" \
		grep -q "pod default/d1: .*exit code 137" $DLOG
else
	ko "d1: running and ticking (state: $(field d1 state) $(field d1 message))"
fi
[ -z "$id" ] || grep "domain $id:" $DLOG | sed 's/^/  | /' # what the backend did
# a domain left behind would fail the checks below a second time
[ -z "$id" ] || no_domain "$id" || xl destroy "$id"

echo "== xenletd stopped while a guest ignores its shutdown request"
# Domains outlive the daemon; libxl's wait for the acknowledgement (60 s)
# must not hold the stop (close() would give up on it after 30 s and leak
# the libxl context, saying so in the log).
id=
pod create -t pv d2 /guests/xn-test-pv deaf >/dev/null
if wait_state d2 running 60 && wait_console d2 XN-TEST-TICK 30; then
	id=$(field d2 domid)
	pod destroy -g 60 d2 >/dev/null 2>&1 &
	DP=$!
	i=0
	while [ $i -lt 40 ] && ! grep -q "pod default/d2: Killing" $DLOG; do
		sleep 0.1; i=$((i + 1))
	done
	t0=$(up)
	kill $XP
	i=0
	while alive && [ $i -lt 160 ]; do sleep 0.25; i=$((i + 1)); done
	echo "TIMING d2: SIGTERM to exit during a grace period $(dt $t0) s"
	check "d2: xenletd stops on SIGTERM during the grace period" sh -c "! kill -0 $XP 2>/dev/null"
	check "d2: no libxl operation left running at close" \
		sh -c "! grep -q 'operations still running at close' $DLOG"
	check "d2: domain $id outlives the daemon" sh -c "xl list $id >/dev/null 2>&1"
	kill $DP 2>/dev/null
	wait $DP 2>/dev/null
	echo "--- restart" >>$DLOG
	if start_daemon; then
		pod destroy -g 0 d2 >/dev/null 2>&1
		i=0
		while [ $i -lt 40 ] && ! no_domain "$id"; do sleep 0.25; i=$((i + 1)); done
		check "d2: destroyable after the restart" no_domain "$id"
	else
		ko "xenletd restarts after a stop during a grace period"
	fi
else
	ko "d2: running and ticking (state: $(field d2 state) $(field d2 message))"
fi
[ -z "$id" ] || no_domain "$id" || xl destroy "$id"

echo "== pause / unpause"
# xl list's state column: the third flag is 'p' while paused
xl_paused() { xl list "$1" 2>/dev/null | awk 'NR == 2 { exit !(substr($5, 3, 1) == "p") }'; }
xl_running_unpaused() { xl list "$1" >/dev/null 2>&1 && ! xl_paused "$1"; }
pod create -t pvh pz /guests/xn-test-pvh hold >/dev/null
if wait_state pz running 60; then
	pid_=$(field pz domid)
	pod pause pz
	check "pause: xl-pod pause succeeds and xl list shows domain $pid_ paused" xl_paused "$pid_"
	pod unpause pz
	check "unpause: xl-pod unpause succeeds and domain $pid_ runs again" xl_running_unpaused "$pid_"
	check "pause/unpause: the pod is still running with the same domid" [ "$(field pz state)" = running -a "$(field pz domid)" = "$pid_" ]
	pod destroy -g 0 pz
else
	ko "pz: running (state: $(field pz state) $(field pz message))"
fi

echo "== 20 domains in a row"
n20=0
for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
	pod create -m 16Mi -t pvh r$i /guests/xn-test-pvh hold >/dev/null 2>&1 &&
		wait_console r$i XN-TEST-HOLDING 60 && pod destroy -g 0 r$i >/dev/null &&
		n20=$((n20 + 1))
done
check "20 domains created, ran and destroyed in a row ($n20 ok)" [ $n20 = 20 ]
pod destroy e0 >/dev/null; pod destroy e3 >/dev/null; pod destroy c1 >/dev/null
pod destroy p0 >/dev/null; pod destroy pc >/dev/null; pod destroy bt >/dev/null
check "afterwards: xl list shows only Dom0" [ "$(domains)" = 0 ]
left=$(xenstore-list /xenlet/pods 2>/dev/null | wc -l)
check "afterwards: no /xenlet/pods records ($left)" [ "$left" = 0 ]
ld=$(xenstore-list /local/domain 2>/dev/null | tr '\n' ' ')
check "afterwards: /local/domain holds only 0 ($ld)" [ "$ld" = "0 " ]
vifs=$(ls /sys/class/net | grep -c '^vif')
check "afterwards: no vif devices ($vifs)" [ "$vifs" = 0 ]
bk=$(for b in $(xenstore-list /local/domain/0/backend 2>/dev/null); do
	xenstore-list /local/domain/0/backend/$b 2>/dev/null; done | tr '\n' ' ')
check "afterwards: no device backends in xenstore ($bk)" [ -z "$bk" ]
lx=$(xenstore-list /libxl 2>/dev/null | grep -vx 0 | tr '\n' ' ')
check "afterwards: no /libxl/<domid> records ($lx)" [ -z "$lx" ]

echo "== xenletd killed (SIGKILL) and restarted: adoption"
pod create -t pvh k1 /guests/xn-test-pvh hold >/dev/null
if wait_state k1 running 60 && wait_console k1 XN-TEST-HOLDING 30; then
	id=$(field k1 domid)
	kill -9 $XP
	wait $XP 2>/dev/null
	check "k1: domain $id survives the daemon's death" xl_has "$(xl domname $id 2>/dev/null)"
	echo "--- restart" >>$DLOG
	if start_daemon; then
		wait_state k1 running 30
		id2=$(field k1 domid)
		check "k1: adopted with the same domid ($id -> $id2)" [ "$id2" = "$id" ]
		check "k1: not created again (one domain)" [ "$(domains)" = 1 ]
		exec 3<"$(crilog k1)"
		pod destroy -g 5 k1 >/dev/null
		cat <&3 >/tmp/k1.console
		exec 3<&-
		check "k1: destroyable after adoption" no_domain "$id"
		check "k1: console followed after adoption (shutdown request in the CRI log)" \
			grep -q "XN-TEST-SHUTDOWN-REQUEST poweroff" /tmp/k1.console
	else
		ko "xenletd restarts after SIGKILL"
	fi
else
	ko "k1: running and holding (state: $(field k1 state) $(field k1 message))"
fi

echo "== a guest that exits while xenletd is down"
# The guest's own exit code (data/xenlet/exit-code, written here from Dom0
# as the guest would) must win over the reason's default after a restart.
pod create -t pvh k2 /guests/xn-test-pvh hold >/dev/null
if wait_state k2 running 60 && wait_console k2 XN-TEST-HOLDING 30; then
	id=$(field k2 domid)
	kill -9 $XP
	wait $XP 2>/dev/null
	xenstore-write /local/domain/$id/data/xenlet/exit-code 7
	xl shutdown $id >/dev/null 2>&1
	i=0
	while [ $i -lt 80 ] && ! xl list -v $id 2>/dev/null | awk 'NR == 2 { exit !($5 ~ /s/) }'; do
		sleep 0.25; i=$((i + 1))
	done
	echo "--- restart" >>$DLOG
	if start_daemon; then
		wait_state k2 terminated 30
		check "k2: terminated after the restart ($(field k2 state) $(field k2 message))" \
			[ "$(field k2 state)" = terminated ]
		check "k2: the guest's exit code 7 (got $(field k2 exitCode))" \
			[ "$(field k2 exitCode)" = 7 ]
		check "k2: domain $id destroyed" no_domain "$id"
		pod destroy k2 >/dev/null
	else
		ko "xenletd restarts after SIGKILL"
	fi
else
	ko "k2: running and holding (state: $(field k2 state) $(field k2 message))"
fi

echo "== bad input"
# kernels come from the image roots only: a file elsewhere is refused at
# once, nothing of it read (issue 9, finding 2)
out=$(pod create -t pvh bout /etc/passwd 2>&1)
rc=$?
if [ $rc = 1 ] && has "$out" "image roots (/guests, $IMAGES)" && [ "$(domains)" = 0 ]; then
	ok "a kernel outside the image roots: refused, the roots named, no domain"
else
	ko "a kernel outside the image roots: refused, the roots named, no domain (exit $rc: $out)"
fi
# bad kernels inside a root: refused before libxl builds anything, the
# kernel and the reason named (issue 11: its Xen ELF notes are read first)
cp /bin/busybox $IMAGES/busybox
printf 'this is not a kernel\n' >$IMAGES/notakernel
for k in $IMAGES/busybox:"ELF without Xen notes" $IMAGES/notakernel:"not a kernel Xen can boot" \
	/guests/xn-test-pvh:"PVH-only kernel asked to run as PV"; do
	why=${k#*:} k=${k%%:*}
	b=b$(basename $k | tr -cd a-z | cut -c1-6)
	case $k in *pvh) t=pv ;; *) t=pvh ;; esac
	out=$(pod create -t $t $b $k 2>&1)
	rc=$?
	echo "  $k -t $t -> exit $rc: $out"
	check "$k as a $t kernel: refused at create (exit 1)" [ $rc = 1 ]
	check "$k as a $t kernel: error names the kernel and why" \
		sh -c "echo \"\$0\" | grep -qF -- '$k' && echo \"\$0\" | grep -qF -- '$why'" "$out"
	check "$k as a $t kernel: no domain" [ "$(domains)" = 0 ]
	check "$k as a $t kernel: daemon keeps running" alive
	pod destroy -g 0 $b >/dev/null 2>&1
done
# no type asked for: the kernel's notes choose (the PV-only test guest runs as PV)
if pod create auto /guests/xn-test-pv >/dev/null 2>&1 && wait_state auto terminated 60; then
	check "no -t: the PV-only guest boots as PV (banner)" \
		[ "$(console auto | head -n 1)" = "XN-TEST-GUEST pv v1 booting" ]
else
	ko "no -t: the PV-only guest boots and ends (state: $(field auto state) $(field auto message))"
fi
pod destroy -g 0 auto >/dev/null 2>&1
wait_gone auto 10
big=$(($(xl info | awk -F': ' '/^free_memory/ { print $2 }') + 512))
pod create -m ${big}Mi -t pvh big /guests/xn-test-pvh hold >/tmp/big.out 2>&1
rc=$?
if [ $rc != 0 ]; then
	msg=$(cat /tmp/big.out)
else
	i=0
	while [ $i -lt 60 ] && [ -z "$(field big message)" ]; do sleep 0.25; i=$((i + 1)); done
	msg="$(field big state)/$(field big reason): $(field big message)"
fi
echo "  ${big} MiB -> $msg"
check "memory beyond free: clear error (mentions memory)" has "$msg" memory
check "memory beyond free: no domain left" [ "$(domains)" = 0 ]
check "memory beyond free: daemon keeps running" alive
pod destroy -g 0 big >/dev/null 2>&1

echo "== the pod network (xenlet0, the vif hook)"
# Dom0 is set up as a xenlet node's operator would (rig.sh --pod-cidr):
# xenlet0 with the gateway address, forwarding on, the hook installed.
# The daemon is restarted with the range; a pod gets an address, its vif
# is plugged by the real hook (/etc/xen/scripts/vif-xenlet, nft) and is
# gone with its chain after delete.
if [ -z "${RIG_POD_CIDR:-}" ]; then
	skip "pod network: the rig has no pod range (rig.sh --pod-cidr)"
elif ! ip link show xenlet0 >/dev/null 2>&1; then
	ko "pod network: Dom0 has no xenlet0 (see RIG-DOM0-PODNET above)"
else
	kill $XP
	i=0
	while [ $i -lt 40 ] && alive; do sleep 0.25; i=$((i + 1)); done
	NET_ARGS="--pod-cidr $RIG_POD_CIDR"
	if start_daemon; then
		ok "xenletd restarts with --pod-cidr $RIG_POD_CIDR"
		t0=$(up)
		if pod create -t pvh pn /guests/xn-test-pvh hold >/tmp/pn.uid 2>&1 &&
			wait_state pn running 60; then
			echo "TIMING pn: create to running with a vif $(dt $t0) s"
			pd=$(field pn domid)
			uid=$(field pn uid)
			be=/local/domain/0/backend/vif/$pd/0
			ip4=$(xenstore-read $be/ip 2>/dev/null)
			rec=$(xenstore-read /xenlet/net/pods/$uid/ipv4 2>/dev/null)
			echo "  pn: domid $pd, vif ip '$ip4', address record '$rec'"
			gwnet=${RIG_POD_CIDR%.*}.
			check "pn: has a pod IP in $RIG_POD_CIDR ($ip4)" \
				sh -c "case '$ip4' in $gwnet*) [ '$ip4' != '${gwnet}1' ] && [ '$ip4' != '${gwnet}0' ] ;; *) false ;; esac"
			check "pn: the address record is the vif's address" [ -n "$rec" -a "${ip4%/*}" = "$rec" ]
			check "pn: the vif hook reported connected" \
				[ "$(xenstore-read $be/hotplug-status 2>/dev/null)" = connected ]
			# the bridge's ports from sysfs: busybox sh runs its own ip
			# applet, which has no "show master"
			echo "  xenlet0 ports: $(ls /sys/class/net/xenlet0/brif)"
			check "pn: vif$pd.0 is a port of xenlet0" [ -e /sys/class/net/xenlet0/brif/vif$pd.0 ]
			nft list table bridge xenlet 2>&1 | sed 's/^/  | /' | head -n 30
			check "pn: its chain port-vif$pd.0 is in table bridge xenlet" \
				nft list chain bridge xenlet port-vif$pd.0
			pod destroy pn >/dev/null 2>&1
			if wait_gone pn 30; then
				i=0
				while [ $i -lt 40 ] && [ -e /sys/class/net/vif$pd.0 ]; do
					sleep 0.25; i=$((i + 1))
				done
				check "pn: after delete vif$pd.0 is gone" [ ! -e /sys/class/net/vif$pd.0 ]
				check "pn: after delete its chain is gone" \
					sh -c "! nft list chain bridge xenlet port-vif$pd.0 >/dev/null 2>&1"
				check "pn: after delete its address record is gone" \
					sh -c "! xenstore-exists /xenlet/net/pods/$uid 2>/dev/null"
			else
				ko "pn: gone within 30 s of destroy"
			fi
		else
			ko "pn: running with a vif within 60 s: $(cat /tmp/pn.uid) $(field pn state) $(field pn message)"
			tail -n 20 $DLOG | sed 's/^/  | /'
		fi
	else
		ko "xenletd restarts with --pod-cidr $RIG_POD_CIDR"
	fi
fi

echo "== stop"
kill $XP
i=0
while alive && [ $i -lt 40 ]; do sleep 0.25; i=$((i + 1)); done
check "xenletd stops on SIGTERM" sh -c "! kill -0 $XP 2>/dev/null"
if [ $fail != 0 ]; then
	echo "--- xenletd log (warnings and events)"
	grep -v 'debug\]' $DLOG | tail -n 60
fi
echo "$pass passed, $fail failed, $skipped skipped"
[ $fail = 0 ]
