#!/bin/bash
# test-service.sh BUILD_DIR - a sim pod behind a Service, end to end, against
# the real control plane (its controller-manager makes the EndpointSlices),
# a real kube-proxy (nftables mode) and a real CoreDNS (kubernetes plugin),
# both built from Go modules (test/cluster/build-netcomp.sh).
#
# Layout (docs/networking.md, "The packet path as tested"): the script runs
# in a network namespace of its own (unshare -n; control plane, xenletd and
# CoreDNS live there, as on a node's host side) and makes D0, the namespace
# playing Dom0: bridge xenlet0 with the gateway of the Node's podCIDR,
# forwarding on, kube-proxy; a veth pair links the two (172.31.250.1 outside,
# 172.31.250.2 in D0, D0's default route; outside the Service range
# 10.96.0.0/12, which kube-proxy drops) and the outer namespace routes the
# podCIDR to D0, so the daemon's probes reach pod IPs as a kubelet's do.  Pods are API pods on the
# xenlet node (RuntimeClass xen-unikernel: its toleration and selector);
# the sim gives each a network namespace with a veth plugged into xenlet0 by
# the real vif hook.  Checks:
#   (a) the podIP in the status answers HTTP from D0;
#   (b) a ClusterIP Service: from D0 through kube-proxy's DNAT, and from a
#       second sim pod (http-get to the ClusterIP via its gateway; the
#       answer crosses the bridge, so D0 needs br_netfilter's
#       bridge-nf-call-iptables: checked both ways);
#   (c) a readiness probe (httpGet :8080) gates the EndpointSlice: a pod
#       with no server stays ready=false, a Service with only it has no
#       ready endpoint and kube-proxy rejects its ClusterIP;
#   (d) CoreDNS on 172.31.250.1:53, xenletd --cluster-dns 172.31.250.1
#       --cluster-domain cluster.local: the guest resolves the Service's
#       FQDN and its short name (the search path) to the ClusterIP.
# Debugging: XN_SERVICE_KEEP=DIR keeps the logs, D0's ruleset and the guests'
# addresses in DIR (XN_SERVICE_PAUSE=SECONDS then waits before the cleanup).
# Prints "service: N passed, N failed, N skipped".
set -u
B=$(cd "${1:-build}" && pwd)
SRC=$(cd "$(dirname "$0")/../.." && pwd)
NODE=xen-svc-1
TEXT="hello from the svc pod"

# shellcheck source=test/lib/tap.sh
. "$SRC/test/lib/tap.sh"

if [ -z "${XN_SERVICE_IN_NETNS:-}" ]; then
	if [ "$(id -u)" -ne 0 ] || ! command -v unshare >/dev/null; then
		skip "service checks" "needs root and unshare(1) for a network namespace of its own"
		summary service
		exit
	fi
	XN_SERVICE_IN_NETNS=1 exec unshare -n -- "$0" "$@"
fi
ip link set lo up

# shellcheck source=test/integration/lib-xenletd.sh
. "$SRC/test/integration/lib-xenletd.sh"

for c in kubectl nft curl python3; do
	if ! command -v $c >/dev/null; then
		skip "service checks" "$c not installed"
		summary service
		exit
	fi
done
if [ ! -e /proc/sys/net/bridge/bridge-nf-call-iptables ]; then
	# loading a module is the host's business, not a test's
	skip "service checks" "br_netfilter not loaded (modprobe br_netfilter)"
	summary service
	exit
fi

