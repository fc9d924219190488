#!/bin/bash
# rig-k8s.sh BUILD_DIR [OUT_DIR] - the Kubernetes path against real Xen: a
# control plane on loopback (test/cluster), Debian's Xen 4.17 in QEMU
# (test/rig) with xenletd --backend=libxl in Dom0 as node xen-rig
# (test/e2e/rig-k8s-dom0.sh), and kubectl on the host: the node Ready with
# the real Xen version, a unikernel pod scheduled by kube-scheduler and
# Running, one that exits 3 Failed, kubectl logs, kubectl delete and the
# domain gone from Xen.  How the two sides meet: test/e2e/rig-k8s-lib.sh.
# The rig's output is kept in OUT_DIR/k8s-rig.log (default BUILD_DIR/e2e).
# Prints PASS/FAIL/SKIP lines (Dom0's own as "dom0: ...") and ends with
# "rig-k8s: <n> passed, <n> failed, <n> skipped"; exit status 0 unless a
# check failed.
set -u
B=${1:-build}
. "$(dirname "$0")/rig-k8s-lib.sh"
rk_init "$B" "${2:-$B/e2e}"
pass=0 fail=0 skipped=0

ok() { pass=$((pass + 1)); echo "PASS $*"; }
ko() { fail=$((fail + 1)); echo "FAIL $*"; [ $# -lt 2 ] || printf '%s\n' "$2" | sed 's/^/  # /'; }
skip() { skipped=$((skipped + 1)); echo "SKIP $*"; }
check() { if [ "$2" -eq 0 ]; then ok "$1"; else ko "$1" "${3:-}"; fi; }
finish() {
	echo "rig-k8s: $pass passed, $fail failed, $skipped skipped"
	[ $fail = 0 ]
	exit
}
trap rk_cleanup EXIT
# wait_for SECONDS CMD...: bounded poll while the rig runs
wait_for() {
	local n=$(($1 * 2))
	shift
	while [ $n -gt 0 ]; do
		"$@" >/dev/null 2>&1 && return 0
		rk_rig_running || return 1
		sleep 0.5
		n=$((n - 1))
	done
	return 1
}
jp() { kubectl get "$1" -o jsonpath="$2" 2>/dev/null; }
phase_is() { [ "$(jp "pod/$1" '{.status.phase}')" = "$2" ]; }
event_seen() { kubectl get events --field-selector "involvedObject.name=$1,reason=$2" -o name | grep -q .; }
gone() { ! kubectl get pod "$1" -o name >/dev/null 2>&1; }
banner="XN-TEST-GUEST pvh v1 booting"

if ! why=$(rk_can_run); then
	echo "skipped: $why"
	skipped=1
	finish
fi

echo "== control plane on loopback"
t0=$SECONDS
if ! rk_cluster_up; then
	ko "control plane starts" "$(tail -n 20 "$RK_OUT/k8s-cluster.log")"
	finish
fi
ok "control plane $XN_K8S_VERSION at $XN_APISERVER_URL (Dom0: $XN_GUEST_APISERVER_URL)"

echo "== the rig: Xen in QEMU, xenletd --backend=libxl in Dom0 (log $RK_LOG)"
rk_rig_start
t1=$SECONDS
if ! rk_wait_node 300; then
	if ! rk_rig_running && rk_rig_wait 0 && [ "$RK_RIG_RC" = 77 ]; then
		echo "skipped: the rig cannot run: $(grep -a '^skipped:' "$RK_LOG" | tail -n 1)"
		skipped=$((skipped + 1))
		finish
	fi
	ko "node $RK_NODE registers and becomes Ready" \
		"$(kubectl get nodes 2>&1; grep -a 'RIG-\|xenletd' "$RK_LOG" | tail -n 25)"
	finish
fi
echo "TIMING node Ready $((SECONDS - t1)) s after the rig started"
ok "node $RK_NODE registered through QEMU's guestfwd and is Ready"
xv=$(grep -ao 'Xen version [0-9][^ ]*' "$RK_LOG" | head -n 1 | cut -d' ' -f3)
kv=$(jp "node/$RK_NODE" '{.status.nodeInfo.kernelVersion}')
check "nodeInfo.kernelVersion \"$kv\" is the rig's Xen (boot banner: $xv)" \
	"$([ -n "$xv" ] && [ "$kv" = "Xen $xv" ]; echo $?)"
case $kv in "Xen 4.17."*) ok "the node runs Xen 4.17.x" ;; *) ko "the node runs Xen 4.17.x" "$kv" ;; esac
ep=$(jp "node/$RK_NODE" '{.status.addresses[?(@.type=="InternalIP")].address}:{.status.daemonEndpoints.kubeletEndpoint.Port}')
check "node advertises 127.0.0.1:$RK_KUBELET_PORT (hostfwd to Dom0)" \
	"$([ "$ep" = "127.0.0.1:$RK_KUBELET_PORT" ]; echo $?)" "$ep"
