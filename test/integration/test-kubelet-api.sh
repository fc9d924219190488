#!/bin/bash
# test-kubelet-api.sh BUILD_DIR - the kubelet HTTPS API of xenletd (hv_sim)
# behind a real API server (test/cluster): kubectl logs with its options,
# stats/summary, metrics/resource and /metrics through the API server's node
# proxy, and authentication/authorization of direct requests.
# Prints "kubelet-api: N passed, N failed, N skipped".
set -u
B=$(cd "${1:-build}" && pwd)
SRC=$(cd "$(dirname "$0")/../.." && pwd)
NODE=xen-api-1
TAP_DETAIL_LINES=30

# shellcheck source=test/lib/tap.sh
. "$SRC/test/lib/tap.sh"
# shellcheck source=test/integration/lib-xenletd.sh
. "$SRC/test/integration/lib-xenletd.sh"

if ! command -v kubectl >/dev/null || ! command -v curl >/dev/null; then
	skip "kubelet API checks" "kubectl or curl not installed"
	summary kubelet-api
	exit
fi
xn_it_cluster_up test-kubelet-api || { summary kubelet-api; exit; }
# The API server's node proxy (nodes/NODE/proxy/...) refuses loopback and
# link-local node addresses, so the node advertises a global address of this
# host when it has one; kubectl logs alone would work with 127.0.0.1.
IP=$(xn_it_global_ip)
PROXY_OK=1
if [ -z "$IP" ]; then
	IP=127.0.0.1 PROXY_OK=0
fi
xn_it_start_kubelet_api "$IP" --container-log-max-size 256Ki --container-log-max-files 3

xn_it_pod ticker ticker.sim Always
xn_it_pod crasher shortlived.sim Always
wait_for 40 kubectl wait --for=condition=Ready pod/ticker --timeout=1s
check "the ticker pod runs" $? "$(kubectl get pod ticker -o wide 2>&1)"
sleep 3 # the log must span more than a second for --since=1s below

# ---- kubectl logs ----
out=$(kubectl logs ticker 2>&1)
echo "$out" | head -n 3 | tr '\n' '|' | grep -qx 'line-a|line-b|part-1 part-2|'
check "kubectl logs: the guest's lines, CRI prefix stripped, P chunks joined" $? "$out"
total=$(echo "$out" | wc -l)
ticks0=$(echo "$out" | grep -c '^tick$')

out=$(kubectl logs --tail=2 ticker 2>&1)
# ticker.sim starts over every ~2 s, so the last lines may be any of its lines
check "--tail=2: two lines" "$([ "$(echo "$out" | wc -l)" -eq 2 ] && ! echo "$out" | grep -qvxE 'tick|line-a|line-b|part-1 part-2'; echo $?)" "$out"
out=$(kubectl logs --timestamps --tail=3 ticker 2>&1)
bad=$(echo "$out" | grep -cvE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}(\.[0-9]{1,9})?Z (tick|part-1 part-2|line-.)$')
check "--timestamps: RFC 3339 before each line" "$([ "$bad" -eq 0 ] && [ "$(echo "$out" | wc -l)" -eq 3 ]; echo $?)" "$out"
n1h=$(kubectl logs --since=1h ticker 2>&1 | wc -l)
n1s=$(kubectl logs --since=1s ticker 2>&1 | wc -l)
check "--since=1h keeps all lines, --since=1s fewer" "$([ "$n1h" -ge "$total" ] && [ "$n1s" -lt "$n1h" ] && [ "$n1s" -le 8 ]; echo $?)" "1h: $n1h, 1s: $n1s, total: $total"
out=$(kubectl logs --limit-bytes=10 ticker 2>&1)
check "--limit-bytes=10: ten bytes" "$([ "$(printf '%s' "$out" | wc -c)" -eq 10 ] && [ "$out" = "$(printf 'line-a\nlin')" ]; echo $?)" "$out"
out=$(timeout 3 kubectl logs -f ticker 2>&1)
ticksf=$(echo "$out" | grep -c '^tick$')
check "-f follows new lines as they are written" "$([ "$ticksf" -gt "$((ticks0 + 3))" ]; echo $?)" "before: $ticks0 ticks, followed: $ticksf"
out=$(kubectl logs --previous ticker 2>&1)
check "--previous without a restart: the kubelet's error" "$(echo "$out" | grep -q 'previous terminated container .*main.* in pod .*ticker.* not found'; echo $?)" "$out"
wait_for 40 bash -c "[ \"\$(kubectl get pod crasher -o jsonpath='{.status.containerStatuses[0].restartCount}')\" -ge 1 ]"
check "the crasher restarts" $? "$(kubectl get pod crasher 2>&1)"
out=$(kubectl logs --previous crasher 2>&1)
check "--previous after a restart: the previous instance's log" "$([ "$out" = "$(printf 'instance starting\ninstance failing')" ]; echo $?)" "$out"
out=$(kubectl get --raw "/api/v1/namespaces/default/pods/ticker/log?tailLines=x" 2>&1)
check "malformed tailLines is refused" "$(echo "$out" | grep -qi 'tailLines\|invalid\|bad request'; echo $?)" "$out"

