#!/bin/bash
# test-netcomp.sh [BUILD_DIR] - the cluster network components of a node
# (docs/networking.md), real ones built from Go modules
# (test/cluster/build-netcomp.sh), against the real test control plane:
#   - CoreDNS with the kubernetes plugin resolves
#     kubernetes.default.svc.cluster.local to the API server's ClusterIP, a
#     new Service's name to its ClusterIP, and answers NXDOMAIN for a name
#     that does not exist;
#   - kube-proxy (nftables mode) in a network namespace of the test's own
#     programs the Service's ClusterIP and its endpoint into that
#     namespace's nftables, and nothing into the host's;
#   - flanneld --kube-subnet-mgr in that namespace takes the Node's podCIDR
#     and writes the subnet file xenletd reads (range as gateway/prefix,
#     the VXLAN MTU).
# Needs root (network namespaces), nft, dig (dnsutils) and curl; skips with
# the reason otherwise.  Prints "netcomp: N passed, N failed, N skipped".
#
# Env: XN_NETCOMP_BIN (use these kube-proxy/coredns/flanneld), what
# test/cluster/lib.sh reads (XN_CLUSTER_BIN, XN_CACHE, ...).
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
# shellcheck source=test/lib/tap.sh
. "$top/test/lib/tap.sh"

finish() {
	summary netcomp
	exit
}
skip_all() {
	skip "network components" "$*"
	finish
}

[ "$(id -u)" = 0 ] || skip_all "needs root (network namespaces)"
for c in ip nft dig curl kubectl; do
	command -v $c >/dev/null || skip_all "$c not installed"
done

# shellcheck source=test/cluster/lib.sh
. "$top/test/cluster/lib.sh"
if ! cluster_netcomp_bin; then
	not_ok "build kube-proxy, coredns, flanneld (test/cluster/build-netcomp.sh)"
	finish
fi
ok "kube-proxy, coredns, flanneld built from Go modules ($XN_NETCOMP_BIN)"

ns=xn-netcomp-$$
cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	_cluster_on_exit "$rc"
	ip netns del "$ns" 2>/dev/null
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
if ! cluster_up; then
	not_ok "control plane up"
	finish
fi

# --- CoreDNS ---------------------------------------------------------------
if cluster_coredns_up; then
	ok "coredns ready (kubernetes plugin synced)"
	q() { dig @"$XN_COREDNS_ADDR" -p "$XN_COREDNS_PORT" +time=2 +tries=2 "$@"; }
	got=$(q +short kubernetes.default.svc.cluster.local A)
	check_eq "kubernetes.default.svc.cluster.local -> the API server's ClusterIP" "$got" 10.96.0.1
	kubectl create service clusterip web --tcp=80:8080 >/dev/null
	cip=$(kubectl get service web -o jsonpath='{.spec.clusterIP}')
	wait_for 20 sh -c "dig @$XN_COREDNS_ADDR -p $XN_COREDNS_PORT +short web.default.svc.cluster.local | grep -qx '$cip'"
	check_eq "a new Service's name -> its ClusterIP" "$(q +short web.default.svc.cluster.local A)" "$cip"
	status=$(q nope.default.svc.cluster.local A | sed -n 's/.*status: \([A-Z]*\),.*/\1/p')
	check_eq "an unknown Service -> NXDOMAIN" "$status" NXDOMAIN
	# the search path a guest gets (docs/networking.md, DNS): short names
	got=$(q +short +search +ndots=5 +domain=default.svc.cluster.local web A 2>/dev/null | tail -n1)
	check_eq "web with the pod's search path" "$got" "$cip"
else
	not_ok "coredns up" "$(tail -n 20 "$XN_CLUSTER_DIR/coredns.log" 2>/dev/null)"
	kubectl create service clusterip web --tcp=80:8080 >/dev/null
	cip=$(kubectl get service web -o jsonpath='{.spec.clusterIP}')
fi

# --- kube-proxy in a namespace of ours ------------------------------------
# the namespace's "uplink": a veth pair inside it (no dummy module needed)
ip netns add "$ns"
ip -n "$ns" link add xnnc0 type veth peer name xnnc1 &&
	ip -n "$ns" addr add 10.99.0.2/24 dev xnnc0 &&
	ip -n "$ns" link set xnnc0 up && ip -n "$ns" link set xnnc1 up
