# shellcheck shell=bash
# test/cluster/metrics-server.sh - a real metrics-server for the test cluster,
# run on the host (not in a pod: no node of this cluster runs containers), so
# that `kubectl top` works against kubelets such as xenletd.  Sourced by
# lib.sh; uses its helpers and the cluster env.
#
#   cluster_metrics_server_up IP
#       build (or reuse) metrics-server (build-metrics-server.sh), give it a
#       client certificate (user system:metrics-server, RBAC as upstream's
#       manifest: nodes/metrics, nodes and pods, auth-delegator and the
#       extension-apiserver-authentication reader) and a serving certificate
#       from the cluster CA, register APIService v1beta1.metrics.k8s.io ->
#       Service kube-system/metrics-server (no selector) -> EndpointSlice
#       IP:PORT, start it listening on IP:PORT and wait until the API server
#       reports the APIService Available.  IP must be an address of this host
#       that is not loopback (EndpointSlices refuse 127.0.0.0/8).
#       Exports XN_METRICS_SERVER_URL and XN_METRICS_SERVER_BIN.
#   cluster_metrics_server_down
#       stop it by PID and remove the APIService (a registered but dead
#       aggregated API makes every discovery through kubectl complain).
#       cluster_down also stops it.
#
# Inputs: XN_METRICS_SERVER_BIN (use this binary instead of building),
# XN_METRICS_RESOLUTION (scrape interval, default 10s, metrics-server's
# minimum), XN_METRICS_SERVER_EXTRA_ARGS (whitespace-split extra flags).
#
# metrics-server scrapes each node's kubelet at its InternalIP and the port
# in status.daemonEndpoints, verifying the serving certificate with the
# cluster CA (what cluster_node_serving_cert signs), and authenticates there
# with its client certificate: the kubelet must allow system:metrics-server
# get on nodes/metrics (a SubjectAccessReview the RBAC below answers).

# lib.sh sets _cluster_here and the _cluster_* helpers before sourcing this.
# shellcheck disable=SC2154

_cluster_ms_rbac() {
    cat <<'EOF'
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: "system:metrics-server"}
rules:
- apiGroups: [""]
  resources: [nodes/metrics]
  verbs: [get]
- apiGroups: [""]
  resources: [pods, nodes]
  verbs: [get, list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: "system:metrics-server"}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "system:metrics-server"}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: "system:metrics-server"}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: "metrics-server:system:auth-delegator"}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "system:auth-delegator"}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: "system:metrics-server"}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: metrics-server-auth-reader, namespace: kube-system}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: extension-apiserver-authentication-reader}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: "system:metrics-server"}]
EOF
}

