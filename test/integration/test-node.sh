#!/bin/bash
# test-node.sh [BUILD_DIR] - the node module (daemon/node*.c) against a real
# control plane (test/cluster/lib.sh), driven by test/integration/node-check.c
# and checked with kubectl.
#
# Covers: registration with labels and taint; Ready; capacity, allocatable,
# nodeInfo, addresses, daemonEndpoints; the Lease (holder, owner, renewTime
# advancing); the controller-manager's podCIDR seen by the module;
# MemoryPressure following the fake hypervisor's free memory; an apiserver
# stop/start (the driver keeps going, the lease resumes); a driver restart
# adopting the existing Node (409 path) without a fake transition; a deleted
# Node registered again.  Prints "N passed, N failed, N skipped".
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
B=${1:-build}
case $B in /*) ;; *) B=$top/$B ;; esac
# shellcheck source=test/lib/tap.sh
. "$top/test/lib/tap.sh"

finish() {
	[ -n "${drv_pid:-}" ] && kill "$drv_pid" 2>/dev/null && wait "$drv_pid" 2>/dev/null
	summary node
	exit
}
skip_all() {
	skip "node checks" "$*"
	finish
}

lib=${XN_CLUSTER_LIB:-$top/test/cluster/lib.sh}
[ -f "$lib" ] || skip_all "no cluster harness at $lib"
command -v kubectl >/dev/null || skip_all "kubectl not installed"
command -v jq >/dev/null || skip_all "jq not installed"

pkgs="libevent libevent_openssl libcurl libcjson yaml-0.1 openssl"
drv=$B/test/integration/node-check
san=
case $B in */build-san) san="-fsanitize=address,undefined -fno-omit-frame-pointer" ;; esac
# a library that does not build is a failure, not a skip
make -s -C "$top" B="$B" "$B/libxenlet.a" >/dev/null || { not_ok "build $B/libxenlet.a"; finish; }
mkdir -p "$(dirname "$drv")"
${CC:-cc} -I"$top/include" -D_GNU_SOURCE -DXN_VERSION="\"$(cat "$top/VERSION")\"" -std=gnu11 \
	-O2 -g -Wall -Wextra -Werror -Wno-unused-parameter -Wshadow -Wmissing-prototypes $san \
	$(pkg-config --cflags $pkgs) -o "$drv" "$here/node-check.c" "$B/libxenlet.a" \
	$(pkg-config --libs $pkgs) -lm ||
	{ not_ok "build node-check"; finish; }

# shellcheck source=/dev/null
. "$lib"
cluster_install_trap
cluster_up || { not_ok "cluster_up failed"; finish; }
work=$XN_CLUSTER_DIR/node
mkdir -p "$work"
NODE=xn-node-check
IP=10.0.2.15
cluster_node_kubeconfig "$NODE" "$work/node.kubeconfig" >/dev/null || { not_ok "node kubeconfig"; finish; }
echo $((4 << 20)) >"$work/free" # KiB of free Xen memory the fake reports

run=0
drv_start() {
	run=$((run + 1))
	out=$work/out.$run
	"$drv" -k "$work/node.kubeconfig" -n "$NODE" -i "$IP" -m "$work/free" -r 256 -c 500 \
		-l xenlet.io/test=node-check >"$out" 2>"$work/log.$run" &
	drv_pid=$!
}
drv_stop() {
	kill "$drv_pid" 2>/dev/null
	wait "$drv_pid" 2>/dev/null
	check_eq "driver run $run exit status" "$?" 0
	drv_pid=
}
node_json() { kubectl get node "$NODE" -o json 2>/dev/null; }
jn() { node_json | jq -r "$1"; }
cond() { jn ".status.conditions[] | select(.type==\"$1\") | .$2"; }
lease() { kubectl -n kube-node-lease get lease "$NODE" -o json 2>/dev/null | jq -r "$1"; }
grep_out() { grep -q "$1" "$out"; }

