#!/usr/bin/env bash
# selftest.sh - proves the test control plane is real: brings a cluster up,
# exercises authn/authz, admission, the controller-manager and the scheduler
# through kubectl, restarts the API server, tears down and checks that no
# process is left.  Ends with "selftest: N passed, N failed, N skipped".
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

pass=0 fail=0 skip=0
ok() { pass=$((pass + 1)); echo "ok $((pass + fail + skip)) - $*"; }
nok() { fail=$((fail + 1)); echo "not ok $((pass + fail + skip)) - $*"; }
skipped() { skip=$((skip + 1)); echo "ok $((pass + fail + skip)) - # skip $*"; }
summary() { echo "selftest: $pass passed, $fail failed, $skip skipped"; }

# check NAME CMD...: CMD's exit status decides; its output is shown on failure.
check() {
    local name=$1 out
    shift
    if out=$("$@" 2>&1); then ok "$name"; else nok "$name"; printf '%s\n' "$out" | sed 's/^/#   /'; fi
}

# expect_fail_with NAME PATTERN CMD...: CMD must fail with output matching PATTERN.
expect_fail_with() {
    local name=$1 pat=$2 out
    shift 2
    if out=$("$@" 2>&1); then
        nok "$name (command unexpectedly succeeded)"
    elif grep -qE "$pat" <<<"$out"; then
        ok "$name"
        grep -m1 -E "$pat" <<<"$out" | sed "s/^ */#   /"
    else
        nok "$name (failed, but not with /$pat/)"
        printf '%s\n' "$out" | sed 's/^/#   /'
    fi
}

# poll SECONDS CMD...: retry CMD until it succeeds or SECONDS pass.
poll() {
    local until=$((SECONDS + $1))
    shift
    until "$@" >/dev/null 2>&1; do
        ((SECONDS < until)) || return 1
        sleep 0.5
    done
}

for t in openssl curl kubectl; do
    if ! command -v "$t" >/dev/null; then
        skipped "cluster selftest: skipped: $t not installed"
        summary
        exit 0
    fi
done

cluster_install_trap
if ! cluster_up; then
    nok "cluster_up"
    summary
    exit 1
fi
ok "cluster_up: k8s $XN_K8S_VERSION at $XN_APISERVER_URL"
started=$(cluster_pids)
echo "# components: $(tr '\n' ' ' <<<"$started")"

kc() { kubectl --request-timeout=10s "$@"; }
na() { kubectl --kubeconfig="$XN_CLUSTER_DIR/node-a.kubeconfig" --request-timeout=10s "$@"; }

check "apiserver /readyz is ok" _cluster_ok_body _cluster_curl_admin "$XN_APISERVER_URL/readyz"
check "kubectl get namespaces lists default and kube-system" \
    bash -c 'out=$(kubectl get namespaces -o name) && grep -qx namespace/default <<<"$out" && grep -qx namespace/kube-system <<<"$out"'
check "kubectl get nodes answers (no nodes yet)" \
    bash -c '[[ -z "$(kubectl get nodes -o name)" ]]'
check "serviceaccount default/default exists" kc get serviceaccount default -n default

# The service-account key pair really signs tokens the API server accepts.
check "a service-account token authenticates as that service account" bash -c '
    tok=$(kubectl create token default -n default --duration=10m) &&
    out=$(curl -fsS --cacert "$XN_CA_CERT" -H "Authorization: Bearer $tok" \
        -X POST -H "Content-Type: application/json" \
        -d "{\"apiVersion\":\"authentication.k8s.io/v1\",\"kind\":\"SelfSubjectReview\"}" \
        "$XN_APISERVER_URL/apis/authentication.k8s.io/v1/selfsubjectreviews") &&
    grep -q "system:serviceaccount:default:default" <<<"$out"'

# --- node identities, Node authorizer, NodeRestriction ---
check "cluster_node_kubeconfig node-a" cluster_node_kubeconfig node-a "$XN_CLUSTER_DIR/node-a.kubeconfig"
check "node-a authenticates as system:node:node-a in group system:nodes" bash -c '
    out=$(kubectl --kubeconfig="$XN_CLUSTER_DIR/node-a.kubeconfig" auth whoami -o json) &&
    grep -q "\"username\": \"system:node:node-a\"" <<<"$out" && grep -q "\"system:nodes\"" <<<"$out"'