# _cluster_ms_route IP PORT: Service without selector, its EndpointSlice by
# hand (the endpointslice controller leaves slices it does not manage alone),
# and the APIService.  The API server names the service in TLS as
# metrics-server.kube-system.svc and checks it against caBundle.
_cluster_ms_route() {
    cat <<EOF
apiVersion: v1
kind: Service
metadata: {name: metrics-server, namespace: kube-system}
spec:
  ports: [{name: https, port: 443, protocol: TCP, targetPort: $2}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: metrics-server-host
  namespace: kube-system
  labels:
    kubernetes.io/service-name: metrics-server
    endpointslice.kubernetes.io/managed-by: xenlet-test-cluster
addressType: IPv4
ports: [{name: https, port: $2, protocol: TCP}]
endpoints: [{addresses: ["$1"], conditions: {ready: true}}]
---
apiVersion: apiregistration.k8s.io/v1
kind: APIService
metadata: {name: v1beta1.metrics.k8s.io}
spec:
  group: metrics.k8s.io
  version: v1beta1
  groupPriorityMinimum: 100
  versionPriority: 100
  service: {name: metrics-server, namespace: kube-system, port: 443}
  caBundle: $(base64 -w0 <"$XN_CLUSTER_DIR/pki/ca.crt")
EOF
}

_cluster_ms_available() {
    [[ "$(kubectl --request-timeout=5s get apiservice v1beta1.metrics.k8s.io \
        -o jsonpath='{.status.conditions[?(@.type=="Available")].status}')" == True ]]
}

cluster_metrics_server_up() {
    local ip=${1:-} pki="${XN_CLUSTER_DIR:-}/pki" kc port dir t0=$SECONDS
    [[ -n "$ip" ]] || { _cluster_err "usage: cluster_metrics_server_up IP"; return 1; }
    [[ "$ip" != 127.* ]] || { _cluster_err "cluster_metrics_server_up: $ip is loopback; EndpointSlices refuse it, give a global address of this host"; return 1; }
    [[ -n "${XN_APISERVER_URL:-}" && -f "$pki/front-proxy-client.crt" ]] ||
        { _cluster_err "cluster_metrics_server_up: no cluster env with a front-proxy CA (run cluster_up first)"; return 1; }
    _cluster_alive metrics-server && { _cluster_err "metrics-server already running"; return 1; }
    if [[ -z "${XN_METRICS_SERVER_BIN:-}" ]]; then
        dir=$("$_cluster_here/build-metrics-server.sh" | tail -n1) ||
            { _cluster_err "test/cluster/build-metrics-server.sh failed"; return 1; }
        XN_METRICS_SERVER_BIN=$dir/metrics-server
    fi
    [[ -x "$XN_METRICS_SERVER_BIN" ]] || { _cluster_err "$XN_METRICS_SERVER_BIN: missing or not executable"; return 1; }
    export XN_METRICS_SERVER_BIN

    port=$(_cluster_free_port) || return 1
    XN_METRICS_SERVER_URL="https://$ip:$port"
    export XN_METRICS_SERVER_URL
    _cluster_sign metrics-server-serving "/CN=metrics-server" serverAuth \
        "DNS:metrics-server.kube-system.svc,DNS:metrics-server.kube-system.svc.cluster.local,IP:$ip" || return 1
    _cluster_sign metrics-server-client "/CN=system:metrics-server" clientAuth || return 1
    kc="$XN_CLUSTER_DIR/metrics-server.kubeconfig"
    _cluster_kubeconfig "$kc" "$XN_APISERVER_URL" system:metrics-server \
        "$pki/metrics-server-client.crt" "$pki/metrics-server-client.key" || return 1
    { _cluster_ms_rbac; echo ---; _cluster_ms_route "$ip" "$port"; } |
        kubectl --request-timeout=10s apply -f - >/dev/null ||
        { _cluster_err "kubectl apply of metrics-server RBAC, Service, EndpointSlice, APIService failed"; return 1; }

    # The kubelet client uses the kubeconfig's identity; with
    # --kubelet-use-node-status-port a kubelet on any port is found.
    # --kubelet-request-timeout must stay below 90% of the resolution.
    # shellcheck disable=SC2086
    _cluster_start metrics-server "$XN_METRICS_SERVER_BIN" \
        --kubeconfig="$kc" \
        --authentication-kubeconfig="$kc" \
        --authorization-kubeconfig="$kc" \
        --bind-address="$ip" \
        --secure-port="$port" \
        --tls-cert-file="$pki/metrics-server-serving.crt" \
        --tls-private-key-file="$pki/metrics-server-serving.key" \
        --kubelet-certificate-authority="$pki/ca.crt" \
        --kubelet-preferred-address-types=InternalIP \
        --kubelet-use-node-status-port \
        --kubelet-request-timeout=5s \
        --metric-resolution="${XN_METRICS_RESOLUTION:-10s}" \
        --profiling=false \
        --v="${XN_CLUSTER_V:-1}" \
        ${XN_METRICS_SERVER_EXTRA_ARGS:-}
    _cluster_wait "metrics-server /livez" metrics-server \
        _cluster_ok_body curl -sS --max-time 5 --cacert "$pki/ca.crt" "$XN_METRICS_SERVER_URL/livez" ||
        { cluster_logs_tail; return 1; }
    _cluster_wait "APIService v1beta1.metrics.k8s.io Available" metrics-server \
        _cluster_ms_available ||
        { kubectl get apiservice v1beta1.metrics.k8s.io -o yaml >&2; cluster_logs_tail; return 1; }
    _cluster_say "metrics-server up in $((SECONDS - t0))s at $XN_METRICS_SERVER_URL ($("$XN_METRICS_SERVER_BIN" --version 2>&1))"
}

cluster_metrics_server_down() {
    [[ -n "${XN_CLUSTER_DIR:-}" ]] || { _cluster_err "cluster_metrics_server_down: XN_CLUSTER_DIR unset"; return 1; }
    _cluster_stop metrics-server || return 1
    kubectl --request-timeout=10s delete apiservice v1beta1.metrics.k8s.io --ignore-not-found >/dev/null
}
