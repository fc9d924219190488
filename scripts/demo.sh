#!/bin/bash
# demo.sh BUILD_DIR - the main job, shown to a person, on real Xen: a
# Kubernetes control plane on loopback (test/cluster), Debian's Xen 4.17
# booted in QEMU (test/rig, software emulation), xenletd --backend=libxl in
# its Dom0 joining the cluster as node xen-rig, a unikernel pod applied with
# kubectl, scheduled, run as a Xen domain, its console output, deletion.
# About 1.5-2 minutes.  Falls back to scripts/demo-sim.sh (the simulated
# hypervisor) with the reason when QEMU or the rig's packages are missing
# (`make deps` installs them).  How host and Dom0 meet:
# test/e2e/rig-k8s-lib.sh.
set -u
B=$(cd "${1:-build}" && pwd)
SRC=$(cd "$(dirname "$0")/.." && pwd)
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }
xl_now() { local d; d=$(rk_xl_now); echo "${d:-none besides Domain-0}"; }
fallback() {
	say "The real-Xen demo cannot run here: $*"
	echo "Showing the same path with the simulated hypervisor instead (scripts/demo-sim.sh)."
	rk_cleanup 2>/dev/null
	trap - EXIT
	exec "$SRC/scripts/demo-sim.sh" "$B"
}

. "$SRC/test/e2e/rig-k8s-lib.sh"
rk_init "$B" "$B/demo"
trap rk_cleanup EXIT
make -s -C "$SRC/test/guests" O="$B/guests" >/dev/null 2>&1 ||
	fallback "the test unikernels do not build (make guests)"
why=$(rk_can_run) || fallback "$why"

say "Starting a Kubernetes control plane on loopback (etcd, apiserver, scheduler, controller-manager)"
rk_cluster_up || { tail -n 30 "$RK_OUT/k8s-cluster.log"; exit 1; }
echo "API server: $XN_APISERVER_URL ($XN_K8S_VERSION)"
echo "Inside the emulated machine it is $XN_GUEST_APISERVER_URL (QEMU forwards it here)."
run kubectl apply -f "$SRC/k8s/runtimeclass.yaml"

say "Booting Xen 4.17 in QEMU; xenletd --backend=libxl starts in Dom0 as node $RK_NODE"
rk_rig_start
echo "QEMU emulates the CPU in software: Dom0 is up after ~20 s, the node registers soon after."
echo "Xen's and Dom0's console: $RK_LOG"
if ! rk_wait_node 300; then
	if ! rk_rig_running && rk_rig_wait 0 && [ "$RK_RIG_RC" = 77 ]; then
		fallback "$(grep -a '^skipped:' "$RK_LOG" | tail -n 1)"
	fi
	echo "The node did not become Ready; the end of Dom0's console:"
	grep -a 'RIG-\|rig ' "$RK_LOG" | tail -n 20
	exit 1
fi
grep -ao 'Xen version [^(]*([^)]*)' "$RK_LOG" | head -n 1 | sed 's/^/The hypervisor: /'
# The node reports NetworkUnavailable until Dom0's pod bridge is up; the
# controller-manager then lifts its network-unavailable taint: applying the
# pod before that only earns a FailedScheduling Event and a retry.
for _ in $(seq 1 60); do
	kubectl get node "$RK_NODE" -o jsonpath='{.spec.taints[*].key}' 2>/dev/null |
		grep -q network-unavailable || break
	sleep 1
done
run kubectl get nodes -o wide
kubectl describe node "$RK_NODE" | awk '/^Taints/ { print } /^Capacity/ { p = 1 }
	p && /^[A-Z]/ && !/^(Capacity|Allocatable|System Info)/ { p = 0 } p { print }'

say "Applying a unikernel pod: the kernel is a file in Dom0, args are its command line"
POD=$RK_TMP/pod.yaml
rk_pod_yaml hello-unikernel '["lines=3", "hold"]' Always >"$POD"
cat "$POD"
run kubectl apply -f "$POD"
kubectl wait --for=jsonpath='{.status.phase}'=Running pod/hello-unikernel --timeout=120s >/dev/null
run kubectl get pods -o wide
for _ in $(seq 30); do # Dom0 reports its xl list once a second
	[[ "$(rk_xl_now)" == *hello-unikernel* ]] && break
	sleep 0.5
done
echo "Xen's domains, as Dom0's xl list shows them: $(xl_now)"

say "The unikernel's console"
for _ in $(seq 60); do # the guest prints its lines within a second of starting
	rk_crilog hello-unikernel | grep -q XN-TEST-HOLDING && break
	sleep 0.5
done
if rk_kubelet_api && run kubectl logs hello-unikernel; then
	:
else
	echo "(kubectl logs needs xenletd's kubelet API; here is the CRI log Dom0 reported,"
	echo " /var/log/pods/default_hello-unikernel_<uid>/main/0.log on the node)"
	rk_crilog hello-unikernel
fi
say "Events"
run kubectl get events --field-selector involvedObject.name=hello-unikernel \
	-o custom-columns=REASON:.reason,MESSAGE:.message

say "Deleting the pod: xenletd asks the guest to shut down, then the domain is gone"
mark=$(rk_log_lines)
run kubectl delete pod hello-unikernel
for _ in $(seq 60); do
	rk_xl_changed_since "$mark" && [[ "$(rk_xl_now)" != *hello-unikernel* ]] && break
	sleep 0.5
done
echo "Xen's domains now: $(xl_now)"
echo "The last console line Dom0 reported: $(rk_crilog hello-unikernel | tail -n 1 | cut -d' ' -f4-)"
run kubectl get pods -o wide

say "Stopping: Dom0 stops xenletd and powers the emulated machine off"
echo "(the signal is a pod named rig-done: Dom0 watches for it with xl-pod list)"
rk_done
rk_rig_wait 180 || echo "(the rig is still running; stopping it)"
say "Done: everything started here is stopped again."
