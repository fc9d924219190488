# shellcheck shell=bash
# test/cluster/netcomp.sh - the cluster network components a node runs beside
# its kubelet (docs/networking.md), real ones built from Go modules
# (build-netcomp.sh), started for the test cluster.  Sourced by lib.sh; uses
# its helpers and the cluster env.
#
#   cluster_netcomp_bin
#       build (or reuse) kube-proxy, coredns and flanneld; exports
#       XN_NETCOMP_BIN (their directory; set it to skip the build).
#   cluster_coredns_up [ADDR [PORT]]
#       CoreDNS with the kubernetes plugin for zone cluster.local (and the
#       reverse zones) as upstream's deployment configures it, on
#       ADDR:PORT (default 127.0.0.1 and a free port) in the caller's
#       namespace (ADDR must be one of its addresses: test-service.sh gives
#       guests a DNS server on port 53 of an address they route to), with a client certificate
#       (user system:coredns, RBAC of upstream's manifest); waits for its
#       ready plugin (the kubernetes plugin has synced).  Exports
#       XN_COREDNS_PORT and XN_COREDNS_ADDR (127.0.0.1).
#   cluster_coredns_down
#   cluster_kube_proxy_up NETNS NODE_IP [NODE_NAME]
#       kube-proxy in nftables mode inside the network namespace NETNS
#       (/run/netns/NETNS, the caller's), so the rules it programs are that
#       namespace's and never the host's.  It reaches the API server through
#       nsfwd.py (127.0.0.1:PORT in NETNS -> the host's loopback), so NETNS
#       needs no route out.  NODE_IP (an address the caller gave NETNS) is its
#       bind address, hence its node IP; NODE_NAME (default xenlet-netns) its
#       hostname override; give it a Node of that name (kube-proxy waits 30 s
#       for it otherwise).  Conntrack sysctls are left alone (a non-initial
#       namespace cannot set them).  Waits for its /livez.
#       Exports XN_KUBE_PROXY_NETNS.
#   cluster_kube_proxy_down
#   cluster_flanneld_up NETNS NODE_NAME IFACE
#       flanneld --kube-subnet-mgr for Node NODE_NAME (it must exist and have
#       spec.podCIDR) inside NETNS, VXLAN over IFACE there, writing its
#       subnet file to $XN_CLUSTER_DIR/flannel-NODE_NAME/subnet.env (exported
#       as XN_FLANNEL_SUBNET_FILE): what xenletd's flannelSubnetFile reads.
#       The cluster's net-conf.json comes from XN_CLUSTER_CIDR.
#   cluster_flanneld_down
#
# All of them are stopped by PID (cluster_down stops them too).

# lib.sh sets _cluster_here and the _cluster_* helpers before sourcing this.
# shellcheck disable=SC2154

cluster_netcomp_bin() {
    local dir
    if [[ -z "${XN_NETCOMP_BIN:-}" ]]; then
        dir=$("$_cluster_here/build-netcomp.sh" | tail -n1) ||
            { _cluster_err "test/cluster/build-netcomp.sh failed"; return 1; }
        XN_NETCOMP_BIN=$dir
    fi
    local b
    for b in kube-proxy coredns flanneld; do
        [[ -x "$XN_NETCOMP_BIN/$b" ]] || { _cluster_err "$XN_NETCOMP_BIN/$b: missing or not executable"; return 1; }
    done
    export XN_NETCOMP_BIN
}

# _cluster_client NAME USER [GROUP]: a kubeconfig $XN_CLUSTER_DIR/NAME.kubeconfig
# for USER with a client certificate of the cluster CA.
_cluster_client() {
    local name=$1 user=$2 group=${3:-} subj pki="$XN_CLUSTER_DIR/pki"
    subj="/CN=$user"
    [[ -n "$group" ]] && subj="/O=$group$subj"
    _cluster_sign "$name-client" "$subj" clientAuth || return 1
    _cluster_kubeconfig "$XN_CLUSTER_DIR/$name.kubeconfig" "${4:-$XN_APISERVER_URL}" "$user" \
        "$pki/$name-client.crt" "$pki/$name-client.key"
}

# _cluster_start_netns NAME NETNS BIN ARGS...: _cluster_start through
# `ip netns exec NETNS BIN ARGS`; ip execs BIN in the namespace, so the pid
# file names BIN, once the exec happened (_cluster_alive checks the exe).
_cluster_start_netns() {
    local name=$1 ns=$2 bin=$3 pid i
    shift 3
    _cluster_start "$name" /usr/sbin/ip netns exec "$ns" "$bin" "$@"
    pid=$(_cluster_pid "$name")
    echo "$pid $(readlink -f "$bin")" >"$XN_CLUSTER_DIR/pids/$name"
    for ((i = 0; i < 50; i++)); do
        _cluster_alive "$name" && return 0
        sleep 0.1
    done
    _cluster_err "$name did not start in netns $ns; log: $XN_CLUSTER_DIR/$name.log"
}