check "test namespace $ns with 10.99.0.2 on xnnc0" $? "$(ip -n "$ns" addr 2>&1)"
host_before=$(nft list tables 2>/dev/null | sort)
# the Node kube-proxy runs for (it reads its name and IPs there)
kubectl apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Node
metadata: {name: xenlet-netns}
EOF
if cluster_kube_proxy_up "$ns" 10.99.0.2 xenlet-netns; then
	ok "kube-proxy up in $ns (nftables mode)"
	# the endpoint a pod of a xenlet node would be: a slice by hand, as the
	# endpointslice controller makes from a ready pod's podIP
	kubectl apply -f - >/dev/null <<EOF
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: web-pod
  labels:
    kubernetes.io/service-name: web
    endpointslice.kubernetes.io/managed-by: xenlet-test
addressType: IPv4
ports: [{name: "80-8080", port: 8080, protocol: TCP}]
endpoints: [{addresses: ["10.244.1.5"], conditions: {ready: true}}]
EOF
	rules() { ip netns exec "$ns" nft list table ip kube-proxy 2>/dev/null; }
	wait_for 30 sh -c "ip netns exec $ns nft list table ip kube-proxy | grep -q 'dnat to 10.244.1.5:8080'"
	r=$(rules)
	echo "$r" | grep -q "$cip . tcp . 80 : goto service-" 
	check "the ClusterIP $cip:80 is in kube-proxy's service map" $? "$(echo "$r" | grep -n "$cip" | head -5)"
	echo "$r" | grep -q "dnat to 10.244.1.5:8080"
	check "its endpoint 10.244.1.5:8080 is a DNAT target" $? "$(echo "$r" | grep -n dnat | head -5)"
	host_after=$(nft list tables 2>/dev/null | sort)
	check_eq "the host's nftables tables are untouched" "$host_after" "$host_before"
	cluster_kube_proxy_down
	check "kube-proxy stopped by PID" $? ""
else
	not_ok "kube-proxy up in $ns" "$(tail -n 20 "$XN_CLUSTER_DIR/kube-proxy.log" 2>/dev/null)"
fi

# --- flanneld --kube-subnet-mgr for the same Node --------------------------
# the controller-manager (--allocate-node-cidrs) gives the Node a podCIDR;
# flanneld takes it as its lease and writes the subnet file xenletd reads
wait_for 30 sh -c "[ -n \"\$(kubectl get node xenlet-netns -o jsonpath='{.spec.podCIDR}')\" ]"
pcidr=$(kubectl get node xenlet-netns -o jsonpath='{.spec.podCIDR}')
if [ -z "$pcidr" ]; then
	not_ok "the Node gets a podCIDR for flannel"
elif cluster_flanneld_up "$ns" xenlet-netns xnnc0; then
	ok "flanneld up in $ns (VXLAN over xnnc0)"
	sub=$(sed -n 's/^FLANNEL_SUBNET=//p' "$XN_FLANNEL_SUBNET_FILE")
	gw=$(python3 -c "import ipaddress,sys; n=ipaddress.ip_network(sys.argv[1]); print('%s/%d' % (n.network_address + 1, n.prefixlen))" "$pcidr")
	check_eq "its subnet file gives the Node's podCIDR as gateway/prefix" "$sub" "$gw"
	check_eq "and the VXLAN MTU (1500 - 50)" "$(sed -n 's/^FLANNEL_MTU=//p' "$XN_FLANNEL_SUBNET_FILE")" 1450
	ip -n "$ns" -d link show flannel.1 2>/dev/null | grep -q "vxlan id 1 "
	check "the VXLAN device flannel.1 is in $ns" $? "$(ip -n "$ns" link 2>&1)"
	cluster_flanneld_down
	check "flanneld stopped by PID" $? ""
else
	not_ok "flanneld up in $ns" "$(tail -n 20 "$XN_CLUSTER_DIR/flanneld.log" 2>/dev/null)"
fi
finish
