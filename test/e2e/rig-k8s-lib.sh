# shellcheck shell=bash
# rig-k8s-lib.sh - sourced (bash) by test/e2e/rig-k8s.sh and scripts/demo.sh:
# the Kubernetes path against real Xen.  A control plane on the host's
# loopback (test/cluster/lib.sh), the Xen rig in QEMU (test/rig/rig.sh) with
# xenletd --backend=libxl in Dom0 as node $RK_NODE (test/e2e/rig-k8s-dom0.sh),
# kubectl on the host.
#
#   host 127.0.0.1:$XN_APISERVER_PORT  <- guestfwd -  Dom0 dials 10.0.2.100:6443
#   host 127.0.0.1:$RK_KUBELET_PORT    - hostfwd ->   Dom0's xenletd on the same port
#
# The node advertises InternalIP 127.0.0.1 and that port, so the API server
# dials the kubelet API on its own loopback and QEMU carries it into Dom0.
#
# Dom0 has no kubectl and no way to hear from the host but the API server,
# so the host ends the run through Kubernetes itself: rk_done creates a pod
# named rig-done; Dom0 sees it with `xl-pod list`, checks that no domain is
# left, stops xenletd and powers off.  Dom0 also gives up after
# XN_RIG_WAIT seconds (default 480), and rk_cleanup stops the rig's process
# session if the host side ends early.
#
# Usage: rk_init BUILD_DIR OUT_DIR; rk_can_run || skip; rk_cluster_up;
# rk_rig_start; rk_wait_node SECONDS; ... kubectl ...; rk_done;
# rk_rig_wait SECONDS; rk_cleanup (or trap rk_cleanup EXIT).

RK_NODE=xen-rig
RK_GUEST=/guests/xn-test-pvh # where rig.sh --guests puts the PVH test unikernel
RK_RPID=
RK_RIG_RC=

# rk_init BUILD_DIR OUT_DIR: RK_B (binaries), RK_OUT (kept: the rig's log
# $RK_OUT/k8s-rig.log), RK_TMP (removed by rk_cleanup)
rk_init() {
	RK_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
	RK_B=$(cd "$1" && pwd)
	mkdir -p "$2"
	RK_OUT=$(cd "$2" && pwd)
	RK_LOG=$RK_OUT/k8s-rig.log
	RK_TMP=$(mktemp -d /tmp/xn-rig-k8s.XXXXXX)
	# the podCIDR the controller-manager gives the cluster's only node (the
	# first /24 of XN_CLUSTER_CIDR): Dom0's xenlet0 gets its gateway
	# address before xenletd starts, as a node's network setup would
	RK_POD_CIDR=10.244.0.0/24
	export XN_CLUSTER_DIR=$RK_TMP/cluster
	# shellcheck source=../cluster/lib.sh
	. "$RK_ROOT/test/cluster/lib.sh"
}

# rk_can_run: 0 when everything the path needs is here; else prints why not
rk_can_run() {
	local t
	for t in qemu-system-x86_64 kubectl cpio perl setsid; do
		command -v $t >/dev/null || { echo "$t is not installed (make deps)"; return 1; }
	done
	[ -x /bin/busybox ] || { echo "busybox-static is not installed (make deps)"; return 1; }
	[ -x /usr/lib/xen-4.17/bin/xl ] || { echo "xen-utils-4.17 is not installed (make deps)"; return 1; }
	for t in "$RK_B/xenletd" "$RK_B/xl-pod" "$RK_B/guests/xn-test-pvh"; do
		[ -x "$t" ] || { echo "$t is not built (make all guests)"; return 1; }
	done
}

# rk_kubelet_api: xenletd serves the kubelet API (kubectl logs needs it)
rk_kubelet_api() { "$RK_B/xenletd" --help 2>&1 | grep -q -- --tls-cert-file; }

# rk_free_port: a loopback port nothing listens on
rk_free_port() {
	local p used
	used=$(ss -Htan 2>/dev/null | awk '{ n = split($4, a, ":"); print a[n] }')
	for _ in $(seq 200); do
		p=$((32000 + RANDOM % 8000))
		grep -qx "$p" <<<"$used" || { echo "$p"; return 0; }
	done
	return 1
}

# rk_cluster_up: the control plane, the node's kubeconfig (server as Dom0
# sees it) and serving certificate, the RuntimeClass.  Log: $RK_OUT/k8s-cluster.log
rk_cluster_up() {
	local c=$RK_TMP/dom0/etc/xenlet-rig
	mkdir -p "$c"
	cluster_up >"$RK_OUT/k8s-cluster.log" 2>&1 || return 1
	cluster_node_kubeconfig "$RK_NODE" "$c/node.kubeconfig" "$XN_GUEST_APISERVER_URL" >/dev/null &&
		cluster_node_serving_cert "$RK_NODE" "$c/kubelet.crt" "$c/kubelet.key" 127.0.0.1 >/dev/null &&
		cp "$XN_CA_CERT" "$c/ca.crt" &&
		kubectl apply -f "$RK_ROOT/k8s/runtimeclass.yaml" >/dev/null
}

