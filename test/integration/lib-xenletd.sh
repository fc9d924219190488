# shellcheck shell=bash
# lib-xenletd.sh - xenletd (hv_sim) as the node of a real control plane
# (test/cluster/lib.sh, sourced from here) for the integration scripts.
# Source it after test/lib/tap.sh, with B (the build dir) and SRC (the
# source tree) set, and NODE (the node's name) before the cluster functions.
#
#   xn_it_cluster_up NAME      a run dir TMP=/tmp/NAME.XXXXXX holding the
#                              cluster (XN_CLUSTER_DIR), the cleanup trap, the
#                              control plane, TMP/node.kubeconfig for NODE and
#                              the RuntimeClass; status 1 and a not_ok if the
#                              control plane does not start
#   xn_it_start_xenletd [FLAG...]
#                              xenletd in the background as NODE, state and
#                              logs under TMP, output in TMP/xenletd.log, PID
#                              in DPID; images from test/fixtures/sim (more
#                              roots: FLAGs --image-root DIR, the fixtures'
#                              one included)
#   xn_it_start_kubelet_api IP [FLAG...]
#                              the same with the kubelet HTTPS API on IP and a
#                              free PORT (serving cert signed by the cluster
#                              CA); checks that the node registers and
#                              advertises PORT
#   xn_it_stop_xenletd [SIGNAL]
#                              stop it (SIGTERM by default) and reap it
#   xn_it_kill PID [SIGNAL]    the same for any process the script started:
#                              by PID, never by name
#   xn_it_global_ip            a global IPv4 address of this host, or nothing
#   xn_it_pod NAME SCRIPT POLICY
#                              a one-container xen-unikernel pod running the
#                              sim script test/fixtures/sim/SCRIPT
#
# The cleanup trap stops xenletd and the cluster and removes TMP; when a
# check failed it first shows the tails of the xenletd log and of
# metrics-server's errors (if it ran).

# shellcheck source=test/cluster/lib.sh
. "$SRC/test/cluster/lib.sh"

DPID=

xn_it_kill() {
	if [ -n "$1" ] && kill -0 "$1" 2>/dev/null; then
		kill -"${2:-TERM}" "$1"
		wait "$1" 2>/dev/null
	fi
}

xn_it_stop_xenletd() {
	xn_it_kill "$DPID" "${1:-TERM}"
	DPID=
}

_xn_it_cleanup() {
	xn_it_stop_xenletd
	if [ "$fail" -ne 0 ] && [ -f "$XN_CLUSTER_DIR/metrics-server.log" ]; then
		echo "# metrics-server log (errors, tail):"
		grep -E '^[EF][0-9]{4} ' "$XN_CLUSTER_DIR/metrics-server.log" | tail -n 10 | sed 's/^/#   /'
	fi
	cluster_down >/dev/null 2>&1
	if [ "$fail" -ne 0 ]; then
		echo "# xenletd log (tail):"
		tail -n 40 "$TMP/xenletd.log" 2>/dev/null | sed 's/^/#   /'
	fi
	rm -rf "$TMP"
}

xn_it_cluster_up() {
	TMP=$(mktemp -d "/tmp/$1.XXXXXX")
	export XN_CLUSTER_DIR=$TMP/cluster
	trap _xn_it_cleanup EXIT
	if ! cluster_up >"$TMP/cluster-up.log" 2>&1; then
		not_ok "control plane starts" "$(tail -n 20 "$TMP/cluster-up.log")"
		return 1
	fi
	cluster_node_kubeconfig "$NODE" "$TMP/node.kubeconfig" >/dev/null
	kubectl apply -f "$SRC/k8s/runtimeclass.yaml" >/dev/null
}

xn_it_start_xenletd() {
	XN_SIM_MEMORY_MB=2048 XN_SIM_CPUS=4 XN_BACKOFF_BASE_MS=1000 \
		"$B/xenletd" --backend=sim -d --kubeconfig "$TMP/node.kubeconfig" \
		--node-name "$NODE" --root-dir "$TMP/root" \
		--pod-log-dir "$TMP/logs" --ctl-socket "$TMP/ctl.sock" \
		--image-root "$SRC/test/fixtures/sim" "$@" \
		>>"$TMP/xenletd.log" 2>&1 &
	DPID=$!
}

xn_it_start_kubelet_api() {
	local ip=$1 port
	shift
	cluster_node_serving_cert "$NODE" "$TMP/serving.crt" "$TMP/serving.key" "$ip" 127.0.0.1 >/dev/null
	PORT=$(_cluster_free_port)
	xn_it_start_xenletd -vv --node-ip "$ip" --address "$ip" --port "$PORT" \
		--tls-cert-file "$TMP/serving.crt" --tls-private-key-file "$TMP/serving.key" \
		--client-ca-file "$XN_CA_CERT" "$@"
	wait_for 30 kubectl wait --for=condition=Ready "node/$NODE" --timeout=1s
	check "node registers with the kubelet API on port $PORT" $? "$(tail -n 5 "$TMP/xenletd.log")"
	port=$(kubectl get node "$NODE" -o jsonpath='{.status.daemonEndpoints.kubeletEndpoint.Port}')
	check_eq "daemonEndpoints advertises port $PORT" "$port" "$PORT"
}

xn_it_global_ip() {
	ip -4 -o addr show scope global 2>/dev/null | awk '{ sub(/\/.*/, "", $4); print $4; exit }'
}

xn_it_pod() {
	kubectl apply -f - >/dev/null <<YAML
apiVersion: v1
kind: Pod
metadata: {name: $1}
spec:
  runtimeClassName: xen-unikernel
  restartPolicy: $3
  terminationGracePeriodSeconds: 2
  containers:
  - name: main
    image: $SRC/test/fixtures/sim/$2
    resources: {limits: {memory: 64Mi, cpu: 250m}}
YAML
}
