#!/bin/bash
# test-pod-network.sh BUILD_DIR - pod addresses against a real control plane:
# the controller-manager (--allocate-node-cidrs) gives the node its podCIDR,
# xenletd (hv_sim) hands its pods addresses from it: podIP/podIPs in the
# status, distinct per pod, the same after a daemon restart, the image
# convention's arguments on the command line, the record gone after delete;
# a bad --pod-cidr stops the start.
# Prints "pod-network: N passed, N failed, N skipped".
set -u
B=$(cd "${1:-build}" && pwd)
SRC=$(cd "$(dirname "$0")/../.." && pwd)
NODE=xen-net-1

# shellcheck source=test/lib/tap.sh
. "$SRC/test/lib/tap.sh"
# shellcheck source=test/integration/lib-xenletd.sh
. "$SRC/test/integration/lib-xenletd.sh"

# A bad range is refused before anything starts.
out=$("$B/xenletd" -n --backend=sim --node-name n1 --pod-cidr 10.244.1.5/24 2>&1)
rc=$?
check "a bad --pod-cidr stops xenletd with the value and the reason" \
	"$([ "$rc" -eq 2 ] && echo "$out" | grep -q 'podCIDR: pod CIDR "10.244.1.5/24": host bits set'; echo $?)" \
	"exit $rc: $out"
out=$("$B/xenletd" -n --backend=sim --node-name n1 --pod-cidr 10.244.1.0/24,fd00:1::/64 2>&1)
echo "$out" | grep -q '^podCIDR: "10.244.1.0/24,fd00:1::/64"$'
check "xenletd -n shows the podCIDR setting" $? "$out"

if ! command -v kubectl >/dev/null; then
	skip "pod network checks" "kubectl not installed"
	summary pod-network
	exit
fi

jp() { kubectl get "$1" -o jsonpath="$2" 2>/dev/null; }
pod_running() { [ "$(jp "pod/$1" '{.status.phase}')" = Running ]; }
# in_cidr IP CIDR: a pod address of the range (not network, gateway, broadcast)
in_cidr() {
	python3 - "$1" "$2" <<'EOF'
import ipaddress, sys
ip, net = ipaddress.ip_address(sys.argv[1]), ipaddress.ip_network(sys.argv[2])
ok = ip in net and ip not in (net.network_address, net.network_address + 1, net.broadcast_address)
sys.exit(0 if ok else 1)
EOF
}
# store_paths: every path of the sim node's xenstore (the mem store's file
# and its journal); store_has PATH: it holds PATH
store_paths() { python3 "$SRC/test/lib/store-paths.py" "$TMP/root/store.json"; }
store_has() { store_paths | grep -xF "$1" >/dev/null; }
net_pod() { # net_pod NAME [NET-CONFIG]
	kubectl apply -f - >/dev/null <<YAML
apiVersion: v1
kind: Pod
metadata:
  name: $1
  annotations: {xenlet.io/net-config: "${2:-none}"}
spec:
  runtimeClassName: xen-unikernel
  restartPolicy: Always
  terminationGracePeriodSeconds: 2
  containers:
  - name: main
    image: $SRC/test/fixtures/sim/server.sim
    args: ["role=$1"]
    resources: {limits: {memory: 64Mi, cpu: 250m}}
YAML
}

xn_it_cluster_up test-pod-network || { summary pod-network; exit; }

xn_it_start_xenletd -v --node-ip 127.0.0.1
wait_for 30 kubectl wait --for=condition=Ready "node/$NODE" --timeout=1s
check "node registers and becomes Ready" $? "$(tail -n 5 "$TMP/xenletd.log")"
wait_for 30 bash -c "[ -n \"\$(kubectl get node $NODE -o jsonpath='{.spec.podCIDR}')\" ]"
cidr=$(jp "node/$NODE" '{.spec.podCIDR}')
check "the controller-manager gives the node a podCIDR" $? "spec: $(jp "node/$NODE" '{.spec}')"
wait_for 10 grep -q "pod network: $cidr (from the Node's spec.podCIDRs)" "$TMP/xenletd.log"
check "xenletd takes the Node's podCIDR ($cidr)" $? "$(grep 'pod network' "$TMP/xenletd.log")"

net_pod web mirage
net_pod api
wait_for 30 pod_running web && wait_for 30 pod_running api
check "two pods run" $? "$(kubectl get pods -o wide 2>&1)"
ip_web=$(jp pod/web '{.status.podIP}')
ip_api=$(jp pod/api '{.status.podIP}')
in_cidr "$ip_web" "$cidr" && in_cidr "$ip_api" "$cidr"
check "podIP of each is a pod address of the node's podCIDR" $? "web '$ip_web', api '$ip_api', podCIDR $cidr"
check "the two pods have different addresses" "$([ "$ip_web" != "$ip_api" ]; echo $?)" "$ip_web $ip_api"
check_eq "podIPs lists the podIP" "$(jp pod/web '{.status.podIPs[*].ip}')" "$ip_web"
wide=$(kubectl get pod web -o wide --no-headers 2>&1)
echo "$wide" | grep -qw -- "$ip_web"
check "kubectl get pods -o wide shows the IP" $? "$wide"
uid_web=$(jp pod/web '{.metadata.uid}')
gw=$(python3 -c "import ipaddress,sys; print(ipaddress.ip_network(sys.argv[1]).network_address + 1)" "$cidr")
prefix=${cidr#*/}
logf=$(ls "$TMP"/logs/default_web_*/main/0.log 2>/dev/null)
wait_for 10 grep -q " stdout F role=web --ipv4=$ip_web/$prefix --ipv4-gateway=$gw\$" "$logf"
check "xenlet.io/net-config: mirage puts --ipv4 and --ipv4-gateway after the pod's args" $? \
	"$(grep -h 'stdout F role=' "$TMP"/logs/default_web_*/main/0.log 2>/dev/null)"
logf=$(ls "$TMP"/logs/default_api_*/main/0.log 2>/dev/null)
wait_for 10 grep -q " stdout F role=api\$" "$logf"
check "without the annotation the command line stays the pod's own" $? \
	"$(grep -h 'stdout F role=' "$logf" 2>/dev/null)"
store_has "/xenlet/net/pods/$uid_web/ipv4"
check "the allocation is recorded in xenstore under /xenlet/net/pods/<uid>" $?

# A daemon restart: the pods keep their addresses, a new one gets another.
xn_it_stop_xenletd
xn_it_start_xenletd -v --node-ip 127.0.0.1
net_pod third
wait_for 30 pod_running third
ip_third=$(jp pod/third '{.status.podIP}')
check_eq "after a daemon restart web keeps its podIP" "$(jp pod/web '{.status.podIP}')" "$ip_web"
check "a pod started after the restart gets an address no other pod has" \
	"$(in_cidr "$ip_third" "$cidr" && [ "$ip_third" != "$ip_web" ] && [ "$ip_third" != "$ip_api" ]; echo $?)" \
	"third '$ip_third', web '$ip_web', api '$ip_api'"

# Deleted: the address goes back (its record is gone).
kubectl delete pod web --timeout=60s >/dev/null 2>&1
wait_for 20 bash -c "! kubectl get pod web >/dev/null 2>&1"
check "the pod is deleted" $?
no_record() { local p; p=$(store_paths) && ! grep -q "^/xenlet/net/pods/$uid_web" <<<"$p"; }
wait_for 10 no_record
check "its address record is gone from xenstore" $?

kubectl delete pod api third --wait=false >/dev/null 2>&1
summary pod-network