# --- CoreDNS -----------------------------------------------------------------

# upstream's coredns RBAC (kubernetes/cluster/addons/dns/coredns)
_cluster_coredns_rbac() {
    cat <<'EOF'
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: "system:coredns"}
rules:
- apiGroups: [""]
  resources: [endpoints, services, pods, namespaces]
  verbs: [list, watch]
- apiGroups: [discovery.k8s.io]
  resources: [endpointslices]
  verbs: [list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: "system:coredns"}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "system:coredns"}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: "system:coredns"}]
EOF
}

cluster_coredns_up() {
    local addr=${1:-127.0.0.1} port=${2:-} rport kc corefile t0=$SECONDS
    [[ -n "${XN_APISERVER_URL:-}" ]] || { _cluster_err "cluster_coredns_up: no cluster env (run cluster_up first)"; return 1; }
    _cluster_alive coredns && { _cluster_err "coredns already running"; return 1; }
    cluster_netcomp_bin || return 1
    [[ -n "$port" ]] || port=$(_cluster_free_port) || return 1
    rport=$(_cluster_free_port) || return 1
    _cluster_client coredns system:coredns || return 1
    kc="$XN_CLUSTER_DIR/coredns.kubeconfig"
    _cluster_coredns_rbac | kubectl --request-timeout=10s apply -f - >/dev/null ||
        { _cluster_err "kubectl apply of the coredns RBAC failed"; return 1; }
    corefile="$XN_CLUSTER_DIR/Corefile"
    # upstream's Corefile (kubeadm), on loopback ports of our own; no
    # forward: the tests resolve only cluster names
    cat >"$corefile" <<EOF
.:$port {
    bind $addr
    errors
    ready 127.0.0.1:$rport
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        kubeconfig $kc system:coredns@xenlet-test
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
        ttl 5
    }
    cache 5
}
EOF
    _cluster_start coredns "$XN_NETCOMP_BIN/coredns" -conf "$corefile" -dns.port "$port"
    _cluster_wait "coredns ready" coredns curl -fsS --max-time 5 "http://127.0.0.1:$rport/ready" ||
        { cluster_logs_tail; return 1; }
    XN_COREDNS_ADDR=$addr XN_COREDNS_PORT=$port
    export XN_COREDNS_ADDR XN_COREDNS_PORT
    _cluster_say "coredns up in $((SECONDS - t0))s at $XN_COREDNS_ADDR:$XN_COREDNS_PORT"
}

cluster_coredns_down() {
    [[ -n "${XN_CLUSTER_DIR:-}" ]] || return 0
    _cluster_stop coredns
}

# --- kube-proxy ----------------------------------------------------------------

cluster_kube_proxy_up() {
    local ns=${1:-} ip=${2:-} node=${3:-xenlet-netns} fport hport cfg py t0=$SECONDS
    [[ -n "$ns" && -n "$ip" ]] || { _cluster_err "usage: cluster_kube_proxy_up NETNS NODE_IP [NODE_NAME]"; return 1; }
    [[ -e "/run/netns/$ns" ]] || { _cluster_err "cluster_kube_proxy_up: no network namespace $ns"; return 1; }
    [[ -n "${XN_APISERVER_PORT:-}" ]] || { _cluster_err "cluster_kube_proxy_up: no cluster env (run cluster_up first)"; return 1; }
    _cluster_alive kube-proxy && { _cluster_err "kube-proxy already running"; return 1; }
    cluster_netcomp_bin || return 1
    py=$(readlink -f /usr/bin/python3)
    fport=$(_cluster_free_port) || return 1
    hport=$(_cluster_free_port) || return 1
    ip netns exec "$ns" ip link set lo up || return 1
    _cluster_start nsfwd "$py" "$_cluster_here/nsfwd.py" "$ns" "$fport" 127.0.0.1 "$XN_APISERVER_PORT"
    # kube-proxy authenticates as upstream's: user system:kube-proxy, which
    # the API server's bootstrap policy binds to system:node-proxier
    _cluster_client kube-proxy system:kube-proxy "" "https://127.0.0.1:$fport" || return 1
    cfg="$XN_CLUSTER_DIR/kube-proxy.yaml"
    cat >"$cfg" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: nftables
bindAddress: $ip
healthzBindAddress: 127.0.0.1:$hport
metricsBindAddress: 127.0.0.1:10249
hostnameOverride: $node
clusterCIDR: $XN_CLUSTER_CIDR
clientConnection:
  kubeconfig: $XN_CLUSTER_DIR/kube-proxy.kubeconfig
conntrack:
  maxPerCore: 0
  min: 0
  tcpEstablishedTimeout: 0s
  tcpCloseWaitTimeout: 0s
EOF
    _cluster_start_netns kube-proxy "$ns" "$XN_NETCOMP_BIN/kube-proxy" \
        --config="$cfg" --v="${XN_CLUSTER_V:-1}" || return 1
    XN_KUBE_PROXY_NETNS=$ns
    export XN_KUBE_PROXY_NETNS
    # /livez: the proxier has synced its rules (/healthz also wants the
    # Node to be schedulable, which a test namespace's need not be)
    _cluster_wait "kube-proxy /livez in $ns" kube-proxy \
        ip netns exec "$ns" curl -fsS --max-time 5 "http://127.0.0.1:$hport/livez" ||
        { cluster_logs_tail; return 1; }
    _cluster_say "kube-proxy up in $((SECONDS - t0))s in netns $ns (nftables mode)"
}