node_yaml() {
    printf 'apiVersion: v1\nkind: Node\nmetadata:\n  name: %s\n  labels:\n    kubernetes.io/hostname: %s\n' "$1" "$1"
}
check "node-a registers its own Node object" bash -c "$(declare -f node_yaml); node_yaml node-a | kubectl --kubeconfig=\"\$XN_CLUSTER_DIR/node-a.kubeconfig\" create -f -"
check "admin creates Node node-b" bash -c "$(declare -f node_yaml); node_yaml node-b | kubectl create -f -"
check "node-a may label its own Node" na label node node-a example.com/role=test
# kubectl label would GET node-b first and be stopped by the Node authorizer;
# a bare PATCH passes the authorizer and must be stopped by NodeRestriction.
node_a_curl() {
    curl -sS --max-time 10 --cacert "$XN_CA_CERT" \
        --cert "$XN_CLUSTER_DIR/pki/node-node-a.crt" --key "$XN_CLUSTER_DIR/pki/node-node-a.key" "$@"
}
# Succeeds only if the API server returned node-b patched.
patch_node_b() {
    local out
    out=$(node_a_curl -X PATCH -H "Content-Type: application/merge-patch+json" \
        --data '{"metadata":{"labels":{"example.com/evil":"yes"}}}' \
        "$XN_APISERVER_URL/api/v1/nodes/node-b")
    echo "$out"
    grep -q '"kind": *"Node"' <<<"$out"
}
expect_fail_with "NodeRestriction admission: node-a may not PATCH node-b" \
    'node \\?"node-a\\?" is not allowed to modify node \\?"node-b\\?"' patch_node_b
expect_fail_with "Node authorizer: node-a may not read node-b" \
    "node 'node-a' cannot read 'node-b'" na get node node-b
expect_fail_with "Node authorizer: node-a may not delete node-b" \
    'cannot delete resource "nodes"' na delete node node-b
expect_fail_with "NodeRestriction: node-a may not set a node-restriction.kubernetes.io/ label on itself" \
    'forbidden|not allowed' na label node node-a node-restriction.kubernetes.io/x=y
expect_fail_with "Node authorizer: node-a may not list secrets" \
    'forbidden' na get secrets -A
check "node-b is unchanged" bash -c '[[ -z "$(kubectl get node node-b -o jsonpath="{.metadata.labels.example\.com/evil}")" ]]'

# --- controller-manager ---
podcidr() { kubectl get node "$1" -o jsonpath='{.spec.podCIDR}'; }
if poll 60 bash -c "[[ -n \"\$(kubectl get node node-a -o jsonpath='{.spec.podCIDR}')\" ]]"; then
    cidr=$(podcidr node-a)
    if [[ "$cidr" =~ ^10\.244\.[0-9]+\.0/24$ ]]; then ok "controller-manager assigned podCIDR $cidr to node-a"
    else nok "podCIDR $cidr of node-a is not a /24 of 10.244.0.0/16"; fi
else
    nok "controller-manager assigned no podCIDR to node-a within 60s"
fi

# CSR signing: a kubelet-serving CSR made by node-a, approved by the admin, is
# signed by the controller-manager with the cluster CA.
csr_test() {
    local d="$XN_CLUSTER_DIR/csr" req
    mkdir -p "$d"
    openssl ecparam -name prime256v1 -genkey -noout -out "$d/k.pem" 2>/dev/null &&
        openssl req -new -key "$d/k.pem" -subj "/O=system:nodes/CN=system:node:node-a" \
            -addext "subjectAltName=DNS:node-a,IP:127.0.0.1" -out "$d/r.pem" 2>/dev/null || return 1
    req=$(base64 -w0 <"$d/r.pem")
    printf '%s\n' "apiVersion: certificates.k8s.io/v1" "kind: CertificateSigningRequest" \
        "metadata: {name: node-a-serving}" \
        "spec: {request: $req, signerName: kubernetes.io/kubelet-serving, usages: [digital signature, server auth]}" |
        na create -f - || return 1
    kubectl certificate approve node-a-serving || return 1
    poll 60 bash -c '[[ -n "$(kubectl get csr node-a-serving -o jsonpath="{.status.certificate}")" ]]' || {
        echo "CSR not signed within 60s"; kubectl get csr node-a-serving -o yaml; return 1; }
    kubectl get csr node-a-serving -o jsonpath='{.status.certificate}' | base64 -d >"$d/c.pem" &&
        openssl verify -CAfile "$XN_CA_CERT" "$d/c.pem"
}
check "controller-manager signs an approved kubelet-serving CSR with the cluster CA" csr_test