# ---- stats and metrics through the API server's node proxy ----
px="/api/v1/nodes/$NODE/proxy"
if [ "$PROXY_OK" = 0 ]; then
	echo "# no global IPv4 address: node proxy checks run against the port directly"
	kraw() { curl -s --cacert "$XN_CA_CERT" --cert "$XN_CLUSTER_DIR/pki/apiserver-kubelet-client.crt" \
		--key "$XN_CLUSTER_DIR/pki/apiserver-kubelet-client.key" "https://$IP:$PORT${1#"$px"}"; }
else
	kraw() { kubectl get --raw "$1"; }
fi
out=$(kraw "$px/healthz" 2>&1)
check "healthz through the proxy" "$([ "$out" = ok ]; echo $?)" "$out"
out=$(kraw "$px/stats/summary" 2>&1)
echo "$out" | python3 -c "
import json,sys
s=json.load(sys.stdin)
n=s['node']
assert n['nodeName']=='$NODE', n
assert n['cpu']['usageCoreNanoSeconds']>0 and n['memory']['workingSetBytes']>0 and n['memory']['availableBytes']>0, n
p=[x for x in s['pods'] if x['podRef']['name']=='ticker'][0]
assert p['podRef']['namespace']=='default' and p['podRef']['uid'], p
assert p['cpu']['usageCoreNanoSeconds']>0 and p['cpu']['usageNanoCores']>0, p
assert p['memory']['workingSetBytes']==64*1024*1024, p
c=p['containers'][0]
assert c['name']=='main' and c['cpu']['usageCoreNanoSeconds']>0, c
" 2>&1
check "stats/summary: node and pod CPU and memory" $? "$out"
out=$(kraw "$px/metrics/resource" 2>&1)
echo "$out" | python3 -c "
import re,sys
want={'node_cpu_usage_seconds_total','node_memory_working_set_bytes','container_cpu_usage_seconds_total',
 'container_memory_working_set_bytes','pod_cpu_usage_seconds_total','pod_memory_working_set_bytes','resource_scrape_error'}
seen={}
for l in sys.stdin.read().splitlines():
    if l.startswith('#') or not l: continue
    m=re.match(r'^([a-z_]+)(\{[^}]*\})? (\S+)( [0-9]+)?$', l)
    assert m, 'bad line: '+l
    seen.setdefault(m.group(1),[]).append((m.group(2) or '', float(m.group(3)), m.group(4)))
assert want<=set(seen), set(want)-set(seen)
assert seen['resource_scrape_error'][0][1]==0
c=[v for v in seen['container_cpu_usage_seconds_total'] if 'pod=\"ticker\"' in v[0]]
assert c and c[0][1]>0 and c[0][2], c
assert 'container=\"main\"' in c[0][0] and 'namespace=\"default\"' in c[0][0]
m=[v for v in seen['pod_memory_working_set_bytes'] if 'pod=\"ticker\"' in v[0]]
assert m and m[0][1]==64*1024*1024, m
assert seen['node_cpu_usage_seconds_total'][0][1]>0
" 2>&1
check "metrics/resource: what metrics-server reads, with timestamps" $? "$out"
out=$(kraw "$px/metrics" 2>&1)
echo "$out" | python3 -c "
import re,sys
fam={}
for l in sys.stdin.read().splitlines():
    if l.startswith('# TYPE'): fam[l.split()[2]]=l.split()[3]; continue
    if l.startswith('#') or not l: continue
    assert re.match(r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_]+=\"[^\"]*\",?)*\})? (?:[-+0-9.eE]+|NaN|[+-]Inf)( [0-9]+)?$', l), l