cluster_kube_proxy_down() {
    [[ -n "${XN_CLUSTER_DIR:-}" ]] || return 0
    _cluster_stop kube-proxy
    _cluster_stop nsfwd
}

# --- flannel -------------------------------------------------------------------

# the bootstrap policy has no role for flannel: upstream's manifest
_cluster_flannel_rbac() {
    cat <<'EOF'
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: flannel}
rules:
- apiGroups: [""]
  resources: [pods]
  verbs: [get]
- apiGroups: [""]
  resources: [nodes]
  verbs: [get, list, watch]
- apiGroups: [""]
  resources: [nodes/status]
  verbs: [patch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: flannel}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: flannel}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: "system:flannel"}]
EOF
}

cluster_flanneld_up() {
    local ns=${1:-} node=${2:-} iface=${3:-} fport dir py
    [[ -n "$ns" && -n "$node" && -n "$iface" ]] || { _cluster_err "usage: cluster_flanneld_up NETNS NODE_NAME IFACE"; return 1; }
    [[ -e "/run/netns/$ns" ]] || { _cluster_err "cluster_flanneld_up: no network namespace $ns"; return 1; }
    _cluster_alive flanneld && { _cluster_err "flanneld already running"; return 1; }
    cluster_netcomp_bin || return 1
    py=$(readlink -f /usr/bin/python3)
    _cluster_flannel_rbac | kubectl --request-timeout=10s apply -f - >/dev/null ||
        { _cluster_err "kubectl apply of the flannel RBAC failed"; return 1; }
    dir="$XN_CLUSTER_DIR/flannel-$node"
    mkdir -p "$dir"
    printf '{"Network": "%s", "EnableIPv4": true, "Backend": {"Type": "vxlan"}}\n' \
        "$XN_CLUSTER_CIDR" >"$dir/net-conf.json"
    if ! _cluster_alive nsfwd-flannel; then
        fport=$(_cluster_free_port) || return 1
        ip netns exec "$ns" ip link set lo up || return 1
        _cluster_start nsfwd-flannel "$py" "$_cluster_here/nsfwd.py" "$ns" "$fport" 127.0.0.1 "$XN_APISERVER_PORT"
        _cluster_client flannel system:flannel "" "https://127.0.0.1:$fport" || return 1
    fi
    # flanneld reads its pod and node names from the environment
    POD_NAME=flannel-$node POD_NAMESPACE=kube-system NODE_NAME=$node \
        _cluster_start_netns flanneld "$ns" "$XN_NETCOMP_BIN/flanneld" \
        --kube-subnet-mgr --kubeconfig-file="$XN_CLUSTER_DIR/flannel.kubeconfig" \
        --net-config-path="$dir/net-conf.json" --subnet-file="$dir/subnet.env" \
        --iface="$iface" --ip-masq=false || return 1
    XN_FLANNEL_SUBNET_FILE=$dir/subnet.env
    export XN_FLANNEL_SUBNET_FILE
    _cluster_wait "flanneld subnet file" flanneld test -s "$XN_FLANNEL_SUBNET_FILE" ||
        { cluster_logs_tail; return 1; }
}

cluster_flanneld_down() {
    [[ -n "${XN_CLUSTER_DIR:-}" ]] || return 0
    _cluster_stop flanneld
    _cluster_stop nsfwd-flannel
}