kubectl get nodes -o wide

echo "== the pod network: podCIDR, NetworkUnavailable"
pc=$(jp "node/$RK_NODE" '{.spec.podCIDR}')
check "node's podCIDR \"$pc\" is the range Dom0's xenlet0 was set up for ($RK_POD_CIDR)" \
	"$([ "$pc" = "$RK_POD_CIDR" ]; echo $?)"
nu() { jp "node/$RK_NODE" '{.status.conditions[?(@.type=="NetworkUnavailable")].status}/{.status.conditions[?(@.type=="NetworkUnavailable")].reason}'; }
nu_false() { [ "$(nu)" = False/XenletIsUp ]; }
wait_for 60 nu_false
rc=$?
check "NetworkUnavailable False/XenletIsUp (got $(nu))" $rc \
	"$(jp "node/$RK_NODE" '{.status.conditions[?(@.type=="NetworkUnavailable")].message}')"
wait_for 60 bash -c "! kubectl get node $RK_NODE -o jsonpath='{.spec.taints[*].key}' | grep -q network-unavailable"
rc=$?
check "no node.kubernetes.io/network-unavailable taint (taints: $(jp "node/$RK_NODE" '{.spec.taints[*].key}'))" $rc

echo "== a unikernel pod: scheduled, Running"
t1=$SECONDS
rk_pod_yaml k-hold '["hold"]' Always | kubectl apply -f - >/dev/null
wait_for 120 phase_is k-hold Running
check "k-hold Running (image $RK_GUEST, args [hold])" $? "$(kubectl get pod k-hold -o wide 2>&1)"
echo "TIMING k-hold apply to Running $((SECONDS - t1)) s"
check "k-hold bound to $RK_NODE by kube-scheduler" \
	"$([ "$(jp pod/k-hold '{.spec.nodeName}')" = "$RK_NODE" ] && event_seen k-hold Scheduled; echo $?)" \
	"$(kubectl get events --field-selector involvedObject.name=k-hold 2>&1)"
check "k-hold container running, containerID xen://" \
	"$(case "$(jp pod/k-hold '{.status.containerStatuses[0].containerID}')" in xen://*) [ -n "$(jp pod/k-hold '{.status.containerStatuses[0].state.running.startedAt}')" ] ;; *) false ;; esac; echo $?)" \
	"$(jp pod/k-hold '{.status.containerStatuses}')"
check "k-hold Started event" "$(event_seen k-hold Started; echo $?)"
xl_has_hold() { [[ "$(rk_xl_now)" == *default-k-hold-* ]]; }
wait_for 30 xl_has_hold
rc=$? # before any $(...) in check's arguments resets $?
check "k-hold is a domain in Dom0's xl list ($(rk_xl_now))" $rc
pip=$(jp pod/k-hold '{.status.podIP}')
check "k-hold has a podIP in $RK_POD_CIDR ($pip)" \
	"$(case "$pip" in 10.244.0.1 | 10.244.0.0) false ;; 10.244.0.*) true ;; *) false ;; esac; echo $?)"
net_has_hold() { [[ "$(rk_net_now)" == *default-k-hold-*=vif*/chain* ]]; }
wait_for 30 net_has_hold
rc=$?
check "k-hold's vif is a port of xenlet0 with its chain in table bridge xenlet ($(rk_net_now))" $rc
kubectl get pods -o wide