# --- register -------------------------------------------------------------
drv_start
if wait_for 60 grep_out '^ready$'; then ok "driver reports ready"; else not_ok "driver reports ready"; fi
check_eq "label arch" "$(jn '.metadata.labels["kubernetes.io/arch"]')" amd64
check_eq "label os" "$(jn '.metadata.labels["kubernetes.io/os"]')" linux
check_eq "label hostname" "$(jn '.metadata.labels["kubernetes.io/hostname"]')" "$NODE"
check_eq "label runtime" "$(jn '.metadata.labels["xenlet.io/runtime"]')" xen
check_eq "configured label" "$(jn '.metadata.labels["xenlet.io/test"]')" node-check
check_eq "taint" "$(jn '[.spec.taints[] | select(.key=="xenlet.io/unikernel") | "\(.value):\(.effect)"] | join(",")')" "true:NoSchedule"
if kubectl wait --for=condition=Ready "node/$NODE" --timeout=30s >/dev/null; then ok "Ready (kubectl wait)"; else not_ok "Ready (kubectl wait)"; fi
check_eq "Ready reason" "$(cond Ready reason)" KubeletReady
check_eq "Ready message" "$(cond Ready message)" "xenlet is posting ready status"
check_eq "MemoryPressure" "$(cond MemoryPressure status)/$(cond MemoryPressure reason)" False/KubeletHasSufficientMemory
check_eq "DiskPressure" "$(cond DiskPressure status)/$(cond DiskPressure reason)" False/KubeletHasNoDiskPressure
check_eq "PIDPressure" "$(cond PIDPressure status)/$(cond PIDPressure reason)" False/KubeletHasSufficientPID
check_eq "NetworkUnavailable" "$(cond NetworkUnavailable status)/$(cond NetworkUnavailable reason)" False/XenletNetworkReady
check_eq "capacity" "$(jn '.status.capacity | "\(.cpu) \(.memory) \(.pods)"')" "2 8Gi 110"
# 4Gi free + 0 in domains - 256Mi reserved; 2 CPUs - 500m
check_eq "allocatable" "$(jn '.status.allocatable | "\(.cpu) \(.memory) \(.pods)"')" "1500m 3840Mi 110"
check_eq "driver allocatable" "$(grep '^allocatable' "$out" | tail -1)" "allocatable memory=$((3840 << 20)) cpu=1500 pods=110"
v=$(cat "$top/VERSION")
check_eq "kubeletVersion" "$(jn .status.nodeInfo.kubeletVersion)" "v1.34.4-xenlet.$v"
check_eq "kernelVersion" "$(jn .status.nodeInfo.kernelVersion)" "Xen 4.17.5"
check_eq "osImage" "$(jn .status.nodeInfo.osImage)" "xenlet $v on Xen 4.17.5"
check_eq "containerRuntimeVersion" "$(jn .status.nodeInfo.containerRuntimeVersion)" "xen://4.17.5"
check_eq "os/arch" "$(jn '.status.nodeInfo | "\(.operatingSystem)/\(.architecture)"')" linux/amd64
check_eq "machineID" "$(jn .status.nodeInfo.machineID)" "$(cat /etc/machine-id)"
check_eq "bootID" "$(jn .status.nodeInfo.bootID)" "$(cat /proc/sys/kernel/random/boot_id)"
check_eq "addresses" "$(jn '[.status.addresses[] | "\(.type)=\(.address)"] | join(" ")')" "InternalIP=$IP Hostname=$NODE"
check_eq "kubelet port" "$(jn .status.daemonEndpoints.kubeletEndpoint.Port)" 10250
# kubectl must accept the version string in its table
check_eq "kubectl get nodes VERSION" "$(kubectl get node "$NODE" --no-headers | awk '{print $2 " " $5}')" "Ready v1.34.4-xenlet.$v"

# --- podCIDR --------------------------------------------------------------
wait_for 30 grep_out '^podcidr ' || true
cidr=$(jn .spec.podCIDR)
case $cidr in 10.244.*.0/24) ok "controller-manager assigned $cidr" ;; *) not_ok "podCIDR assigned: got '$cidr'" ;; esac
check_eq "driver saw podCIDR" "$(grep '^podcidr ' "$out" | tail -1)" "podcidr $cidr"

# --- lease ----------------------------------------------------------------
wait_for 20 lease .spec.renewTime >/dev/null
check_eq "lease holder" "$(lease .spec.holderIdentity)" "$NODE"
check_eq "lease duration" "$(lease .spec.leaseDurationSeconds)" 40
uid=$(jn .metadata.uid)
check_eq "lease owner" "$(lease '.metadata.ownerReferences[0] | "\(.kind)/\(.name)/\(.uid)"')" "Node/$NODE/$uid"
r1=$(lease .spec.renewTime)
case $r1 in [0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z) ok "renewTime is a MicroTime ($r1)" ;; *) not_ok "renewTime format: '$r1'" ;; esac
renewed_after() { local r; r=$(lease .spec.renewTime); [[ "$r" > "$1" ]]; }
if wait_for 25 renewed_after "$r1"; then ok "renewTime advances"; else not_ok "renewTime advances (still $r1)"; fi

