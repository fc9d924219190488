#!/bin/bash
# test-kubelet-stream.sh BUILD_DIR - kubectl exec and kubectl attach on
# unikernel pods of xenletd (hv_sim) behind a real API server (test/cluster):
# kubectl speaks WebSocket to the API server, which speaks SPDY/3.1 to our
# kubelet API (daemon/kubelet_stream.c).
# Prints "kubelet-stream: N passed, N failed, N skipped".
set -u
B=$(cd "${1:-build}" && pwd)
SRC=$(cd "$(dirname "$0")/../.." && pwd)
NODE=xen-stream-1
TAP_DETAIL_LINES=30

# shellcheck source=test/lib/tap.sh
. "$SRC/test/lib/tap.sh"
# shellcheck source=test/integration/lib-xenletd.sh
. "$SRC/test/integration/lib-xenletd.sh"

if ! command -v kubectl >/dev/null || ! command -v curl >/dev/null; then
	skip "kubelet stream checks" "kubectl or curl not installed"
	summary kubelet-stream
	exit
fi
# The API server refuses to dial loopback node addresses for exec and attach
# (as for its node proxy), so the node advertises a global address of this
# host; without one the test is skipped.
IP=$(xn_it_global_ip)
if [ -z "$IP" ]; then
	skip "kubelet stream checks" "this host has no global IPv4 address for the node"
	summary kubelet-stream
	exit
fi
xn_it_cluster_up test-kubelet-stream || { summary kubelet-stream; exit; }
xn_it_start_kubelet_api "$IP"

xn_it_pod ticker ticker.sim Always
wait_for 40 kubectl wait --for=condition=Ready pod/ticker --timeout=1s
check "the ticker pod runs" $? "$(kubectl get pod ticker -o wide 2>&1)"
sleep 1 # a few ticks in the console

sim_state() { # the sim's own state of the ticker's domain (its domain table on disk)
	python3 -c "
import json,sys
t=json.load(open('$TMP/root/sim/domains.json'))
print([d['state'] for d in t['domains'] if 'ticker' in d['name']][0])
" 2>&1
}

# ---- exec: control verbs ----
out=$(kubectl exec ticker -- console-dump 2>&1)
rc=$?
check "exec console-dump: exit 0 and the console" "$([ $rc -eq 0 ] && echo "$out" | grep -q 'stdout F line-a$' && echo "$out" | grep -q 'stdout F tick$'; echo $?)" "rc=$rc $out"
out=$(kubectl exec ticker -- pause 2>&1)
rc=$?
check "exec pause: exit 0, 'pause: done'" "$([ $rc -eq 0 ] && [ "$out" = "pause: done" ]; echo $?)" "rc=$rc $out"
st=$(sim_state)
check "the pod's domain is paused (the sim's domain table)" "$([ "$st" = paused ]; echo $?)" "$st"
n1=$(kubectl logs ticker 2>/dev/null | grep -c '^tick$')
sleep 1
n2=$(kubectl logs ticker 2>/dev/null | grep -c '^tick$')
check "a paused guest prints nothing" "$([ "$n1" -eq "$n2" ]; echo $?)" "ticks $n1 then $n2"
out=$(kubectl exec ticker -- unpause 2>&1)
check "exec unpause" "$([ "$out" = "unpause: done" ]; echo $?)" "$out"
st=$(sim_state)
check "the pod's domain runs again" "$([ "$st" = running ]; echo $?)" "$st"
out=$(kubectl exec ticker -- bogus 2>&1)
rc=$?
check "exec bogus: exit 127, the verbs listed" "$([ $rc -eq 127 ] && echo "$out" | grep -q 'pause, unpause, shutdown or console-dump'; echo $?)" "rc=$rc $out"
out=$(kubectl exec ticker -- pause now 2>&1)
rc=$?
check "exec with arguments: refused" "$([ $rc -ne 0 ] && echo "$out" | grep -q 'and arguments'; echo $?)" "rc=$rc $out"
out=$(kubectl exec ticker -c nope -- pause 2>&1)
check "exec in an unknown container: refused" "$([ $? -ne 0 ]; echo $?)" "$out"

# ---- attach ----
# the log must be longer than what 3 s of attach can show (5 lines a second)
wait_for 20 bash -c "[ \$(kubectl logs ticker | wc -l) -ge 40 ]"
before=$(kubectl logs ticker 2>/dev/null | wc -l)
out=$(timeout 3 kubectl attach ticker 2>&1)
rc=$?
nt=$(echo "$out" | grep -c '^tick$')
nl=$(echo "$out" | wc -l)
check "attach: new console lines as they come, until interrupted" "$([ $rc -eq 124 ] && [ "$nt" -ge 5 ]; echo $?)" "rc=$rc ticks=$nt $(echo "$out" | head -5)"
check "attach: only new lines, not the log so far" "$([ "$nl" -lt 30 ] && [ "$nl" -lt "$before" ]; echo $?)" "$nl lines from attach, $before in the log before"
check "attach: the CRI prefix is stripped" "$(echo "$out" | grep -q 'stdout F'; [ $? -ne 0 ]; echo $?)" "$out"
out=$(timeout 3 kubectl attach -i ticker </dev/null 2>&1)
rc=$?
check "attach -i with stdin: still streams" "$([ $rc -eq 124 ] && echo "$out" | grep -q '^tick$'; echo $?)" "rc=$rc $out"