assert fam.get('xenlet_pods')=='gauge' and fam.get('xenlet_domain_create_duration_seconds')=='histogram', fam
" 2>&1 && echo "$out" | grep -qE '^xenlet_pods\{phase="Running"\} [1-9]'
check "/metrics: the daemon's own, Prometheus text" $? "$(echo "$out" | head -n 20)"
out=$(kubectl exec ticker -- sh 2>&1)
check "kubectl exec: refused with a clear message" "$(echo "$out" | grep -q 'not supported'; echo $?)" "$out"

# ---- authentication and authorization, straight to the port ----
url="https://$IP:$PORT"
code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$XN_CA_CERT" "$url/pods")
check "no client certificate, no token: 401" "$([ "$code" = 401 ]; echo $?)" "$code"
code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$XN_CA_CERT" -H "Authorization: Bearer not-a-token" "$url/pods")
check "a bad token: 401 (TokenReview says no)" "$([ "$code" = 401 ]; echo $?)" "$code"
kubectl create serviceaccount nobody >/dev/null 2>&1
tok=$(kubectl create token nobody 2>/dev/null)
body=$(curl -s -w ' %{http_code}' --cacert "$XN_CA_CERT" -H "Authorization: Bearer $tok" "$url/stats/summary" | tr -d '\n')
check "a service account without rights: 403 naming user and subresource" "$(echo "$body" | grep -q 'Forbidden (user=system:serviceaccount:default:nobody, verb=get, resource=nodes, subresource=stats).* 403$'; echo $?)" "$body"
kubectl create clusterrole node-stats-reader --verb=get --resource=nodes/stats >/dev/null 2>&1
kubectl create clusterrolebinding nobody-stats --clusterrole=node-stats-reader --serviceaccount=default:nobody >/dev/null 2>&1
tok2=$(kubectl create token nobody 2>/dev/null) # a new token: the old one's denial is cached 30 s
code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$XN_CA_CERT" -H "Authorization: Bearer $tok2" "$url/stats/summary")
check "the same service account with nodes/stats: 200" "$([ "$code" = 200 ]; echo $?)" "$code"
code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$XN_CA_CERT" -H "Authorization: Bearer $tok2" "$url/containerLogs/default/ticker/main")
check "... but not nodes/proxy (containerLogs): 403" "$([ "$code" = 403 ]; echo $?)" "$code"
pki=$XN_CLUSTER_DIR/pki
# issue 9, finding 3: read-only "get nodes/proxy" (monitoring) reads logs but
# cannot run an exec verb through a GET upgrade: exec is "create"
kubectl create serviceaccount watcher >/dev/null 2>&1
kubectl create clusterrole node-proxy-reader --verb=get --resource=nodes/proxy >/dev/null 2>&1
kubectl create clusterrolebinding watcher-proxy --clusterrole=node-proxy-reader --serviceaccount=default:watcher >/dev/null 2>&1
tok3=$(kubectl create token watcher 2>/dev/null)
code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$XN_CA_CERT" -H "Authorization: Bearer $tok3" "$url/containerLogs/default/ticker/main?tailLines=1")
check "get nodes/proxy: containerLogs 200" "$([ "$code" = 200 ]; echo $?)" "$code"
body=$(curl -s -w ' %{http_code}' --cacert "$XN_CA_CERT" -H "Authorization: Bearer $tok3" \
	-H "Connection: Upgrade" -H "Upgrade: SPDY/3.1" -H "X-Stream-Protocol-Version: v4.channel.k8s.io" \
	"$url/exec/default/ticker/main?command=pause&output=1" | tr -d '\n')