D0=xnsv-d0-$$
PFX=xnsv$$
jp() { kubectl get "$1" -o jsonpath="$2" 2>/dev/null; }
cond() { jp "pod/$1" "{.status.conditions[?(@.type==\"$2\")].status}"; }
d0() { ip netns exec "$D0" "$@"; }
slice_ready() {
	kubectl get endpointslices -l "kubernetes.io/service-name=$1" \
		-o jsonpath='{range .items[*].endpoints[*]}{.addresses[0]}={.conditions.ready}{" "}{end}' 2>/dev/null
}
# console POD: the pod's console log as xenletd wrote it
console() { cat "$TMP"/logs/default_"$1"_*/main/*.log 2>/dev/null; }
pod() { # pod NAME LABELS IMAGE [PROBE-LINES]
	kubectl apply -f - >/dev/null <<YAML
apiVersion: v1
kind: Pod
metadata: {name: $1, labels: {$2}}
spec:
  runtimeClassName: xen-unikernel
  restartPolicy: Always
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: $TMP/images/$3.sim
    ports: [{name: http, containerPort: 8080}]
    resources: {limits: {memory: 64Mi, cpu: 100m}}
${4:-}
YAML
}
probe="    readinessProbe:
      httpGet: {path: /, port: 8080}
      periodSeconds: 1
      failureThreshold: 1"

svc_cleanup() {
	if [ -n "${XN_SERVICE_KEEP:-}" ]; then # debugging: keep the logs
		mkdir -p "$XN_SERVICE_KEEP" && cp -r "$TMP/logs" "$TMP/xenletd.log" "$XN_CLUSTER_DIR"/*.log "$XN_SERVICE_KEEP/" 2>/dev/null
		d0 nft list ruleset >"$XN_SERVICE_KEEP/d0.nft" 2>&1
		for n in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$PFX-"); do
			{ echo "== $n"; ip -n "$n" addr; ip -n "$n" route; } >>"$XN_SERVICE_KEEP/guests.txt" 2>&1
		done
		[ -n "${XN_SERVICE_PAUSE:-}" ] && sleep "$XN_SERVICE_PAUSE"
	fi
	cluster_kube_proxy_down >/dev/null 2>&1
	cluster_coredns_down >/dev/null 2>&1
	_xn_it_cleanup
	for n in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$PFX-"); do
		ip netns del "$n"
	done
	ip netns del "$D0" 2>/dev/null
}

xn_it_cluster_up test-service || { summary service; exit; }
trap svc_cleanup EXIT
if ! cluster_netcomp_bin >"$TMP/netcomp-build.log" 2>&1; then
	not_ok "kube-proxy and coredns built (test/cluster/build-netcomp.sh)" "$(tail -n 5 "$TMP/netcomp-build.log")"
	summary service
	exit
fi

# --- D0, the Dom0 namespace, and the link to it ---------------------------
ip netns add "$D0" &&
	d0 ip link set lo up &&
	d0 ip link add xenlet0 mtu 1450 type bridge &&
	d0 ip link set xenlet0 up &&
	ip link add xnsv-h type veth peer name xnsv-d netns "$D0" &&
	ip addr add 172.31.250.1/30 dev xnsv-h && ip link set xnsv-h up &&
	d0 ip addr add 172.31.250.2/30 dev xnsv-d && d0 ip link set xnsv-d up &&
	d0 sysctl -qw net.ipv4.ip_forward=1 &&
	d0 ip route add default via 172.31.250.1
check "Dom0 namespace $D0: bridge xenlet0, veth to the test's namespace, forwarding" $? "$(d0 ip addr 2>&1)"

# --- CoreDNS on 172.31.250.1:53, the node's clusterDNS -------------------------
if cluster_coredns_up 172.31.250.1 53 >"$TMP/coredns-up.log" 2>&1; then
	ok "CoreDNS up on 172.31.250.1:53 (kubernetes plugin synced)"
else
	not_ok "CoreDNS up on 172.31.250.1:53" "$(tail -n 10 "$TMP/coredns-up.log")"
fi

mkdir -p "$TMP/images"
XN_SIM_NET_DOM0=$D0 XN_SIM_NET_PREFIX=$PFX XN_SIM_XENSTORE_SHIM=$SRC/test/lib/xenstore-shim.sh \
	xn_it_start_xenletd -v --node-ip 172.31.250.2 --image-root "$TMP/images" \
	--bridge xenlet0 --vif-script "$SRC/packaging/vif-xenlet" \
	--cluster-dns 172.31.250.1 --cluster-domain cluster.local
wait_for 30 kubectl wait --for=condition=Ready "node/$NODE" --timeout=1s
check "node registers and becomes Ready" $? "$(tail -n 5 "$TMP/xenletd.log")"
wait_for 30 bash -c "[ -n \"\$(kubectl get node $NODE -o jsonpath='{.spec.podCIDR}')\" ]"
pcidr=$(jp "node/$NODE" '{.spec.podCIDR}')
gw=$(python3 -c 'import ipaddress,sys; n=ipaddress.ip_network(sys.argv[1]); print("%s/%d" % (n.network_address + 1, n.prefixlen))' "$pcidr" 2>/dev/null)
# the node's network setup: the gateway on the bridge; the host side routes
# the pod range to Dom0 (so the daemon's probes reach the pods)
d0 ip addr add "$gw" dev xenlet0 && ip route add "$pcidr" via 172.31.250.2
check "the Node's podCIDR $pcidr: gateway $gw on xenlet0, routed to $D0" $? "$(ip route 2>&1)"

# --- pods and Services -----------------------------------------------------
printf 'print web starting\nhttp 8080 %s\n' "$TEXT" >"$TMP/images/web.sim"
printf 'print dark starting: no server\nhang\n' >"$TMP/images/dark.sim"
pod web "app: web" web "$probe"
pod dark "app: web, role: dark" dark "$probe"
kubectl apply -f - >/dev/null <<YAML
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: dark}
spec:
  selector: {role: dark}
  ports: [{port: 80, targetPort: 8080}]
YAML
# kube-proxy's node is the xenlet node; it takes ~30 s to start, during
# which the pods start
if cluster_kube_proxy_up "$D0" 172.31.250.2 "$NODE" >"$TMP/kube-proxy-up.log" 2>&1; then
	ok "kube-proxy up in $D0 (nftables mode)"
	kp=1
else
	not_ok "kube-proxy up in $D0" "$(tail -n 10 "$TMP/kube-proxy-up.log")"
	kp=0
fi

wait_for 30 bash -c "[ -n \"\$(kubectl get pod web -o jsonpath='{.status.podIP}')\" ]"
ipw=$(jp pod/web '{.status.podIP}')
ipd=$(jp pod/dark '{.status.podIP}')
check_eq "the pod runs on the xenlet node" "$(jp pod/web '{.spec.nodeName}')" "$NODE"
python3 -c 'import ipaddress,sys; sys.exit(ipaddress.ip_address(sys.argv[1]) not in ipaddress.ip_network(sys.argv[2]))' "$ipw" "$pcidr" 2>/dev/null
check "its podIP $ipw is in the Node's podCIDR" $? "$(kubectl get pods -o wide 2>&1)"

# (a) the podIP answers from Dom0
wait_for 20 bash -c "ip netns exec $D0 curl -fsS -m 2 http://$ipw:8080/ | grep -qxF '$TEXT'"
check_eq "(a) GET http://$ipw:8080/ from $D0" "$(d0 curl -sS -m 3 "http://$ipw:8080/" 2>&1)" "$TEXT"

# (c) readiness gates the endpoints
wait_for 30 bash -c "[ \"\$(kubectl get pod web -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].status}')\" = True ]"
check "(c) the probe reaches the server through the route: web Ready" $? "$(cond web Ready); $(kubectl get events --field-selector involvedObject.name=web -o jsonpath='{.items[*].message}')"
wait_for 20 bash -c "kubectl get events --field-selector involvedObject.name=dark -o jsonpath='{.items[*].message}' | grep -q 'Readiness probe failed: .*$ipd:8080.*onnection refused'"
check "(c) dark's probe fails: connection refused at its podIP" $? "$(kubectl get events --field-selector involvedObject.name=dark -o jsonpath='{.items[*].message}')"
check_eq "(c) dark is not Ready" "$(cond dark Ready)" False
want_web=$(printf '%s\n' "$ipw=true" "$ipd=false" | sort | tr '\n' ' ')
wait_for 30 bash -c "[ \"\$(kubectl get endpointslices -l kubernetes.io/service-name=web -o jsonpath='{range .items[*].endpoints[*]}{.addresses[0]}={.conditions.ready}{\"\\n\"}{end}' | sort | tr '\n' ' ')\" = '$want_web' ]"
check_eq "(c) web's EndpointSlice: web ready, dark not" \
	"$(slice_ready web | tr ' ' '\n' | grep . | sort | tr '\n' ' ')" "$want_web"
wait_for 20 bash -c "[ \"\$(kubectl get endpointslices -l kubernetes.io/service-name=dark -o jsonpath='{.items[*].endpoints[*].addresses[0]}')\" = $ipd ]"
check_eq "(c) Service dark has no ready endpoint" "$(slice_ready dark)" "$ipd=false "

cip=$(jp service/web '{.spec.clusterIP}')
cipd=$(jp service/dark '{.spec.clusterIP}')
if [ "$kp" = 1 ]; then
	# (b) the ClusterIP from Dom0: kube-proxy's DNAT in D0's output path;
	# dark's endpoint must never be picked (it is not ready)
	wait_for 30 bash -c "ip netns exec $D0 curl -fsS -m 2 http://$cip:80/ | grep -qxF '$TEXT'"
	check "(b) GET http://$cip:80/ (ClusterIP) from $D0 answers" $? "$(d0 nft list table ip kube-proxy 2>&1 | grep -n "$cip\|dnat" | head)"
	n=0
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		[ "$(d0 curl -sS -m 2 "http://$cip:80/" 2>/dev/null)" = "$TEXT" ] && n=$((n + 1))
	done
	check_eq "(b)(c) 10 requests to the ClusterIP: all answered by the ready pod" "$n" 10
	out=$(d0 python3 -c 'import socket, sys
try:
    socket.create_connection((sys.argv[1], 80), 3)
    print("connected")
except OSError as e:
    print(type(e).__name__, e)' "$cipd" 2>&1)
	check_eq "(c) the ClusterIP of a Service without a ready endpoint is rejected (kube-proxy's reject)" \
		"${out%% *}" ConnectionRefusedError
	d0 nft list table ip kube-proxy 2>/dev/null | grep -q "dnat to $ipd:8080"
	check "(c) kube-proxy has no DNAT to the unready pod" "$([ $? -ne 0 ]; echo $?)"

	# (b) and (d) from guests: a client pod asks the ClusterIP in a loop, a
	# dns pod resolves the names in a loop
	printf '%s\n' "http-get $cip 80 /" "sleep 500" loop >"$TMP/images/client.sim"
	printf '%s\n' "resolve web.default.svc.cluster.local" "resolve web" "sleep 1000" loop >"$TMP/images/dns.sim"
	pod client "app: client" client
	pod dns "app: dns" dns
	gets() { console client | grep -F "http-get $cip 80 /: "; }
	wait_for 40 bash -c "cat $TMP/logs/default_client_*/main/*.log 2>/dev/null | grep -q 'http-get $cip 80 /: 200 $TEXT'"
	check "(b) a guest's http-get to the ClusterIP (via its gateway, DNAT in $D0, answer over the bridge) gets 200 TEXT" $? \
		"$(console client | tail -n 4)"
	wait_for 30 bash -c "cat $TMP/logs/default_dns_*/main/*.log 2>/dev/null | grep -q 'resolve web.default.svc.cluster.local: $cip\$'"
	check "(d) the guest resolves web.default.svc.cluster.local to $cip through CoreDNS" $? "$(console dns | tail -n 4)"
	wait_for 10 bash -c "cat $TMP/logs/default_dns_*/main/*.log 2>/dev/null | grep -q 'resolve web: $cip\$'"
	check "(d) ... and the short name web through its search path" $? "$(console dns | tail -n 4)"

	# br_netfilter: without bridge-nf-call-iptables in Dom0 the server's
	# answer goes pod to pod on the bridge unseen by conntrack, its source
	# is not turned back into the ClusterIP, and the guest's request fails
	# (the client's next two rounds after the switch)
	d0 sysctl -qw net.bridge.bridge-nf-call-iptables=0
	n0=$(gets | wc -l)
	wait_for 30 bash -c "[ \$(cat $TMP/logs/default_client_*/main/*.log | grep -cF 'http-get $cip 80 /: ') -ge $((n0 + 2)) ]"
	last=$(gets | tail -n 1)
	echo "$last" | grep -q ": error: "
	check "bridge-nf-call-iptables=0 in $D0: the guest's request to the ClusterIP fails" $? "$(gets | tail -n 3)"
	d0 sysctl -qw net.bridge.bridge-nf-call-iptables=1
	# the failed connections' conntrack entries refuse a few more rounds
	wait_for 30 bash -c "cat $TMP/logs/default_client_*/main/*.log | grep -F 'http-get $cip 80 /: ' | tail -n 1 | grep -q ': 200 '"
	last=$(gets | tail -n 1)
	check_eq "... and works again with it on" "${last##*/: }" "200 $TEXT"
else
	skip "(b)(d) ClusterIP and DNS checks" "kube-proxy did not start"
fi

kill -0 "$DPID" 2>/dev/null
check "xenletd still runs" $?
kubectl delete pod web dark client dns --wait=false >/dev/null 2>&1
summary service
