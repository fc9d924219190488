#!/bin/bash
# test-kubelet-csr.sh BUILD_DIR - serverTLSBootstrap against a real control
# plane (test/cluster): xenletd asks for its kubelet serving certificate with
# a kubelet-serving CSR, serves a self-signed one until an admin approves,
# then the cluster-CA-signed one without a restart; a restart reuses the
# stored certificate; a denied CSR leaves a warning and a serving API.
# Prints "kubelet-csr: N passed, N failed, N skipped".
set -u
B=$(cd "${1:-build}" && pwd)
SRC=$(cd "$(dirname "$0")/../.." && pwd)
NODE=xen-csr-1
TAP_DETAIL_LINES=30

# shellcheck source=test/lib/tap.sh
. "$SRC/test/lib/tap.sh"
# shellcheck source=test/integration/lib-xenletd.sh
. "$SRC/test/integration/lib-xenletd.sh"

for tool in kubectl curl openssl; do
	if ! command -v "$tool" >/dev/null; then
		skip "serverTLSBootstrap checks" "$tool not installed"
		summary kubelet-csr
		exit
	fi
done
xn_it_cluster_up test-kubelet-csr || { summary kubelet-csr; exit; }
# kubectl logs reaches the node at its InternalIP, which the CSR names
IP=127.0.0.1
PORT=$(_cluster_free_port)
PEM=$TMP/root/pki/kubelet-server-current.pem

start() {
	xn_it_start_xenletd -vv --node-ip "$IP" --address "$IP" --port "$PORT" \
		--client-ca-file "$XN_CA_CERT" --server-tls-bootstrap
	wait_for 30 served_cert
}

# The certificate the kubelet API presents now (PEM), from a new connection.
served_cert() {
	openssl s_client -connect "$IP:$PORT" </dev/null 2>/dev/null | openssl x509 2>/dev/null
}
# 0 when the presented certificate verifies against the cluster CA
served_by_ca() {
	openssl s_client -connect "$IP:$PORT" -CAfile "$XN_CA_CERT" -verify_return_error \
		</dev/null >/dev/null 2>&1
}
# The names of the node's kubelet-serving CSRs
node_csrs() {
	kubectl get csr -o jsonpath='{range .items[*]}{.spec.username} {.spec.signerName} {.metadata.name}{"\n"}{end}' |
		awk -v u="system:node:$NODE" '$1 == u && $2 == "kubernetes.io/kubelet-serving" { print $3 }'
}
one_csr() { [ "$(node_csrs | wc -l)" -eq "${1:-1}" ]; }

start
check "the kubelet API serves before any certificate is issued" $? "$(tail -n 5 "$TMP/xenletd.log")"
wait_for 30 one_csr
check "a kubelet-serving CSR by system:node:$NODE appears" $? "$(kubectl get csr -o wide 2>&1)"
CSR=$(node_csrs | head -n 1)
out=$(kubectl get csr "$CSR" -o jsonpath='{.spec.signerName} {.spec.username} {.spec.usages}' 2>&1)
check_eq "CSR signer, requester and usages" "$out" \
	"kubernetes.io/kubelet-serving system:node:$NODE [\"digital signature\",\"server auth\"]"
subj=$(kubectl get csr "$CSR" -o jsonpath='{.spec.request}' | base64 -d |
	openssl req -noout -subject -nameopt compat 2>&1)
check_eq "CSR subject" "$subj" "subject=/O=system:nodes/CN=system:node:$NODE"

ca_subj=$(openssl x509 -in "$XN_CA_CERT" -noout -subject | sed 's/^subject=//')
issuer=$(served_cert | openssl x509 -noout -issuer 2>&1 | sed 's/^issuer=//')
[ -n "$issuer" ] && [ "$issuer" != "$ca_subj" ] && ! served_by_ca
check "before approval the API presents a self-signed certificate" $? "issuer '$issuer', CA '$ca_subj'"

xn_it_pod ticker ticker.sim Always
wait_for 40 kubectl wait --for=condition=Ready pod/ticker --timeout=1s
check "the ticker pod runs" $? "$(kubectl get pod ticker -o wide 2>&1)"
out=$(kubectl logs --tail=1 ticker 2>&1)
check "before approval kubectl logs fails (the API server verifies the kubelet)" \
	"$(echo "$out" | grep -q 'x509\|certificate'; echo $?)" "$out"

kubectl certificate approve "$CSR" >/dev/null
wait_for 20 served_by_ca
check "after approval the API presents a certificate of the cluster CA (no restart)" $? \
	"$(served_cert | openssl x509 -noout -subject -issuer 2>&1; tail -n 5 "$TMP/xenletd.log")"
out=$(served_cert | openssl x509 -noout -ext subjectAltName 2>&1 | tail -n 1 | tr -d ' ')
check_eq "the issued certificate names the node" "$out" "DNS:$NODE,IPAddress:$IP"
out=$(kubectl logs --tail=1 ticker 2>&1)
check "kubectl logs works without --insecure-skip-tls-verify-backend" \
	"$(echo "$out" | grep -qxE 'tick|line-a|line-b|part-1 part-2'; echo $?)" "$out"
mode=$(stat -c %a "$PEM" 2>&1)
check_eq "the certificate is stored in rootDir/pki, mode 0600" "$mode" 600
openssl x509 -in "$PEM" -noout 2>/dev/null && openssl pkey -in "$PEM" -noout 2>/dev/null
check "the stored file holds the certificate and its key" $?

# ---- restart: the stored certificate is reused ----
xn_it_stop_xenletd
start
served_by_ca
check "after a restart the stored certificate is served at once" $? "$(tail -n 5 "$TMP/xenletd.log")"
sleep 3 # a new CSR would be posted right at start
one_csr 1
check "no new CSR after the restart" $? "$(node_csrs)"
grep -q "serving certificate: using $PEM" "$TMP/xenletd.log"
check "the log says the stored certificate is used" $?

# ---- a denied CSR ----
xn_it_stop_xenletd
rm -rf "$TMP/root/pki"
start
wait_for 30 one_csr 2
check "without the stored certificate a new CSR appears" $? "$(node_csrs)"
CSR2=$(node_csrs | grep -vx "$CSR" | head -n 1)
kubectl certificate deny "$CSR2" >/dev/null
wait_for 20 grep -q "CSR $CSR2 was denied" "$TMP/xenletd.log"
check "a denied CSR gives a warning in the log" $? "$(tail -n 5 "$TMP/xenletd.log")"
code=$(curl -sk -o /dev/null -w '%{http_code}' "https://$IP:$PORT/healthz")
check_eq "after the denial the API keeps serving (anonymous: 401)" "$code" 401
served_by_ca
check "after the denial the self-signed certificate stays" "$([ $? -ne 0 ]; echo $?)"
kill -0 "$DPID" 2>/dev/null
check "xenletd still runs" $?

summary kubelet-csr