check "get nodes/proxy: exec by a GET upgrade is 403, verb create" \
	"$(echo "$body" | grep -q 'verb=create, resource=nodes, subresource=proxy.* 403$'; echo $?)" "$body"
out=$(curl -s -w ' %{http_code}' --cacert "$XN_CA_CERT" --cert "$pki/apiserver-kubelet-client.crt" --key "$pki/apiserver-kubelet-client.key" "$url/containerLogs/default/ticker/main?tailLines=1" | tr -d '\n')
check "the API server's kubelet client certificate: 200" "$(echo "$out" | grep -qE '^(tick|line-a|line-b|part-1 part-2) 200$'; echo $?)" "$out"
openssl ecparam -name prime256v1 -genkey -noout -out "$TMP/other.key" 2>/dev/null
openssl req -x509 -new -key "$TMP/other.key" -subj "/O=system:masters/CN=intruder" -days 1 -out "$TMP/other.crt" 2>/dev/null
code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$XN_CA_CERT" --cert "$TMP/other.crt" --key "$TMP/other.key" "$url/pods")
check "a client certificate from another CA: 401" "$([ "$code" = 401 ]; echo $?)" "$code"
out=$(curl -s -w ' %{http_code}' --cacert "$XN_CA_CERT" --cert "$pki/apiserver-kubelet-client.crt" --key "$pki/apiserver-kubelet-client.key" "$url/containerLogs/default/nope/main" | tr -d '\n')
check "unknown pod: 404" "$(echo "$out" | grep -q 'pod \\"nope\\" does not exist.* 404$'; echo $?)" "$out"
out=$(curl -s -w ' %{http_code}' --cacert "$XN_CA_CERT" --cert "$pki/apiserver-kubelet-client.crt" --key "$pki/apiserver-kubelet-client.key" "$url/containerLogs/default/ticker/main?sinceSeconds=x" | tr -d '\n')
check "malformed sinceSeconds: 400 naming it" "$(echo "$out" | grep -q 'sinceSeconds.* 400$'; echo $?)" "$out"
out=$(curl -s -w ' %{http_code}' --cacert "$XN_CA_CERT" --cert "$pki/apiserver-kubelet-client.crt" --key "$pki/apiserver-kubelet-client.key" "$url/containerLogs/default/ticker/main?sinceSeconds=0" | tr -d '\n')
check "sinceSeconds=0: 422 naming it" "$(echo "$out" | grep -q 'sinceSeconds: must be greater than 0.* 422$'; echo $?)" "$out"
out=$(curl -s --path-as-is -w ' %{http_code}' --cacert "$XN_CA_CERT" --cert "$pki/apiserver-kubelet-client.crt" --key "$pki/apiserver-kubelet-client.key" "$url/containerLogs/default/ticker/../../../../etc/passwd" | tr -d '\n')
check "containerLogs path with ../ segments: 400, the path's form" "$(echo "$out" | grep -q 'path must be /containerLogs/NAMESPACE/POD/CONTAINER.* 400$' && ! grep -q 'root:' <<<"$out"; echo $?)" "$out"
out=$(curl -s --path-as-is -w ' %{http_code}' --cacert "$XN_CA_CERT" --cert "$pki/apiserver-kubelet-client.crt" --key "$pki/apiserver-kubelet-client.key" "$url/containerLogs/default/ticker/%2e%2e" | tr -d '\n')
check "containerLogs container \"..\": 404, no such container" "$(echo "$out" | grep -q 'container \\"..\\" not found in pod \\"ticker\\".* 404$'; echo $?)" "$out"
out=$(curl -s -X POST -w ' %{http_code}' --cacert "$XN_CA_CERT" --cert "$pki/apiserver-kubelet-client.crt" --key "$pki/apiserver-kubelet-client.key" "$url/healthz" | tr -d '\n')
check "a method the route does not take: 405" "$(echo "$out" | grep -q 'POST /healthz: method not allowed.* 405$'; echo $?)" "$out"
out=$(curl -s -w ' %{http_code}' --cacert "$XN_CA_CERT" --cert "$pki/apiserver-kubelet-client.crt" --key "$pki/apiserver-kubelet-client.key" "$url/runningpods/" | tr -d '\n')
check "/runningpods/: the running pods" "$(echo "$out" | grep -q '"name":"ticker".* 200$'; echo $?)" "$out"

