#!/bin/bash
# demo-sim.sh BUILD_DIR - the main job, shown to a person: a real Kubernetes
# control plane on loopback (test/cluster), xenletd joining it as a node,
# a unikernel pod applied with kubectl, scheduled, run as a domain, its
# console output, deletion.  Uses the simulated hypervisor (hv_sim): fast
# and needs no Xen (`make demo-sim`).  scripts/demo.sh (`make demo`) shows
# the same with real Xen in QEMU and falls back to this one.
set -u
B=$(cd "${1:-build}" && pwd)
SRC=$(cd "$(dirname "$0")/.." && pwd)
NODE=xen-demo
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

. "$SRC/test/cluster/lib.sh"
TMP=$(mktemp -d /tmp/xenlet-demo.XXXXXX)
export XN_CLUSTER_DIR=$TMP/cluster
DPID=
cleanup() {
	[ -n "$DPID" ] && kill -TERM "$DPID" 2>/dev/null && wait "$DPID" 2>/dev/null
	cluster_down >/dev/null 2>&1
	rm -rf "$TMP"
}
trap cleanup EXIT

say "Starting a Kubernetes control plane on loopback (etcd, apiserver, scheduler, controller-manager)"
cluster_up >"$TMP/cluster.log" 2>&1 || { tail -n 30 "$TMP/cluster.log"; exit 1; }
echo "API server: $XN_APISERVER_URL ($XN_K8S_VERSION)"
cluster_node_kubeconfig "$NODE" "$TMP/node.kubeconfig" >/dev/null

say "Starting xenletd as node $NODE (backend: sim, 2 GiB, 4 CPUs)"
XN_SIM_MEMORY_MB=2048 XN_SIM_CPUS=4 "$B/xenletd" --backend=sim -d \
	--kubeconfig "$TMP/node.kubeconfig" --node-name "$NODE" --node-ip 127.0.0.1 \
	--root-dir "$TMP/root" --pod-log-dir "$TMP/logs" --ctl-socket "$TMP/ctl.sock" \
	--image-root "$SRC/test/fixtures/sim" >"$TMP/xenletd.log" 2>&1 &
DPID=$!
kubectl wait --for=condition=Ready "node/$NODE" --timeout=60s >/dev/null
run kubectl get nodes -o wide
kubectl describe node "$NODE" | sed -n '/^Taints/p;/^Capacity/,/^System Info/p'

say "Applying the RuntimeClass and a unikernel pod"
run kubectl apply -f "$SRC/k8s/runtimeclass.yaml"
cat >"$TMP/pod.yaml" <<POD
apiVersion: v1
kind: Pod
metadata: {name: hello-unikernel}
spec:
  runtimeClassName: xen-unikernel
  restartPolicy: Never
  containers:
  - name: hello
    image: $SRC/test/fixtures/sim/hello.sim
    args: ["greeting=hello-from-a-pod"]
    resources: {limits: {memory: 64Mi, cpu: 500m}}
POD
cat "$TMP/pod.yaml"
run kubectl apply -f "$TMP/pod.yaml"
kubectl wait --for=jsonpath='{.status.phase}'=Succeeded pod/hello-unikernel --timeout=60s >/dev/null
run kubectl get pods -o wide

say "The unikernel's console (CRI log on the node; kubectl logs comes with the kubelet API)"
run "$B/xl-pod" -s "$TMP/ctl.sock" logs hello-unikernel
say "Events"
run kubectl get events --field-selector involvedObject.name=hello-unikernel \
	-o custom-columns=REASON:.reason,MESSAGE:.message

say "Deleting the pod"
run kubectl delete pod hello-unikernel
run "$B/xl-pod" -s "$TMP/ctl.sock" list
say "Done: everything started here is stopped again."