# ---- a session that ends when the instance does ----
xn_it_pod crasher shortlived.sim Never
wait_for 20 bash -c "kubectl get pod crasher -o jsonpath='{.status.phase}' | grep -q Running"
out=$(timeout 20 kubectl attach crasher 2>&1)
rc=$?
check "attach ends when the instance ends" "$([ $rc -ne 124 ]; echo $?)" "rc=$rc $out"

# ---- straight to the port: the upgrade's errors ----
pki=$XN_CLUSTER_DIR/pki
url="https://$IP:$PORT"
cc=(--cacert "$XN_CA_CERT" --cert "$pki/apiserver-kubelet-client.crt" --key "$pki/apiserver-kubelet-client.key")
out=$(curl -s -w ' %{http_code}' "${cc[@]}" -X POST -H 'Connection: Upgrade' -H 'Upgrade: SPDY/3.1' \
	-H 'X-Stream-Protocol-Version: v2.channel.k8s.io' "$url/exec/default/ticker/main?command=pause&output=1" | tr -d '\n')
check "an old protocol version only: 403 naming v4" "$(echo "$out" | grep -q 'server supports \[v4.channel.k8s.io\].* 403$'; echo $?)" "$out"
out=$(curl -s -w ' %{http_code}' "${cc[@]}" "$url/attach/default/ticker/main?output=1" | tr -d '\n')
check "attach without an upgrade: 400" "$(echo "$out" | grep -q 'SPDY/3.1.* 400$'; echo $?)" "$out"
code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$XN_CA_CERT" -X POST -H 'Connection: Upgrade' -H 'Upgrade: SPDY/3.1' \
	-H 'X-Stream-Protocol-Version: v4.channel.k8s.io' "$url/exec/default/ticker/main?command=pause&output=1")
check "an upgrade without credentials: 401" "$([ "$code" = 401 ]; echo $?)" "$code"
out=$(curl -s -w ' %{http_code}' "${cc[@]}" -X POST -H 'Connection: Upgrade' -H 'Upgrade: SPDY/3.1' \
	-H 'X-Stream-Protocol-Version: v4.channel.k8s.io' "$url/exec/default/ticker/main?command=pause" | tr -d '\n')
check "no stdin, stdout or stderr: 400" "$(echo "$out" | grep -q 'at least 1 of stdin, stdout, stderr.* 400$'; echo $?)" "$out"
# a client that speaks bad SPDY after the upgrade gets GOAWAY PROTOCOL_ERROR
out=$(python3 - "$IP" "$PORT" "$XN_CA_CERT" "$pki/apiserver-kubelet-client.crt" "$pki/apiserver-kubelet-client.key" <<'PY' 2>&1
import socket, ssl, struct, sys
ip, port, ca, crt, key = sys.argv[1:]
ctx = ssl.create_default_context(cafile=ca)
ctx.load_cert_chain(crt, key)
ctx.check_hostname = False
s = ctx.wrap_socket(socket.create_connection((ip, int(port)), timeout=10))
s.sendall(("POST /exec/default/ticker/main?command=console-dump&output=1 HTTP/1.1\r\nHost: x\r\n"
           "Connection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: v4.channel.k8s.io\r\n"
           "Content-Length: 0\r\n\r\n").encode())
head = b""
while b"\r\n\r\n" not in head:
    head += s.recv(1)
assert head.startswith(b"HTTP/1.1 101"), head
assert b"X-Stream-Protocol-Version: v4.channel.k8s.io" in head, head
# a SYN_STREAM whose header block is not zlib at all
s.sendall(struct.pack(">HHI", 0x8003, 1, 10 + 8) + struct.pack(">II", 1, 0) + b"\0\0" + b"\xa5" * 8)
got = b""
while len(got) < 16:
    b = s.recv(64)
    if not b: break
    got += b
w0, w1, last, status = struct.unpack(">IIII", got[:16])
assert w0 == 0x80030007 and w1 == 8 and status == 1, got
print("goaway protocol error")
PY
)
check "bad SPDY after the upgrade: GOAWAY PROTOCOL_ERROR" "$([ "$out" = "goaway protocol error" ]; echo $?)" "$out"
out=$(kubectl exec ticker -- console-dump 2>&1 | grep -c 'stdout F')
check "... and the daemon goes on serving" "$([ "$out" -gt 0 ]; echo $?)" "$out"

xn_it_stop_xenletd
summary kubelet-stream
