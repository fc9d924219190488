# shellcheck shell=bash
# test/cluster/lib.sh - a real Kubernetes control plane on loopback for tests.
#
# Source it from bash:  . test/cluster/lib.sh
#
# Functions (names and the env-file variables below are a stable interface):
#   cluster_up                 build (or reuse) binaries, make certs, start etcd,
#                              kube-apiserver, kube-controller-manager and
#                              kube-scheduler, wait until ready; exports the env
#   cluster_down               stop exactly the PIDs this cluster started, wait
#                              for them, remove the run dir (XN_CLUSTER_KEEP=1 keeps it)
#   cluster_install_trap       trap EXIT/INT/TERM: print log tails if the shell
#                              fails, then cluster_down
#   cluster_node_kubeconfig NAME OUT [SERVER]
#                              kubeconfig for node NAME (CN=system:node:NAME,
#                              O=system:nodes), certs embedded; SERVER defaults
#                              to XN_APISERVER_URL
#   cluster_node_serving_cert NAME CRT KEY [IP...]
#                              kubelet serving cert for NAME signed by the
#                              cluster CA (which kube-apiserver trusts via
#                              --kubelet-certificate-authority)
#   cluster_apiserver_stop / cluster_apiserver_start
#                              stop/restart only kube-apiserver, same port
#   cluster_pids               print "NAME PID" of every live component
#   cluster_logs_tail [N]      print the last N lines of each component log
#   cluster_metrics_server_up IP / cluster_metrics_server_down
#                              metrics-server on the host behind APIService
#                              v1beta1.metrics.k8s.io (metrics-server.sh)
#   cluster_coredns_up, cluster_kube_proxy_up NETNS IP, cluster_flanneld_up
#   NETNS NODE IFACE (and _down)
#                              the network components (netcomp.sh)
#
# Env file ($XN_CLUSTER_DIR/env, sourceable by sh) exports:
#   XN_CLUSTER_DIR XN_CLUSTER_BIN XN_K8S_VERSION KUBECONFIG XN_ADMIN_KUBECONFIG
#   XN_APISERVER_URL XN_APISERVER_HOST XN_APISERVER_PORT XN_GUEST_APISERVER_URL
#   XN_ETCD_URL XN_ETCD_PORT XN_ETCD_PEER_PORT XN_KCM_PORT XN_SCHEDULER_PORT
#   XN_CA_CERT XN_CA_KEY XN_SERVICE_CIDR XN_CLUSTER_CIDR
#
# Inputs: XN_CLUSTER_DIR (run dir; default a fresh mktemp -d), XN_CLUSTER_BIN
# (use these binaries instead of test/cluster/build.sh), XN_CACHE (build cache),
# XN_CLUSTER_TIMEOUT (seconds to wait for readiness, default 120),
# XN_APISERVER_EXTRA_ARGS / XN_KCM_EXTRA_ARGS / XN_SCHEDULER_EXTRA_ARGS
# (whitespace-split extra flags), XN_CLUSTER_V (klog verbosity, default 1).

