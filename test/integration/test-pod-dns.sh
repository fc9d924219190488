#!/bin/bash
# test-pod-dns.sh BUILD_DIR - a pod's DNS against a real control plane, as
# the kubelet forms it (docs/networking.md, "DNS"): xenletd (hv_sim) with
# --cluster-dns, --cluster-domain and --resolv-conf; pods with dnsPolicy
# ClusterFirst (default), Default and None+dnsConfig get the guest keys dns,
# search and dns-options, Unikraft's netdev.ip carries the server, too many
# name servers give the kubelet's DNSConfigForming Event; bad settings stop
# the start with the value.  Also flannel's subnet file: its MTU reaches the
# guest, the Node's podCIDR wins over its subnet.
# Prints "pod-dns: N passed, N failed, N skipped".
set -u
B=$(cd "${1:-build}" && pwd)
SRC=$(cd "$(dirname "$0")/../.." && pwd)
NODE=xen-dns-1

# shellcheck source=test/lib/tap.sh
. "$SRC/test/lib/tap.sh"
# shellcheck source=test/integration/lib-xenletd.sh
. "$SRC/test/integration/lib-xenletd.sh"

out=$("$B/xenletd" -n --backend=sim --node-name n1 --cluster-dns 10.96.0.300 2>&1)
rc=$?
check "a bad --cluster-dns stops xenletd with the value" \
	"$([ "$rc" -ne 0 ] && echo "$out" | grep -q "clusterDNS '10.96.0.300': '10.96.0.300' is not an IP address"; echo $?)" \
	"exit $rc: $out"
out=$("$B/xenletd" -n --backend=sim --node-name n1 --cluster-dns 10.96.0.10 --cluster-domain cluster.local 2>&1)
printf '%s\n' "$out" | grep -A1 '^clusterDNS:$' | grep -q '"10.96.0.10"' &&
	printf '%s\n' "$out" | grep -q '^clusterDomain: "cluster.local"$'
check "xenletd -n shows clusterDNS and clusterDomain" $? "$out"

if ! command -v kubectl >/dev/null; then
	skip "pod DNS checks" "kubectl not installed"
	summary pod-dns
	exit
fi

jp() { kubectl get "$1" -o jsonpath="$2" 2>/dev/null; }
pod_running() { [ "$(jp "pod/$1" '{.status.phase}')" = Running ]; }
# guest_key POD KEY: the value of /local/domain/<the pod's domid>/xenlet/KEY
# in the sim node's xenstore (the mem store's file); exit 1 when absent
guest_key() {
	python3 - <(python3 "$SRC/test/lib/store-paths.py" "$TMP/root/store.json" --dump) "$1" "$2" <<'EOF'
import json, re, sys
nodes = {n["path"]: n["value"] for n in json.load(open(sys.argv[1]))["nodes"]}
for p, v in nodes.items():
    m = re.fullmatch(r"/local/domain/(\d+)/xenlet/pod-name", p)
    if m and v == sys.argv[2]:
        k = "/local/domain/%s/xenlet/%s" % (m.group(1), sys.argv[3])
        if k in nodes:
            print(nodes[k])
            sys.exit(0)
sys.exit(1)
EOF
}
dns_pod() { # dns_pod NAME NET-CONFIG SPEC-LINES
	kubectl apply -f - >/dev/null <<YAML
apiVersion: v1
kind: Pod
metadata:
  name: $1
  annotations: {xenlet.io/net-config: "$2"}
spec:
  runtimeClassName: xen-unikernel
  restartPolicy: Always
  terminationGracePeriodSeconds: 2
$3
  containers:
  - name: main
    image: $SRC/test/fixtures/sim/server.sim
    args: ["role=$1"]
    resources: {limits: {memory: 64Mi, cpu: 250m}}
YAML
}

xn_it_cluster_up test-pod-dns || { summary pod-dns; exit; }
printf 'nameserver 192.0.2.53\nsearch lab.example\noptions timeout:2\n' >"$TMP/resolv.conf"
# flannel's subnet file: its MTU reaches the guests; its subnet differs from
# the Node's podCIDR, which wins
printf 'FLANNEL_NETWORK=10.250.0.0/16\nFLANNEL_SUBNET=10.250.7.1/24\nFLANNEL_MTU=1400\nFLANNEL_IPMASQ=true\n' \
	>"$TMP/subnet.env"