# ---- kubectl top through a real metrics-server (test/cluster/metrics-server.sh) ----
ms_skip=${XN_METRICS_SERVER_SKIP:-}
if [ -z "$ms_skip" ] && [ "$PROXY_OK" = 0 ]; then
	ms_skip="no global IPv4 address on this host: the APIService's EndpointSlice cannot name loopback"
fi
if [ -z "$ms_skip" ] && [ -z "${XN_METRICS_SERVER_BIN:-}" ]; then
	if d=$("$SRC/test/cluster/build-metrics-server.sh" 2>"$TMP/ms-build.log" | tail -n 1) && [ -x "$d/metrics-server" ]; then
		export XN_METRICS_SERVER_BIN=$d/metrics-server
	else
		ms_skip="metrics-server build failed: $(sed -n 's/^build-metrics-server.sh: error: //p' "$TMP/ms-build.log" | tail -n 1)"
	fi
fi
if [ -n "$ms_skip" ]; then
	skip "kubectl top node and pod through metrics-server" "$ms_skip"
else
	cluster_metrics_server_up "$IP" >"$TMP/ms-up.log" 2>&1
	rc=$?
	check "metrics-server $("$XN_METRICS_SERVER_BIN" --version 2>&1) runs, APIService v1beta1.metrics.k8s.io is Available" $rc "$(tail -n 20 "$TMP/ms-up.log")"
	# What each scrape relies on: the kubelet's SubjectAccessReview lets
	# system:metrics-server get nodes/metrics and nothing it was not granted.
	mc=(--cert "$pki/metrics-server-client.crt" --key "$pki/metrics-server-client.key")
	code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$XN_CA_CERT" "${mc[@]}" "$url/metrics/resource")
	check "metrics-server's identity may read /metrics/resource on the node: 200" "$([ "$code" = 200 ]; echo $?)" "$code"
	code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$XN_CA_CERT" "${mc[@]}" "$url/pods")
	check "... and nothing else (/pods, nodes/proxy): 403" "$([ "$code" = 403 ]; echo $?)" "$code"
	# A CPU rate needs two scrapes, one every 10 s: bounded wait.
	t0=$SECONDS
	wait_for 90 kubectl top node "$NODE" --no-headers
	out=$(kubectl top node "$NODE" --no-headers 2>&1)
	echo "# kubectl top node, after $((SECONDS - t0)) s: $out"
	# NAME CPU(cores) CPU(%) MEMORY(bytes) MEMORY(%); memory within the sim's 2048 MiB
	echo "$out" | awk -v n="$NODE" '$1 == n && $2 ~ /^[0-9]+m$/ && $3 ~ /^[0-9]+%$/ &&
		$4 ~ /^[0-9]+Mi$/ && $4 + 0 > 0 && $4 + 0 <= 2048 && $5 ~ /^[0-9]+%$/ { ok = 1 } END { exit !ok }'
	check "kubectl top node $NODE: CPU and memory of the xenlet node" $? "$out
$(tail -n 5 "$XN_CLUSTER_DIR/metrics-server.log")"
	wait_for 60 kubectl top pod ticker --no-headers
	out=$(kubectl top pod ticker --no-headers 2>&1)
	echo "# kubectl top pod: $out"
	echo "$out" | awk '$1 == "ticker" && $2 ~ /^[0-9]+m$/ && $3 == "64Mi" { ok = 1 } END { exit !ok }'
	check "kubectl top pod ticker: CPU, and memory 64Mi (the sim domain's)" $? "$out"
	out=$(kubectl top pod ticker --containers --no-headers 2>&1)
	echo "$out" | awk '$1 == "ticker" && $2 == "main" && $3 ~ /^[0-9]+m$/ && $4 == "64Mi" { ok = 1 } END { exit !ok }'
	check "kubectl top pod --containers: container main" $? "$out"
	mspid=$(_cluster_pid metrics-server)
	cluster_metrics_server_down
	check "cluster_metrics_server_down stops it (pid $mspid) and removes the APIService" \
		"$(! readlink "/proc/$mspid/exe" >/dev/null 2>&1 && ! kubectl get apiservice v1beta1.metrics.k8s.io >/dev/null 2>&1; echo $?)"