_cluster_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# 10.0.2.100 is where QEMU's guestfwd puts the API server for the Xen rig's
# Dom0; the serving cert must name it or Dom0 cannot verify the server.
XN_GUEST_APISERVER_URL=${XN_GUEST_APISERVER_URL:-https://10.0.2.100:6443}
XN_SERVICE_CIDR=${XN_SERVICE_CIDR:-10.96.0.0/12}
XN_CLUSTER_CIDR=${XN_CLUSTER_CIDR:-10.244.0.0/16}
_cluster_service_ip=10.96.0.1

_cluster_say() { printf 'cluster: %s\n' "$*" >&2; }
_cluster_err() { printf 'cluster: error: %s\n' "$*" >&2; return 1; }

# --- ports -----------------------------------------------------------------

_cluster_ports_taken=" "

# Prints a loopback TCP port that nothing uses now.  Picked below the kernel's
# ephemeral range so outgoing connections do not grab it before we bind.
_cluster_free_port() {
    local p i used
    used=$(ss -Htan 2>/dev/null | awk '{ n = split($4, a, ":"); print a[n] }' | sort -u)
    for ((i = 0; i < 200; i++)); do
        p=$((20000 + RANDOM % 12000))
        [[ "$_cluster_ports_taken" == *" $p "* ]] && continue
        grep -qx "$p" <<<"$used" && continue
        _cluster_ports_taken+="$p "
        echo "$p"
        return 0
    done
    _cluster_err "no free loopback port found in 20000-31999"
}

# --- certificates ----------------------------------------------------------

# _cluster_sign NAME SUBJ EKU [SAN] [CA]: key + cert NAME.{key,crt} in
# $XN_CLUSTER_DIR/pki signed by CA.{crt,key} there (default: ca, the cluster
# CA).  EC P-256 keys: fast to make and accepted everywhere.
_cluster_sign() {
    local name=$1 subj=$2 eku=$3 san=${4:-} ca=${5:-ca} pki="$XN_CLUSTER_DIR/pki"
    local ext="$pki/$name.ext"
    {
        echo "basicConstraints=critical,CA:FALSE"
        echo "keyUsage=critical,digitalSignature,keyEncipherment"
        echo "extendedKeyUsage=$eku"
        [[ -n "$san" ]] && echo "subjectAltName=$san"
    } >"$ext"
    openssl ecparam -name prime256v1 -genkey -noout -out "$pki/$name.key" 2>/dev/null &&
        openssl req -new -key "$pki/$name.key" -subj "$subj" -out "$pki/$name.csr" 2>/dev/null &&
        openssl x509 -req -in "$pki/$name.csr" -CA "$pki/$ca.crt" -CAkey "$pki/$ca.key" \
            -set_serial "0x$(openssl rand -hex 16)" -days 30 -sha256 \
            -extfile "$ext" -out "$pki/$name.crt" 2>/dev/null ||
        _cluster_err "openssl failed making certificate $name ($subj)"
}

# _cluster_make_ca NAME CN: self-signed CA NAME.{key,crt} in $XN_CLUSTER_DIR/pki.
_cluster_make_ca() {
    local pki="$XN_CLUSTER_DIR/pki"
    openssl ecparam -name prime256v1 -genkey -noout -out "$pki/$1.key" 2>/dev/null &&
        openssl req -x509 -new -key "$pki/$1.key" -subj "/CN=$2" -days 30 -sha256 \
            -addext "basicConstraints=critical,CA:TRUE" \
            -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" \
            -out "$pki/$1.crt" 2>/dev/null ||
        _cluster_err "openssl failed making the CA $1 ($2)"
}

_cluster_make_pki() {
    local pki="$XN_CLUSTER_DIR/pki"
    mkdir -p "$pki" && chmod 700 "$pki" || return 1
    _cluster_make_ca ca xenlet-test-ca || return 1
    # The aggregation layer: the API server proxies to extension API servers
    # (metrics-server) with this client certificate and the user in
    # X-Remote-* headers, which they trust only from the front-proxy CA.  A
    # CA of its own, as kubeadm does: no other client cert can assert a user.
    _cluster_make_ca front-proxy-ca xenlet-test-front-proxy-ca || return 1
    _cluster_sign front-proxy-client "/CN=front-proxy-client" clientAuth "" front-proxy-ca || return 1
    _cluster_sign apiserver "/CN=kube-apiserver" serverAuth \
        "IP:127.0.0.1,IP:10.0.2.100,IP:$_cluster_service_ip,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local" || return 1
    _cluster_sign admin "/O=system:masters/CN=xenlet-admin" clientAuth || return 1
    _cluster_sign apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" clientAuth || return 1
    _cluster_sign controller-manager "/CN=system:kube-controller-manager" clientAuth || return 1
    _cluster_sign scheduler "/CN=system:kube-scheduler" clientAuth || return 1
    # Service-account tokens: RSA, the signing algorithm every client expects.
    openssl genrsa -out "$pki/sa.key" 2048 2>/dev/null &&
        openssl rsa -in "$pki/sa.key" -pubout -out "$pki/sa.pub" 2>/dev/null ||
        { _cluster_err "openssl failed making the service-account key pair"; return 1; }
}

# _cluster_kubeconfig OUT SERVER USER CRT KEY: self-contained kubeconfig.
_cluster_kubeconfig() {
    local out=$1 server=$2 user=$3 crt=$4 key=$5
    cat >"$out" <<EOF || return 1
apiVersion: v1
kind: Config
clusters:
- name: xenlet-test
  cluster:
    server: $server
    certificate-authority-data: $(base64 -w0 <"$XN_CLUSTER_DIR/pki/ca.crt")
users:
- name: $user
  user:
    client-certificate-data: $(base64 -w0 <"$crt")
    client-key-data: $(base64 -w0 <"$key")
contexts:
- name: $user@xenlet-test
  context:
    cluster: xenlet-test
    user: $user
current-context: $user@xenlet-test
EOF
    chmod 600 "$out"
}

cluster_node_kubeconfig() {
    local name=${1:-} out=${2:-} server=${3:-${XN_APISERVER_URL:-}}
    [[ -n "$name" && -n "$out" ]] || { _cluster_err "usage: cluster_node_kubeconfig NAME OUT [SERVER]"; return 1; }
    [[ -f "${XN_CLUSTER_DIR:-}/pki/ca.key" ]] || { _cluster_err "cluster_node_kubeconfig: no cluster CA (run cluster_up first)"; return 1; }
    [[ -n "$server" ]] || { _cluster_err "cluster_node_kubeconfig: no server URL"; return 1; }
    _cluster_sign "node-$name" "/O=system:nodes/CN=system:node:$name" clientAuth || return 1
    _cluster_kubeconfig "$out" "$server" "system:node:$name" \
        "$XN_CLUSTER_DIR/pki/node-$name.crt" "$XN_CLUSTER_DIR/pki/node-$name.key"
}

cluster_node_serving_cert() {
    local name=${1:-} crt=${2:-} key=${3:-} san ip
    [[ -n "$name" && -n "$crt" && -n "$key" ]] || { _cluster_err "usage: cluster_node_serving_cert NAME CRT KEY [IP...]"; return 1; }
    shift 3
    san="DNS:$name"
    for ip in "$@"; do san+=",IP:$ip"; done
    _cluster_sign "serving-$name" "/O=system:nodes/CN=system:node:$name" serverAuth "$san" || return 1
    cp "$XN_CLUSTER_DIR/pki/serving-$name.crt" "$crt" && cp "$XN_CLUSTER_DIR/pki/serving-$name.key" "$key"
}

# --- processes -------------------------------------------------------------

# _cluster_start NAME BIN ARGS...: start in the background, log to NAME.log,
# record "PID BIN" in pids/NAME.  setsid: a Ctrl-C meant for the test shell
# reaches the components only through cluster_down, in order.
_cluster_start() {
    local name=$1 bin=$2
    shift 2
    mkdir -p "$XN_CLUSTER_DIR/pids"
    printf '%s\n' "--- start $(date -u +%FT%TZ): $bin $*" >>"$XN_CLUSTER_DIR/$name.log"
    # The subshell makes the component a grandchild, so setsid never runs as
    # a process-group leader (it would fork and $! would name the wrong
    # process) even when the caller has job control on; init reaps it.
    (
        set +m
        setsid "$bin" "$@" >>"$XN_CLUSTER_DIR/$name.log" 2>&1 </dev/null &
        # Canonical path: _cluster_alive compares it with /proc/PID/exe.
        echo "$! $(readlink -f "$bin")" >"$XN_CLUSTER_DIR/pids/$name"
    )
}

# True if pids/NAME names a live process that is still our binary (a recycled
# PID must never be signalled).
_cluster_alive() {
    local f="$XN_CLUSTER_DIR/pids/$1" pid bin exe
    [[ -f "$f" ]] || return 1
    read -r pid bin <"$f"
    [[ -n "$pid" ]] || return 1
    exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || return 1
    # A forced rebuild may have replaced the binary under a running cluster.
    [[ "${exe% (deleted)}" == "$bin" ]]
}

_cluster_pid() { local pid _b; read -r pid _b <"$XN_CLUSTER_DIR/pids/$1"; echo "$pid"; }

# _cluster_stop NAME: TERM, wait up to 20 s for it to exit, then KILL and wait.
# A zombie has no /proc/PID/exe, so _cluster_alive already counts it as gone.
_cluster_stop() {
    local name=$1 pid i
    _cluster_alive "$name" || { rm -f "$XN_CLUSTER_DIR/pids/$name"; return 0; }
    pid=$(_cluster_pid "$name")
    kill -TERM "$pid" 2>/dev/null
    for ((i = 0; i < 200; i++)); do
        _cluster_alive "$name" || break
        sleep 0.1
    done
    if _cluster_alive "$name"; then
        _cluster_say "$name (pid $pid) ignored SIGTERM for 20s, sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null
        for ((i = 0; i < 100; i++)); do
            _cluster_alive "$name" || break
            sleep 0.1
        done
        _cluster_alive "$name" && { _cluster_err "$name (pid $pid) survived SIGKILL"; return 1; }
    fi
    rm -f "$XN_CLUSTER_DIR/pids/$name"
}

_cluster_components=(etcd kube-apiserver kube-controller-manager kube-scheduler)
# Started on request after cluster_up (metrics-server.sh, netcomp.sh);
# stopped first.
_cluster_addons=(metrics-server coredns kube-proxy nsfwd flanneld nsfwd-flannel)

cluster_pids() {
    local c
    [[ -d "${XN_CLUSTER_DIR:-}/pids" ]] || return 0
    for c in "${_cluster_components[@]}" "${_cluster_addons[@]}"; do
        _cluster_alive "$c" && echo "$c $(_cluster_pid "$c")"
    done
    return 0
}

# A component that dies on a bad flag prints its error and then a dump of all
# its flags, so the plain tail alone would hide the cause: error lines first.
cluster_logs_tail() {
    local n=${1:-30} c log
    _cluster_tails_shown=1
    for c in "${_cluster_components[@]}" "${_cluster_addons[@]}"; do
        log="$XN_CLUSTER_DIR/$c.log"
        [[ -f "$log" ]] || continue
        echo "----- errors in $log (last 5) -----" >&2
        grep -E '^[EF][0-9]{4} |^Error|"level":"(error|fatal|panic)"' "$log" | tail -n 5 >&2
        echo "----- last $n lines of $log -----" >&2
        tail -n "$n" "$log" >&2
    done
}

# --- waiting ---------------------------------------------------------------

# _cluster_wait WHAT COMPONENT CMD...: retry CMD until it succeeds, the
# component dies, or XN_CLUSTER_TIMEOUT runs out.
_cluster_wait() {
    local what=$1 comp=$2 deadline
    shift 2
    deadline=$((SECONDS + ${XN_CLUSTER_TIMEOUT:-120}))
    until "$@" >/dev/null 2>&1; do
        if ! _cluster_alive "$comp"; then
            _cluster_err "$comp exited while waiting for $what; log: $XN_CLUSTER_DIR/$comp.log"
            return 1
        fi
        if ((SECONDS >= deadline)); then
            _cluster_err "timed out after ${XN_CLUSTER_TIMEOUT:-120}s waiting for $what"
            return 1
        fi
        sleep 0.3
    done
}

_cluster_curl_admin() {
    curl -fsS --max-time 5 --cacert "$XN_CA_CERT" \
        --cert "$XN_CLUSTER_DIR/pki/admin.crt" --key "$XN_CLUSTER_DIR/pki/admin.key" "$@"
}

_cluster_ok_body() { [[ "$("$@")" == ok ]]; }

# --- components ------------------------------------------------------------

_cluster_start_etcd() {
    _cluster_start etcd "$XN_CLUSTER_BIN/etcd" \
        --name=xenlet-test \
        --data-dir="$XN_CLUSTER_DIR/etcd-data" \
        --listen-client-urls="$XN_ETCD_URL" \
        --advertise-client-urls="$XN_ETCD_URL" \
        --listen-peer-urls="http://127.0.0.1:$XN_ETCD_PEER_PORT" \
        --initial-advertise-peer-urls="http://127.0.0.1:$XN_ETCD_PEER_PORT" \
        --initial-cluster="xenlet-test=http://127.0.0.1:$XN_ETCD_PEER_PORT" \
        --unsafe-no-fsync=true
}

cluster_apiserver_start() {
    local pki="$XN_CLUSTER_DIR/pki"
    [[ -n "${XN_APISERVER_PORT:-}" ]] || { _cluster_err "cluster_apiserver_start: no cluster env (run cluster_up or source \$XN_CLUSTER_DIR/env)"; return 1; }
    _cluster_alive kube-apiserver && { _cluster_err "kube-apiserver already running"; return 1; }
    # --shutdown-send-retry-after: on SIGTERM the server sends GOAWAY and gives
    # open watches 2 s; by default it waits up to 60 s for them, so every
    # cluster_apiserver_stop with a controller-manager attached took 20+ s.
    # --enable-aggregator-routing: nothing here serves ClusterIPs (no
    # kube-proxy), so aggregated APIs are reached at their EndpointSlice address.
    # shellcheck disable=SC2086 # extra args are meant to be split
    _cluster_start kube-apiserver "$XN_CLUSTER_BIN/kube-apiserver" \
        --bind-address=127.0.0.1 \
        --secure-port="$XN_APISERVER_PORT" \
        --advertise-address=10.0.2.100 \
        --etcd-servers="$XN_ETCD_URL" \
        --cert-dir="$XN_CLUSTER_DIR/apiserver-certs" \
        --tls-cert-file="$pki/apiserver.crt" \
        --tls-private-key-file="$pki/apiserver.key" \
        --client-ca-file="$pki/ca.crt" \
        --authorization-mode=Node,RBAC \
        --enable-admission-plugins=NodeRestriction \
        --enable-bootstrap-token-auth=true \
        --allow-privileged=true \
        --service-cluster-ip-range="$XN_SERVICE_CIDR" \
        --service-account-issuer=https://kubernetes.default.svc.cluster.local \
        --service-account-key-file="$pki/sa.pub" \
        --service-account-signing-key-file="$pki/sa.key" \
        --kubelet-client-certificate="$pki/apiserver-kubelet-client.crt" \
        --kubelet-client-key="$pki/apiserver-kubelet-client.key" \
        --kubelet-certificate-authority="$pki/ca.crt" \
        --kubelet-preferred-address-types=InternalIP,Hostname \
        --requestheader-client-ca-file="$pki/front-proxy-ca.crt" \
        --requestheader-allowed-names=front-proxy-client \
        --requestheader-username-headers=X-Remote-User \
        --requestheader-group-headers=X-Remote-Group \
        --requestheader-extra-headers-prefix=X-Remote-Extra- \
        --proxy-client-cert-file="$pki/front-proxy-client.crt" \
        --proxy-client-key-file="$pki/front-proxy-client.key" \
        --enable-aggregator-routing=true \
        --shutdown-send-retry-after=true \
        --profiling=false \
        --v="${XN_CLUSTER_V:-1}" \
        ${XN_APISERVER_EXTRA_ARGS:-}
    _cluster_wait "kube-apiserver /readyz" kube-apiserver \
        _cluster_ok_body _cluster_curl_admin "$XN_APISERVER_URL/readyz" || return 1
}

cluster_apiserver_stop() {
    [[ -n "${XN_CLUSTER_DIR:-}" ]] || { _cluster_err "cluster_apiserver_stop: XN_CLUSTER_DIR unset"; return 1; }
    _cluster_stop kube-apiserver
}

_cluster_start_kcm() {
    local pki="$XN_CLUSTER_DIR/pki" kc="$XN_CLUSTER_DIR/controller-manager.kubeconfig"
    _cluster_kubeconfig "$kc" "$XN_APISERVER_URL" system:kube-controller-manager \
        "$pki/controller-manager.crt" "$pki/controller-manager.key" || return 1
    # --leader-elect=false: a single instance, and with leader election a
    # controller-manager exits when the API server is away longer than the
    # lease, which cluster_apiserver_stop tests do on purpose.
    # shellcheck disable=SC2086
    _cluster_start kube-controller-manager "$XN_CLUSTER_BIN/kube-controller-manager" \
        --kubeconfig="$kc" \
        --authentication-kubeconfig="$kc" \
        --authorization-kubeconfig="$kc" \
        --bind-address=127.0.0.1 \
        --secure-port="$XN_KCM_PORT" \
        --cert-dir="$XN_CLUSTER_DIR/kcm-certs" \
        --leader-elect=false \
        --controllers='*' \
        --allocate-node-cidrs=true \
        --cluster-cidr="$XN_CLUSTER_CIDR" \
        --node-cidr-mask-size=24 \
        --service-cluster-ip-range="$XN_SERVICE_CIDR" \
        --use-service-account-credentials=true \
        --service-account-private-key-file="$pki/sa.key" \
        --root-ca-file="$pki/ca.crt" \
        --cluster-signing-cert-file="$pki/ca.crt" \
        --cluster-signing-key-file="$pki/ca.key" \
        --profiling=false \
        --v="${XN_CLUSTER_V:-1}" \
        ${XN_KCM_EXTRA_ARGS:-}
}

_cluster_start_scheduler() {
    local pki="$XN_CLUSTER_DIR/pki" kc="$XN_CLUSTER_DIR/scheduler.kubeconfig"
    _cluster_kubeconfig "$kc" "$XN_APISERVER_URL" system:kube-scheduler \
        "$pki/scheduler.crt" "$pki/scheduler.key" || return 1
    # shellcheck disable=SC2086
    _cluster_start kube-scheduler "$XN_CLUSTER_BIN/kube-scheduler" \
        --kubeconfig="$kc" \
        --authentication-kubeconfig="$kc" \
        --authorization-kubeconfig="$kc" \
        --bind-address=127.0.0.1 \
        --secure-port="$XN_SCHEDULER_PORT" \
        --leader-elect=false \
        --profiling=false \
        --v="${XN_CLUSTER_V:-1}" \
        ${XN_SCHEDULER_EXTRA_ARGS:-}
}

_cluster_write_env() {
    local v f="$XN_CLUSTER_DIR/env"
    : >"$f.tmp"
    for v in XN_CLUSTER_DIR XN_CLUSTER_BIN XN_K8S_VERSION KUBECONFIG XN_ADMIN_KUBECONFIG \
        XN_APISERVER_URL XN_APISERVER_HOST XN_APISERVER_PORT XN_GUEST_APISERVER_URL \
        XN_ETCD_URL XN_ETCD_PORT XN_ETCD_PEER_PORT XN_KCM_PORT XN_SCHEDULER_PORT \
        XN_CA_CERT XN_CA_KEY XN_SERVICE_CIDR XN_CLUSTER_CIDR; do
        printf "export %s='%s'\n" "$v" "${!v}" >>"$f.tmp"
    done
    mv "$f.tmp" "$f"
}

# --- up / down -------------------------------------------------------------

# cluster_up: start everything; a start that fails (most often a free port
# taken by someone else between the check and the bind) is torn down and
# tried again with new ports, up to three times in all.
cluster_up() {
    local try rc=1
    for try in 1 2 3; do
        _cluster_up_once && return 0
        rc=$?
        [[ $try -lt 3 ]] || break
        _cluster_say "start failed (try $try of 3): stopping what started, trying again"
        XN_CLUSTER_KEEP=0 cluster_down >/dev/null 2>&1
    done
    return $rc
}

_cluster_up_once() {
    local t0=$SECONDS
    command -v openssl >/dev/null || { _cluster_err "openssl not found"; return 1; }
    command -v curl >/dev/null || { _cluster_err "curl not found"; return 1; }
    command -v kubectl >/dev/null || { _cluster_err "kubectl not found"; return 1; }
    if [[ -z "${XN_CLUSTER_BIN:-}" ]]; then
        XN_CLUSTER_BIN=$("$_cluster_here/build.sh" | tail -n1) ||
            { _cluster_err "test/cluster/build.sh failed"; return 1; }
    fi
    local b
    for b in "${_cluster_components[@]}"; do
        [[ -x "$XN_CLUSTER_BIN/$b" ]] || { _cluster_err "$XN_CLUSTER_BIN/$b: missing or not executable"; return 1; }
    done
    if [[ -n "${XN_CLUSTER_DIR:-}" ]]; then
        mkdir -p "$XN_CLUSTER_DIR" || return 1
        [[ -z "$(ls -A "$XN_CLUSTER_DIR")" ]] || { _cluster_err "run dir $XN_CLUSTER_DIR is not empty"; return 1; }
    else
        XN_CLUSTER_DIR=$(mktemp -d "${TMPDIR:-/tmp}/xn-cluster.XXXXXX") || return 1
    fi
    XN_CLUSTER_DIR=$(cd "$XN_CLUSTER_DIR" && pwd)
    export XN_CLUSTER_DIR XN_CLUSTER_BIN

    XN_K8S_VERSION=$("$XN_CLUSTER_BIN/kube-apiserver" --version | awk '{print $2}')
    XN_APISERVER_HOST=127.0.0.1
    XN_APISERVER_PORT=$(_cluster_free_port) || return 1
    XN_APISERVER_URL="https://127.0.0.1:$XN_APISERVER_PORT"
    XN_ETCD_PORT=$(_cluster_free_port) || return 1
    XN_ETCD_PEER_PORT=$(_cluster_free_port) || return 1
    XN_ETCD_URL="http://127.0.0.1:$XN_ETCD_PORT"
    XN_KCM_PORT=$(_cluster_free_port) || return 1
    XN_SCHEDULER_PORT=$(_cluster_free_port) || return 1
    XN_CA_CERT="$XN_CLUSTER_DIR/pki/ca.crt"
    XN_CA_KEY="$XN_CLUSTER_DIR/pki/ca.key"
    XN_ADMIN_KUBECONFIG="$XN_CLUSTER_DIR/admin.kubeconfig"
    KUBECONFIG=$XN_ADMIN_KUBECONFIG
    export XN_K8S_VERSION XN_APISERVER_HOST XN_APISERVER_PORT XN_APISERVER_URL XN_ETCD_PORT \
        XN_ETCD_PEER_PORT XN_ETCD_URL XN_KCM_PORT XN_SCHEDULER_PORT XN_CA_CERT XN_CA_KEY \
        XN_ADMIN_KUBECONFIG KUBECONFIG XN_GUEST_APISERVER_URL XN_SERVICE_CIDR XN_CLUSTER_CIDR

    _cluster_make_pki || return 1
    _cluster_kubeconfig "$XN_ADMIN_KUBECONFIG" "$XN_APISERVER_URL" xenlet-admin \
        "$XN_CLUSTER_DIR/pki/admin.crt" "$XN_CLUSTER_DIR/pki/admin.key" || return 1
    _cluster_write_env || return 1

    _cluster_start_etcd
    _cluster_wait "etcd /health" etcd \
        _cluster_json_health "$XN_ETCD_URL/health" || { cluster_logs_tail; return 1; }
    cluster_apiserver_start || { cluster_logs_tail; return 1; }
    _cluster_start_kcm || return 1
    _cluster_start_scheduler || return 1
    _cluster_wait "kube-controller-manager /healthz" kube-controller-manager \
        _cluster_ok_body curl -ksS --max-time 5 "https://127.0.0.1:$XN_KCM_PORT/healthz" ||
        { cluster_logs_tail; return 1; }
    _cluster_wait "kube-scheduler /healthz" kube-scheduler \
        _cluster_ok_body curl -ksS --max-time 5 "https://127.0.0.1:$XN_SCHEDULER_PORT/healthz" ||
        { cluster_logs_tail; return 1; }
    # Pods can only be created once the service-account controller has made
    # the default service account; tests should not have to race it.
    _cluster_wait "namespace default and serviceaccount default/default" kube-controller-manager \
        kubectl --request-timeout=5s get serviceaccount default -n default ||
        { cluster_logs_tail; return 1; }
    _cluster_say "up in $((SECONDS - t0))s: k8s $XN_K8S_VERSION at $XN_APISERVER_URL, env $XN_CLUSTER_DIR/env"
}

_cluster_json_health() { curl -fsS --max-time 5 "$1" | grep -q '"health":"true"'; }

cluster_down() {
    local c i
    [[ -n "${XN_CLUSTER_DIR:-}" && -d "$XN_CLUSTER_DIR" ]] || return 0
    # Clients first, etcd last, so nobody logs storms about a vanished store.
    for c in "${_cluster_addons[@]}"; do _cluster_stop "$c"; done
    for ((i = ${#_cluster_components[@]} - 1; i >= 0; i--)); do
        _cluster_stop "${_cluster_components[i]}"
    done
    if [[ -n "$(cluster_pids)" ]]; then
        _cluster_err "still running after down: $(cluster_pids | tr '\n' ' ')"
        return 1
    fi
    if [[ "${XN_CLUSTER_KEEP:-0}" == 1 ]]; then
        _cluster_say "kept run dir $XN_CLUSTER_DIR"
    else
        rm -rf "$XN_CLUSTER_DIR"
    fi
}

_cluster_on_exit() {
    local rc=$1
    trap - EXIT INT TERM
    if [[ "$rc" != 0 && -z "${_cluster_tails_shown:-}" && -n "${XN_CLUSTER_DIR:-}" && -d "$XN_CLUSTER_DIR" ]]; then
        _cluster_say "exit status $rc: component logs follow"
        cluster_logs_tail 20
    fi
    cluster_down
    return "$rc"
}

cluster_install_trap() {
    trap '_cluster_on_exit $?' EXIT
    trap '_cluster_on_exit 130; exit 130' INT
    trap '_cluster_on_exit 143; exit 143' TERM
}

# shellcheck source=metrics-server.sh
. "$_cluster_here/metrics-server.sh"
# shellcheck source=netcomp.sh
. "$_cluster_here/netcomp.sh"
