#!/bin/sh
# rig-k8s-dom0.sh - Dom0 side of the Kubernetes rig run (busybox sh, run by
# the rig as /test.sh; the host side is test/e2e/rig-k8s.sh).  Starts
# xenletd --backend=libxl as a Kubernetes node with the kubeconfig and
# settings the host put in /etc/xenlet-rig/ (rig.sh --extra), then only
# watches and reports while the host drives kubectl:
#   RIG-K8S-XL <n>: <names>     Xen's domains besides Dom0, whenever they change
#   RIG-K8S-CRILOG <dir> <container>: <CRI line>   every new line of every pod's log
#   RIG-K8S-XENLETD <line>      xenletd's log lines but the debug ones
# It ends when the host says so: a pod named rig-done (in any namespace)
# reaches this node, which Dom0 sees with `xl-pod list`; or after
# XN_RIG_WAIT seconds; or when xenletd dies.  Then it stops xenletd and
# prints PASS/FAIL lines that the host adds to its own counts.
pass=0 fail=0
CONF=/etc/xenlet-rig
LOGS=/var/log/pods
SOCK=/run/xenlet/xenletd.sock
DLOG=/tmp/xenletd.log
XN_NODE=xen-rig XN_KUBELET_PORT=10250 XN_RIG_WAIT=480 XN_XENLETD_ARGS=
[ -f $CONF/rig.conf ] && . $CONF/rig.conf

ok() { pass=$((pass + 1)); echo "PASS dom0: $*"; }
ko() { fail=$((fail + 1)); echo "FAIL dom0: $*"; }
check() { # check DESCRIPTION COMMAND...
	d=$1; shift
	if "$@"; then ok "$d"; else ko "$d"; fi
}
up() { cut -d' ' -f1 /proc/uptime | cut -d. -f1; }
finish() {
	echo "RIG-K8S-DOM0 $pass passed, $fail failed"
	[ $fail = 0 ]
	exit
}

for b in xenletd xl-pod; do
	if ! command -v $b >/dev/null; then
		ko "$b is in Dom0 (rig.sh --bin)"
		finish
	fi
done
if [ ! -f $CONF/node.kubeconfig ]; then
	ko "$CONF/node.kubeconfig is in Dom0 (rig.sh --extra)"
	finish
fi

mkdir -p /var/lib/xenlet $LOGS /run/xenlet
# shellcheck disable=SC2086 # XN_XENLETD_ARGS is a word list by design
xenletd --backend=libxl --store=xs -d -v --kubeconfig $CONF/node.kubeconfig \
	--node-name "$XN_NODE" --node-ip 127.0.0.1 --port "$XN_KUBELET_PORT" \
	--root-dir /var/lib/xenlet --pod-log-dir $LOGS --ctl-socket $SOCK --image-root /guests \
	$XN_XENLETD_ARGS >$DLOG 2>&1 &
XP=$!
echo "RIG-K8S-XENLETD-STARTED pid $XP node $XN_NODE port $XN_KUBELET_PORT"

# report_xl: the domain list when it changed since the last report
last_xl=-
report_xl() {
	local now
	now=$(xl list 2>/dev/null | awk 'NR > 2 { print $1 }' | sort | tr '\n' ' ')
	[ "$now" = "$last_xl" ] && return
	last_xl=$now
	echo "RIG-K8S-XL $(echo "$now" | wc -w): $now"
}
# report_net: the pod bridge's ports when they changed: each vif as
# <domain name>=<vif>/<chain|no-chain> (its chain in table bridge xenlet),
# then how many port chains the table holds
last_net=-
report_net() {
	local now v d n c
	now=
	# sysfs, not ip: busybox sh runs its own ip applet (no "show master")
	for v in $(ls /sys/class/net/xenlet0/brif 2>/dev/null); do
		d=${v#vif}
		d=${d%%.*}
		n=$(xl domname "$d" 2>/dev/null) || n=gone
		c=no-chain
		nft list chain bridge xenlet "port-$v" >/dev/null 2>&1 && c=chain
		now="$now $n=$v/$c"
	done
	now="$now chains=$(nft list table bridge xenlet 2>/dev/null | grep -c 'chain port-')"
	[ "$now" = "$last_net" ] && return
	last_net=$now
	echo "RIG-K8S-NET$now"
}
# report_logs: new lines of every CRI log; the count printed so far is kept
# beside the log in /tmp/crilog-seen/
report_logs() {
	local f d c n s seen
	mkdir -p /tmp/crilog-seen
	for f in $LOGS/*/*/*.log; do
		[ -f "$f" ] || continue
		c=${f%/*}; d=${c%/*}
		c=${c##*/}; d=${d##*/}
		seen=/tmp/crilog-seen/$d.$c.$(basename "$f")
		s=$(cat "$seen" 2>/dev/null || echo 0)
		n=$(wc -l <"$f")
		[ "$n" -gt "$s" ] || continue
		sed -n "$((s + 1)),${n}p" "$f" | while IFS= read -r l; do
			echo "RIG-K8S-CRILOG $d $c: $l"
		done
		echo "$n" >"$seen"
	done
}
# report_daemon: xenletd's new lines but the debug ones
dseen=0
report_daemon() {
	local n
	n=$(wc -l <$DLOG)
	[ "$n" -gt $dseen ] || return
	sed -n "$((dseen + 1)),${n}p" $DLOG | grep -v '\[debug\]' | sed 's/^/RIG-K8S-XENLETD /'
	dseen=$n
}
done_asked() { xl-pod -s $SOCK list -l 2>/dev/null | tr -d ' \n\t' | grep -q '"name":"rig-done"'; }

t0=$(up)
why=timeout
while [ $(($(up) - t0)) -lt "$XN_RIG_WAIT" ]; do
	if ! kill -0 $XP 2>/dev/null; then
		why="xenletd exited"
		break
	fi
	report_xl
	report_net
	report_logs
	report_daemon
	if done_asked; then
		why="the host created pod rig-done"
		break
	fi
	sleep 1
done
echo "RIG-K8S-END after $(($(up) - t0)) s: $why"
check "xenletd ran until the host was done ($why)" [ "$why" = "the host created pod rig-done" ]

# rig-done itself exits at once; then no domain may be left
i=0
while [ $i -lt 30 ] && [ -n "$(xl list | awk 'NR > 2')" ]; do sleep 1; i=$((i + 1)); done
report_xl
report_logs
check "no domain left besides Dom0 when the host is done ($last_xl)" [ -z "$last_xl" ]

if kill -0 $XP 2>/dev/null; then
	kill $XP
	i=0
	while kill -0 $XP 2>/dev/null && [ $i -lt 40 ]; do sleep 0.25; i=$((i + 1)); done
	check "xenletd stops on SIGTERM" sh -c "! kill -0 $XP 2>/dev/null"
fi
report_daemon
if [ $fail != 0 ]; then
	echo "--- xenletd log (tail)"
	tail -n 40 $DLOG
fi
finish