fi

# ---- a guest that floods its console ----
xn_it_pod flood flood.sim Always
wait_for 40 kubectl wait --for=condition=Ready pod/flood --timeout=1s
timeout 4 kubectl logs -f flood >"$TMP/flood.out" 2>/dev/null
n=$(grep -c '^flood ' "$TMP/flood.out")
# one 256 KiB file holds about 1800 of these lines: more means the follow
# went on across a rotation
check "kubectl logs -f follows a flooding guest across log rotations ($n lines)" "$([ "$n" -gt 4000 ]; echo $?)"
fdir=$(ls -d "$TMP"/logs/default_flood_*/main)
files=$(ls "$fdir" | wc -l)
bytes=$(du -sb "$fdir" | cut -f1)
check "the flood is rotated: at most 3 files, $bytes bytes (<= 3 x 256 KiB)" "$([ "$files" -le 3 ] && [ "$bytes" -le $((3 * 256 * 1024 + 4096)) ]; echo $?)" "$(ls -l "$fdir")"
rss=$(awk '/VmRSS/{print $2}' "/proc/$DPID/status")
check "daemon memory stays bounded under the flood (RSS $rss KiB < 100 MiB)" "$([ "$rss" -lt 102400 ]; echo $?)"
# 70 clients follow the flood and never read: the 65th and later are refused
# with 503, memory stays bounded while they stall, and once they are gone
# the API serves again
out=$(python3 - "$IP" "$PORT" "$XN_CA_CERT" "$pki/apiserver-kubelet-client.crt" \
	"$pki/apiserver-kubelet-client.key" "$DPID" <<'PYEOF' 2>&1
import socket, ssl, sys, time
ip, port, ca, crt, key, pid = sys.argv[1], int(sys.argv[2]), *sys.argv[3:6], sys.argv[6]
ctx = ssl.create_default_context(cafile=ca)
ctx.check_hostname = False
ctx.load_cert_chain(crt, key)
def rss():
    for l in open("/proc/%s/status" % pid):
        if l.startswith("VmRSS:"):
            return int(l.split()[1])
base = rss()
conns, codes = [], []
for i in range(70):
    raw = socket.create_connection((ip, port), timeout=10)
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s = ctx.wrap_socket(raw)
    s.sendall(b"GET /containerLogs/default/flood/main?follow=true HTTP/1.1\r\nHost: x\r\n\r\n")
    conns.append(s)
for s in conns:
    head = s.recv(64)
    codes.append(head.split(b" ")[1].decode() if head.startswith(b"HTTP/1.1 ") else "?")
time.sleep(5)  # the 64 accepted readers stall while the guest floods
grown = rss() - base
for s in conns:
    s.close()
time.sleep(1)
s = ctx.wrap_socket(socket.create_connection((ip, port), timeout=10))
s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
after = s.recv(64).split(b" ")[1].decode()
print("ok200=%d refused503=%d other=%d grown_kib=%d after=%s" % (codes.count("200"), codes.count("503"), len(codes) - codes.count("200") - codes.count("503"), grown, after))
PYEOF
)
echo "# $out"
case $out in *"ok200=64 refused503=6 other=0 "*) ok "64 connections served, the 65th to 70th get 503" ;; *) not_ok "64 connections served, the 65th to 70th get 503" "$out" ;; esac
g=$(echo "$out" | sed -n 's/.*grown_kib=\([0-9-]*\).*/\1/p')
check "64 stalled followers of a flooding guest: daemon memory grew ${g:-?} KiB (< 32 MiB)" "$([ -n "$g" ] && [ "$g" -lt 32768 ]; echo $?)" "$out"
check "after the stalled clients are gone the API serves again (200)" "$(echo "$out" | grep -q 'after=200$'; echo $?)" "$out"
kubectl delete pod flood --wait=false >/dev/null

xn_it_stop_xenletd
grep -q "kubelet API on https://$IP:$PORT" "$TMP/xenletd.log"
check "the daemon logged its kubelet API endpoint" $?
summary kubelet-api