printf 'flannelSubnetFile: %s\n' "$TMP/subnet.env" >"$TMP/xenletd.yaml"
xn_it_start_xenletd -v --node-ip 127.0.0.1 --cluster-dns 10.96.0.10 \
	--cluster-domain cluster.local --resolv-conf "$TMP/resolv.conf" --config "$TMP/xenletd.yaml"
wait_for 30 kubectl wait --for=condition=Ready "node/$NODE" --timeout=1s
check "node registers and becomes Ready" $? "$(tail -n 5 "$TMP/xenletd.log")"

dns_pod cf unikraft ""
dns_pod def none "  dnsPolicy: Default"
dns_pod nn none "  dnsPolicy: None
  dnsConfig:
    nameservers: [1.1.1.1, 2606:4700:4700::1111]
    searches: [corp.example]
    options: [{name: ndots, value: \"2\"}, {name: edns0}]"
dns_pod many none "  dnsConfig:
    nameservers: [9.9.9.9, 8.8.8.8, 1.0.0.1]"
for p in cf def nn many; do wait_for 30 pod_running $p; done
check "four pods run" $? "$(kubectl get pods -o wide 2>&1)"

check_eq "flannel's FLANNEL_MTU is the guest's mtu" "$(guest_key cf mtu)" 1400
grep -q "flannel subnet file $TMP/subnet.env: subnet 10.250.7.0/24, MTU 1400" "$TMP/xenletd.log"
check "xenletd reads flannel's subnet file" $? "$(grep -i flannel "$TMP/xenletd.log")"
case $(jp pod/cf '{.status.podIP}') in 10.250.*) r=1 ;; '') r=1 ;; *) r=0 ;; esac
check "the Node's podCIDR wins over flannel's subnet" $r "podIP $(jp pod/cf '{.status.podIP}')"
check_eq "ClusterFirst: the clusterDNS server" "$(guest_key cf dns)" 10.96.0.10
check_eq "ClusterFirst: the kubelet's search path, then the node's" "$(guest_key cf search)" \
	"default.svc.cluster.local svc.cluster.local cluster.local lab.example"
check_eq "ClusterFirst: options ndots:5" "$(guest_key cf dns-options)" "ndots:5"
logf=$(ls "$TMP"/logs/default_cf_*/main/0.log 2>/dev/null)
wait_for 10 grep -q "netdev.ip=[0-9.]*/[0-9]*:[0-9.]*:10.96.0.10 -- role=cf\$" "$logf"
check "Unikraft's netdev.ip carries the name server" $? "$(grep -h 'stdout F' "$logf" 2>/dev/null | head -3)"
check_eq "Default: the node's resolv.conf servers" "$(guest_key def dns)" 192.0.2.53
check_eq "Default: the node's search" "$(guest_key def search)" lab.example
check_eq "Default: the node's options" "$(guest_key def dns-options)" timeout:2
check_eq "None: dnsConfig's servers (IPv6 too)" "$(guest_key nn dns)" "1.1.1.1,2606:4700:4700::1111"
check_eq "None: dnsConfig's searches" "$(guest_key nn search)" corp.example
check_eq "None: dnsConfig's options" "$(guest_key nn dns-options)" "ndots:2 edns0"
check_eq "ClusterFirst + dnsConfig: the first three servers" "$(guest_key many dns)" \
	"10.96.0.10,9.9.9.9,8.8.8.8"
ev() { kubectl get events --field-selector "involvedObject.name=$1,reason=$2" \
	-o jsonpath='{.items[*].message}' 2>/dev/null; }
wait_for 20 bash -c "[ -n \"\$(kubectl get events --field-selector involvedObject.name=many,reason=DNSConfigForming -o name)\" ]"
check_eq "too many name servers: the kubelet's DNSConfigForming Event" "$(ev many DNSConfigForming)" \
	"Nameserver limits were exceeded, some nameservers have been omitted, the applied nameserver line is: 10.96.0.10 9.9.9.9 8.8.8.8"

kubectl delete pod cf def nn many --wait=false >/dev/null 2>&1
summary pod-dns