# rk_rig_start: boot the rig in the background, in a session of its own
# (rk_cleanup stops it by that id); its output goes to $RK_LOG
rk_rig_start() {
	local c=$RK_TMP/dom0/etc/xenlet-rig args=""
	RK_KUBELET_PORT=$(rk_free_port) || return 1
	rk_kubelet_api && args="--tls-cert-file /etc/xenlet-rig/kubelet.crt \
--tls-private-key-file /etc/xenlet-rig/kubelet.key --client-ca-file /etc/xenlet-rig/ca.crt"
	cat >"$c/rig.conf" <<EOF
XN_NODE=$RK_NODE
XN_KUBELET_PORT=$RK_KUBELET_PORT
XN_RIG_WAIT=${XN_RIG_WAIT:-480}
XN_XENLETD_ARGS="$args"
EOF
	setsid "$RK_ROOT/test/rig/rig.sh" --bin "$RK_B/xenletd" --bin "$RK_B/xl-pod" \
		--guests "$RK_B/guests" --extra "$RK_TMP/dom0" \
		--apiserver-port "$XN_APISERVER_PORT" --kubelet-fwd-port "$RK_KUBELET_PORT" \
		--pod-cidr "$RK_POD_CIDR" \
		--timeout $((${XN_RIG_WAIT:-480} + 120)) --work "$RK_OUT/work-k8s" \
		"$RK_ROOT/test/e2e/rig-k8s-dom0.sh" >"$RK_LOG" 2>&1 </dev/null &
	RK_RPID=$!
}

rk_rig_running() { [ -n "$RK_RPID" ] && kill -0 "$RK_RPID" 2>/dev/null; }

# rk_wait_node SECONDS: the node is Ready (0), or the rig ended or time ran out (1)
rk_wait_node() {
	local n=$(($1 * 2))
	while [ $n -gt 0 ] && rk_rig_running; do
		[ "$(kubectl get node "$RK_NODE" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' \
			2>/dev/null)" = True ] && return 0
		sleep 0.5
		n=$((n - 1))
	done
	return 1
}

# rk_xl_now: Xen's domains besides Dom0 as Dom0 last reported them
rk_xl_now() { grep -a 'RIG-K8S-XL ' "$RK_LOG" | tail -n 1 | sed 's/.*RIG-K8S-XL [0-9]*: *//'; }
# rk_xl_changed_since LINE: Dom0 reported a new domain list after line LINE of the log
rk_xl_changed_since() { tail -n +"$(($1 + 1))" "$RK_LOG" | grep -aq 'RIG-K8S-XL '; }
rk_log_lines() { wc -l <"$RK_LOG"; }
# rk_net_now: the pod bridge's ports as Dom0 last reported them (report_net)
rk_net_now() { grep -a 'RIG-K8S-NET' "$RK_LOG" | tail -n 1 | sed 's/.*RIG-K8S-NET//'; }
rk_net_changed_since() { tail -n +"$(($1 + 1))" "$RK_LOG" | grep -aq 'RIG-K8S-NET'; }
# rk_crilog POD: the pod's CRI log lines (default namespace) as Dom0 reported them
rk_crilog() { grep -a "RIG-K8S-CRILOG default_$1_" "$RK_LOG" | sed 's/.*RIG-K8S-CRILOG [^ ]* [^ ]*: //'; }

# rk_pod_yaml NAME ARGS POLICY: a unikernel pod running the PVH test guest;
# ARGS is a YAML flow list
rk_pod_yaml() {
	cat <<EOF
apiVersion: v1
kind: Pod
metadata: {name: $1}
spec:
  runtimeClassName: xen-unikernel
  restartPolicy: $3
  terminationGracePeriodSeconds: 5
  containers:
  - name: main
    image: $RK_GUEST
    args: $2
    resources: {limits: {memory: 32Mi, cpu: 500m}}
EOF
}

# rk_done: tell Dom0 to finish (see above)
rk_done() { rk_pod_yaml rig-done '["exit=0"]' Never | kubectl apply -f - >/dev/null 2>&1; }

# rk_rig_wait SECONDS: wait for the rig to end; RK_RIG_RC is its status
# (77 skipped); 1 when it is still running after SECONDS
rk_rig_wait() {
	local n=$(($1 * 2))
	while [ $n -gt 0 ] && rk_rig_running; do
		sleep 0.5
		n=$((n - 1))
	done
	rk_rig_running && return 1
	wait "$RK_RPID"
	RK_RIG_RC=$?
	RK_RPID=
	return 0
}

# rk_rig_kill SIGNAL: signal every process of the rig's session (setsid made
# it; timeout(1) inside rig.sh moves QEMU to a process group of its own, so
# the session, not the group, holds them all)
rk_rig_kill() {
	local pids
	[ -n "$RK_RPID" ] || return 0
	pids=$(ps -eo pid=,sid= | awk -v s="$RK_RPID" '$2 == s { print $1 }')
	[ -z "$pids" ] || kill -"$1" $pids 2>/dev/null
}

rk_cleanup() {
	if rk_rig_running; then
		rk_rig_kill TERM
		rk_rig_wait 15 || rk_rig_kill KILL
	fi
	cluster_down >/dev/null 2>&1
	rm -rf "$RK_TMP"
}
