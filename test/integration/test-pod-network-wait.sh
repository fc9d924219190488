#!/bin/bash
# test-pod-network-wait.sh BUILD_DIR - a cluster's node without a pod
# network, against a real control plane whose controller-manager does not
# allocate node CIDRs: a pod waits Pending (ContainerCreating, "network is
# not ready") with the Event NetworkNotReady and no domain, and starts with
# an address of the range as soon as the Node gets a podCIDR (the node
# informer's update).  Prints "pod-network-wait: N passed, N failed, N skipped".
set -u
B=$(cd "${1:-build}" && pwd)
SRC=$(cd "$(dirname "$0")/../.." && pwd)
NODE=xen-wait-1

# shellcheck source=test/lib/tap.sh
. "$SRC/test/lib/tap.sh"
# shellcheck source=test/integration/lib-xenletd.sh
. "$SRC/test/integration/lib-xenletd.sh"

if ! command -v kubectl >/dev/null; then
	skip "pod network wait checks" "kubectl not installed"
	summary pod-network-wait
	exit
fi
jp() { kubectl get "$1" -o jsonpath="$2" 2>/dev/null; }

# the last --allocate-node-cidrs wins: no podCIDR for any Node
export XN_KCM_EXTRA_ARGS="--allocate-node-cidrs=false"
xn_it_cluster_up test-pod-network-wait || { summary pod-network-wait; exit; }
xn_it_start_xenletd -v --node-ip 127.0.0.1
wait_for 30 kubectl wait --for=condition=Ready "node/$NODE" --timeout=1s
check "node registers and becomes Ready" $? "$(tail -n 5 "$TMP/xenletd.log")"
check_eq "the Node has no podCIDR" "$(jp "node/$NODE" '{.spec.podCIDR}')" ""

kubectl apply -f - >/dev/null <<YAML
apiVersion: v1
kind: Pod
metadata: {name: waiter}
spec:
  runtimeClassName: xen-unikernel
  terminationGracePeriodSeconds: 2
  containers:
  - name: main
    image: $SRC/test/fixtures/sim/server.sim
    resources: {limits: {memory: 64Mi, cpu: 250m}}
YAML
reason() { jp pod/waiter '{.status.containerStatuses[0].state.waiting.reason}'; }
wait_for 30 sh -c "[ \"\$(kubectl get pod waiter -o jsonpath='{.status.containerStatuses[0].state.waiting.reason}')\" = ContainerCreating ]"
check_eq "the pod waits as ContainerCreating" "$(reason)" ContainerCreating
msg=$(jp pod/waiter '{.status.containerStatuses[0].state.waiting.message}')
case $msg in "network is not ready: the node has no pod CIDR yet"*) r=0 ;; *) r=1 ;; esac
check "its message says the network is not ready" $r "$msg"
check_eq "the pod is Pending" "$(jp pod/waiter '{.status.phase}')" Pending
wait_for 20 sh -c "kubectl get events --field-selector involvedObject.name=waiter,reason=NetworkNotReady -o name | grep -q ."
check "an Event NetworkNotReady" $? "$(kubectl get events --field-selector involvedObject.name=waiter 2>&1)"
sleep 3 # the back-off base is 1 s here: it has looked again several times
check_eq "still no domain, no podIP" "$(jp pod/waiter '{.status.podIP}')$(reason)" ContainerCreating
check_eq "no restart counted" "$(jp pod/waiter '{.status.containerStatuses[0].restartCount}')" 0

kubectl patch node "$NODE" --type merge \
	-p '{"spec":{"podCIDR":"10.244.42.0/24","podCIDRs":["10.244.42.0/24"]}}' >/dev/null
check "the Node gets a podCIDR" $? ""
wait_for 30 sh -c "[ \"\$(kubectl get pod waiter -o jsonpath='{.status.phase}')\" = Running ]"
check_eq "the pod runs once the range is there" "$(jp pod/waiter '{.status.phase}')" Running
case $(jp pod/waiter '{.status.podIP}') in 10.244.42.*) r=0 ;; *) r=1 ;; esac
check "with an address of the new range" $r "podIP '$(jp pod/waiter '{.status.podIP}')'"
check_eq "and no restart counted" "$(jp pod/waiter '{.status.containerStatuses[0].restartCount}')" 0

kubectl delete pod waiter --wait=false >/dev/null 2>&1
summary pod-network-wait