# --- MemoryPressure -------------------------------------------------------
ready_t=$(cond Ready lastTransitionTime)
echo $((50 << 10)) >"$work/free" # 50Mi < the 100Mi threshold
mp() { [ "$(cond MemoryPressure status)" = "$1" ]; }
if wait_for 40 mp True; then ok "MemoryPressure True when free memory is low"; else not_ok "MemoryPressure True when free memory is low"; fi
check_eq "MemoryPressure reason" "$(cond MemoryPressure reason)" KubeletHasInsufficientMemory
check_eq "Ready transition kept" "$(cond Ready lastTransitionTime)" "$ready_t"
echo $((4 << 20)) >"$work/free"
if wait_for 40 mp False; then ok "MemoryPressure back to False"; else not_ok "MemoryPressure back to False"; fi
mp_t=$(cond MemoryPressure lastTransitionTime)

# --- apiserver stop/start -------------------------------------------------
cluster_apiserver_stop
sleep 12 # longer than a lease renewal period: renewals fail meanwhile
alive() { kill -0 "$drv_pid" 2>/dev/null; }
if alive; then ok "driver survives the apiserver being down"; else not_ok "driver died while the apiserver was down"; fi
cluster_apiserver_start || not_ok "apiserver restart"
r2=$(date -u +%Y-%m-%dT%H:%M:%S.000000Z)
if wait_for 30 renewed_after "$r2"; then ok "lease renewed after the apiserver came back"; else not_ok "lease renewed after the apiserver came back"; fi
if grep -q 'lease: .*retrying' "$work/log.$run"; then ok "lease failures were noticed and retried"; else not_ok "no lease failure logged during the outage"; fi
check_eq "still Ready" "$(cond Ready status)" True
check_eq "no duplicate registration" "$(grep -c '^registered' "$out")" 1

# --- restart: adopt the existing Node (409) --------------------------------
drv_stop
uid_before=$uid
drv_start
if wait_for 60 grep_out '^ready$'; then ok "restarted driver ready"; else not_ok "restarted driver ready"; fi
check_eq "adopted via 409" "$(grep '^registered' "$out" | sed 's/.*adopted=//')" 1
check_eq "same Node uid" "$(grep '^registered' "$out" | sed 's/registered uid=\([^ ]*\).*/\1/')" "$uid_before"
if grep -q 'adopted the existing Node' "$work/log.$run"; then ok "adoption logged"; else not_ok "adoption logged"; fi
check_eq "Ready transition survives restart" "$(cond Ready lastTransitionTime)" "$ready_t"
check_eq "MemoryPressure transition survives restart" "$(cond MemoryPressure lastTransitionTime)" "$mp_t"
check_eq "taint kept" "$(jn '[.spec.taints[] | select(.key=="xenlet.io/unikernel")] | length')" 1
check_eq "labels kept" "$(jn '.metadata.labels["xenlet.io/runtime"]')" xen
check_eq "podCIDR seen again" "$(grep '^podcidr ' "$out" | tail -1)" "podcidr $cidr"

# --- the Node deleted under us: registered again ----------------------------
kubectl delete node "$NODE" --wait=true >/dev/null
new_uid() { local u; u=$(jn .metadata.uid); [ -n "$u" ] && [ "$u" != null ] && [ "$u" != "$uid_before" ]; }
if wait_for 30 new_uid; then ok "deleted Node registered again"; else not_ok "deleted Node registered again"; fi
if kubectl wait --for=condition=Ready "node/$NODE" --timeout=30s >/dev/null; then ok "re-registered Node Ready"; else not_ok "re-registered Node Ready"; fi
owner_is_new() { [ "$(lease '.metadata.ownerReferences[0].uid')" = "$(jn .metadata.uid)" ]; }
if wait_for 25 owner_is_new; then ok "lease owner follows the new Node"; else not_ok "lease owner follows the new Node"; fi

drv_stop
if grep -q '^stopped$' "$out"; then ok "driver stops cleanly on SIGTERM"; else not_ok "driver stops cleanly on SIGTERM"; fi
# under SAN=1 builds: no sanitizer report in any run
if grep -lE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$work"/log.* >/dev/null; then
	not_ok "sanitizer reports: $(grep -lE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$work"/log.* | tr '\n' ' ')"
else
	ok "no sanitizer report in the driver logs"
fi
finish