# --- scheduler ---
check "kube-scheduler /healthz is ok" \
    _cluster_ok_body curl -ksS --max-time 5 "https://127.0.0.1:$XN_SCHEDULER_PORT/healthz"
check "kube-controller-manager /healthz is ok" \
    _cluster_ok_body curl -ksS --max-time 5 "https://127.0.0.1:$XN_KCM_PORT/healthz"

# Make node-a schedulable the way a node agent would: its own status update.
now=$(date -u +%FT%TZ)
status_patch='{"status":{"capacity":{"cpu":"4","memory":"8Gi","pods":"110"},"allocatable":{"cpu":"4","memory":"8Gi","pods":"110"},"conditions":[{"type":"Ready","status":"True","reason":"SelfTest","message":"selftest","lastHeartbeatTime":"'$now'","lastTransitionTime":"'$now'"}]}}'
# PATCH straight to nodes/status as a kubelet does: kubectl would GET the
# subresource first, which the Node authorizer rightly does not allow.
node_status_patch() {
    curl -fsS --max-time 10 --cacert "$XN_CA_CERT" \
        --cert "$XN_CLUSTER_DIR/pki/node-node-a.crt" --key "$XN_CLUSTER_DIR/pki/node-node-a.key" \
        -X PATCH -H "Content-Type: application/merge-patch+json" --data "$status_patch" \
        "$XN_APISERVER_URL/api/v1/nodes/node-a/status" >/dev/null
}
check "node-a reports Ready with capacity via PATCH nodes/status" node_status_patch
check "admin cordons node-b so only node-a fits" kc cordon node-b
pod='apiVersion: v1
kind: Pod
metadata: {name: sched-probe, namespace: default}
spec:
  tolerations: [{operator: Exists}]
  containers: [{name: c, image: example.invalid/none:1, resources: {requests: {cpu: 100m}}}]'
check "admin creates an unbound pod" bash -c 'kubectl create -f - <<<"$1"' _ "$pod"
if poll 60 bash -c '[[ "$(kubectl get pod sched-probe -n default -o jsonpath="{.spec.nodeName}")" == node-a ]]'; then
    ok "kube-scheduler bound the pod to node-a"
else
    nok "kube-scheduler did not bind the pod to node-a within 60s"
    kubectl get pod sched-probe -n default -o yaml | sed 's/^/#   /'
fi
check "node-a may read the pod bound to it" na get pod sched-probe -n default

# --- apiserver stop/start ---
check "cluster_apiserver_stop" cluster_apiserver_stop
expect_fail_with "kubectl fails while the apiserver is down" \
    'refused|unable to connect|Unable to connect' kubectl --request-timeout=3s get ns
check "cluster_apiserver_start (same port)" cluster_apiserver_start
check "kubectl works after the restart and the data survived" kc get node node-a
all_four_live() { [[ $(cluster_pids | wc -l) -eq 4 ]] || { cluster_pids; return 1; }; }
check "etcd, controller-manager and scheduler survived the apiserver restart" all_four_live

# --- teardown ---
pids=$(cluster_pids | awk '{print $2}')
rundir=$XN_CLUSTER_DIR
trap - EXIT INT TERM
if cluster_down; then ok "cluster_down"; else nok "cluster_down"; fi
left=""
# A zombie waiting for init to reap it is not running: only a readable
# /proc/PID/exe counts.
for p in $pids; do readlink "/proc/$p/exe" >/dev/null 2>&1 && left+=" $p"; done
if [[ -z "$left" && -n "$pids" ]]; then ok "no component PID left ($(tr "\n" " " <<<"$pids"))"
else nok "PIDs left after down:${left:- (none recorded)}"; fi
if [[ ! -e "$rundir" ]]; then ok "run dir removed"; else nok "run dir $rundir still exists"; fi

summary
[[ $fail -eq 0 ]]