echo "== its console"
wait_for 30 bash -c "grep -aq 'RIG-K8S-CRILOG default_k-hold_.*XN-TEST-HOLDING' '$RK_LOG'"
first=$(rk_crilog k-hold | head -n 1 | cut -d' ' -f4-)
check "k-hold: banner is the first line of its CRI log in Dom0 (\"$first\")" \
	"$([ "$first" = "$banner" ]; echo $?)" "$(rk_crilog k-hold | head -n 5)"
out=$(kubectl logs k-hold 2>&1)
check "kubectl logs k-hold: banner first (\"$(head -n 1 <<<"$out")\")" \
	"$([ "$(head -n 1 <<<"$out")" = "$banner" ]; echo $?)" "$out"

echo "== a pod that exits 3, restartPolicy Never"
rk_pod_yaml k-exit3 '["exit=3"]' Never | kubectl apply -f - >/dev/null
wait_for 120 phase_is k-exit3 Failed
check "k-exit3 Failed" $? "$(kubectl get pod k-exit3 -o wide 2>&1)"
term=$(jp pod/k-exit3 '{.status.containerStatuses[0].state.terminated.reason}/{.status.containerStatuses[0].state.terminated.exitCode}')
check "k-exit3 terminated Error/3 (got $term)" "$([ "$term" = Error/3 ]; echo $?)"
out=$(kubectl logs k-exit3 2>&1)
check "kubectl logs k-exit3 after it ended: ends with XN-TEST-EXIT 3" \
	"$([ "$(tail -n 1 <<<"$out")" = "XN-TEST-EXIT 3" ]; echo $?)" "$out"
kubectl get pods -o wide

echo "== kubectl delete"
mark=$(rk_log_lines)
t1=$SECONDS
kubectl delete pod k-hold --timeout=90s >/dev/null 2>&1
check "kubectl delete pod k-hold: object gone" "$(gone k-hold; echo $?)" "$(kubectl get pod k-hold 2>&1)"
echo "TIMING kubectl delete k-hold $((SECONDS - t1)) s"
# a list Dom0 reported after the delete began, without k-hold
xl_lacks_hold() { rk_xl_changed_since "$mark" && [[ "$(rk_xl_now)" != *default-k-hold-* ]]; }
wait_for 30 xl_lacks_hold
rc=$?
check "k-hold's domain gone from Dom0's xl list (now: \"$(rk_xl_now)\")" $rc \
	"$(grep -a 'RIG-K8S-XL ' "$RK_LOG" | tail -n 3)"
net_lacks_hold() { rk_net_changed_since "$mark" && [[ "$(rk_net_now)" != *default-k-hold-* ]] && [[ "$(rk_net_now)" != *=vif* ]]; }
wait_for 30 net_lacks_hold
rc=$?
check "k-hold's vif and chain gone from Dom0 (now: \"$(rk_net_now)\")" $rc
t1=$SECONDS
kubectl delete pod k-exit3 --timeout=60s >/dev/null 2>&1
echo "TIMING kubectl delete k-exit3 $((SECONDS - t1)) s"
check "kubectl delete pod k-exit3: object gone" "$(gone k-exit3; echo $?)"

echo "== done: pod rig-done tells Dom0 to finish"
rk_done
if ! rk_rig_wait 180; then
	ko "the rig powers off after rig-done"
	finish
fi
echo "TIMING whole run $((SECONDS - t0)) s"
# Dom0's verdicts
while read -r l; do
	case $l in
	PASS*) ok "${l#PASS }" ;;
	FAIL*) ko "${l#FAIL }" ;;
	esac
done < <(grep -aoE '(PASS|FAIL) dom0: .*' "$RK_LOG")
grep -aq 'RIG-K8S-DOM0 ' "$RK_LOG"
check "Dom0 reported its verdict" $? "$(tail -n 30 "$RK_LOG")"
check "the rig ended cleanly (status $RK_RIG_RC)" "$RK_RIG_RC" "$(tail -n 30 "$RK_LOG")"
if [ $fail != 0 ]; then
	echo "--- Dom0 (RIG- lines, last 40)"
	grep -a 'RIG-' "$RK_LOG" | tail -n 40
fi
finish
