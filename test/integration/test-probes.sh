#!/bin/bash
# test-probes.sh BUILD_DIR - probes against a real control plane: xenletd
# (hv_sim) probes each pod at its podIP from the node; here the pod's
# address is made to answer by a server of the test's own bound to that IP
# (added to lo), so the probe target comes from the pod status as it will
# with real pod networking.  Everything (control plane, xenletd, servers)
# runs in a network namespace the script makes for itself (unshare -n).
#   readiness flips Ready/ContainersReady and the Service's EndpointSlice;
#   a failing liveness probe restarts the pod (Killing Event, restartCount);
#   a startup probe holds the others back until it succeeds;
#   a hanging target times out with a clear message; exec is UnsupportedFields.
# Prints "probes: N passed, N failed, N skipped".
set -u
B=$(cd "${1:-build}" && pwd)
SRC=$(cd "$(dirname "$0")/../.." && pwd)
NODE=xen-probe-1

# shellcheck source=test/lib/tap.sh
. "$SRC/test/lib/tap.sh"

if [ -z "${XN_PROBES_IN_NETNS:-}" ]; then
	if [ "$(id -u)" -ne 0 ] || ! command -v unshare >/dev/null; then
		skip "probe checks" "needs root and unshare(1) for a network namespace of its own"
		summary probes
		exit
	fi
	XN_PROBES_IN_NETNS=1 exec unshare -n -- "$0" "$@"
fi
ip link set lo up

# shellcheck source=test/integration/lib-xenletd.sh
. "$SRC/test/integration/lib-xenletd.sh"

if ! command -v kubectl >/dev/null; then
	skip "probe checks" "kubectl not installed"
	summary probes
	exit
fi

jp() { kubectl get "$1" -o jsonpath="$2" 2>/dev/null; }
cond() { jp "pod/$1" "{.status.conditions[?(@.type==\"$2\")].status}"; }
events() { kubectl get events --field-selector "involvedObject.name=$1" -o jsonpath='{range .items[*]}{.reason}: {.message}{"\n"}{end}' 2>/dev/null; }
# slice_ready SVC: the ready flags of the Service's EndpointSlice endpoints
slice_ready() {
	kubectl get endpointslices -l "kubernetes.io/service-name=$1" \
		-o jsonpath='{range .items[*].endpoints[*]}{.addresses[0]}={.conditions.ready}{" "}{end}' 2>/dev/null
}

# serve IP PORT DIR: an HTTP server of the test's own at IP:PORT; what it
# answers for /NAME is the file DIR/NAME ("200", "500", "hang", "garbage";
# none: 404); each request's path is appended to DIR/requests.  PID in SPID.
serve() {
	python3 - "$1" "$2" "$3" <<'EOF' &
import http.server, os, socketserver, sys, time
ip, port, d = sys.argv[1], int(sys.argv[2]), sys.argv[3]
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_GET(self):
        with open(os.path.join(d, "requests"), "a") as f: f.write(self.path + "\n")
        try: mode = open(os.path.join(d, self.path.strip("/"))).read().strip()
        except OSError: mode = "404"
        if mode == "hang": time.sleep(3600)
        if mode == "garbage":
            self.wfile.write(b"\x00\x01garbage\r\n\r\n"); return
        self.send_response(int(mode)); self.send_header("Content-Length", "0"); self.end_headers()
class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
S((ip, port), H).serve_forever()
EOF
	SPID=$!
}

probe_pod() { # probe_pod NAME POLICY PROBES-YAML (indented for the container)
	kubectl apply -f - >/dev/null <<YAML
apiVersion: v1
kind: Pod
metadata: {name: $1, labels: {app: $1}}
spec:
  runtimeClassName: xen-unikernel
  restartPolicy: $2
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: $SRC/test/fixtures/sim/server.sim
    ports: [{name: http, containerPort: 8080}]
    resources: {limits: {memory: 64Mi, cpu: 100m}}
$3
YAML
}

xn_it_cluster_up test-probes || { summary probes; exit; }
SPIDS=()
trap 'for p in "${SPIDS[@]}"; do xn_it_kill "$p"; done; _xn_it_cleanup' EXIT

xn_it_start_xenletd -v --node-ip 127.0.0.1
wait_for 30 kubectl wait --for=condition=Ready "node/$NODE" --timeout=1s
check "node registers and becomes Ready" $? "$(tail -n 5 "$TMP/xenletd.log")"
wait_for 30 bash -c "[ -n \"\$(kubectl get node $NODE -o jsonpath='{.spec.podCIDR}')\" ]"
check "the node has a podCIDR" $?

# --- readiness: Ready, ContainersReady and the EndpointSlice follow it ---
kubectl apply -f - >/dev/null <<YAML
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: http}]
YAML
probe_pod web Always "    readinessProbe:
      httpGet: {path: /healthz, port: http}
      periodSeconds: 1
      failureThreshold: 1
    livenessProbe:
      exec: {command: [/bin/true]}"
wait_for 30 bash -c "[ -n \"\$(kubectl get pod web -o jsonpath='{.status.podIP}')\" ]"
ipw=$(jp pod/web '{.status.podIP}')
check "the pod has a podIP ($ipw)" "$([ -n "$ipw" ]; echo $?)"
wait_for 30 bash -c "[ \"\$(kubectl get pod web -o jsonpath='{.status.phase}')\" = Running ]"
check "the pod runs" $? "$(kubectl get pod web -o wide 2>&1)"
# the pod's address exists (as a booted guest's would) but nothing listens
ip addr add "$ipw/32" dev lo
wait_for 15 bash -c "kubectl get events --field-selector involvedObject.name=web -o jsonpath='{.items[*].message}' | grep -q 'Readiness probe failed: Get \"http://$ipw:8080/healthz\": connect: Connection refused'"
check "nothing listens yet: an Unhealthy Event with the connect error" $? "$(events web)"
check_eq "not Ready while the probe fails" "$(cond web Ready)/$(cond web ContainersReady)" "False/False"
events web | grep -q "UnsupportedFields: .*containers\[0\].livenessProbe.exec"
check "an exec probe is not run and the UnsupportedFields Event names it" $? "$(events web)"
wait_for 30 bash -c "[ \"\$(kubectl get endpointslices -l kubernetes.io/service-name=web -o jsonpath='{.items[*].endpoints[*].addresses[0]}')\" = $ipw ]"
check_eq "the EndpointSlice lists the pod, not ready" "$(slice_ready web)" "$ipw=false "

D=$TMP/web && mkdir -p "$D" && echo 200 >"$D/healthz"
serve "$ipw" 8080 "$D" && SPIDS+=("$SPID")
wait_for 15 bash -c "[ \"\$(kubectl get pod web -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].status}')\" = True ]"
check_eq "the target answers 200: Ready and ContainersReady" "$(cond web Ready)/$(cond web ContainersReady)" "True/True"
check_eq "containerStatuses ready" "$(jp pod/web '{.status.containerStatuses[0].ready}')" "true"
wait_for 15 bash -c "[ \"\$(kubectl get endpointslices -l kubernetes.io/service-name=web -o jsonpath='{.items[*].endpoints[*].conditions.ready}')\" = true ]"
check_eq "the EndpointSlice endpoint is ready" "$(slice_ready web)" "$ipw=true "
grep -q '^/healthz$' "$D/requests"
check "the probe reached the server at the podIP" $?

echo 500 >"$D/healthz"
wait_for 15 bash -c "[ \"\$(kubectl get pod web -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].status}')\" = False ]"
check "a 500 makes the pod not Ready" $? "$(cond web Ready)"
wait_for 15 bash -c "[ \"\$(kubectl get endpointslices -l kubernetes.io/service-name=web -o jsonpath='{.items[*].endpoints[*].conditions.ready}')\" = false ]"
check_eq "... and its endpoint not ready" "$(slice_ready web)" "$ipw=false "
wait_for 10 bash -c "kubectl get events --field-selector involvedObject.name=web -o jsonpath='{.items[*].message}' | grep -q 'Readiness probe failed: HTTP probe failed with statuscode: 500'"
check "the Event says the status code" $? "$(events web)"

# a target that hangs and one that answers garbage: failures with their reason
echo 200 >"$D/healthz"
wait_for 15 bash -c "[ \"\$(kubectl get pod web -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].status}')\" = True ]"
check "Ready again" $?
echo hang >"$D/healthz"
wait_for 15 bash -c "kubectl get events --field-selector involvedObject.name=web -o jsonpath='{.items[*].message}' | grep -q 'Readiness probe failed: Get \"http://$ipw:8080/healthz\": context deadline exceeded'"
check "a hanging target times out (timeoutSeconds) with a clear message" $? "$(events web)"
check_eq "... and the pod is not Ready" "$(cond web Ready)" "False"
echo garbage >"$D/healthz"
wait_for 15 bash -c "kubectl get events --field-selector involvedObject.name=web -o jsonpath='{.items[*].message}' | grep -q 'malformed HTTP response'"
check "a target answering garbage fails with 'malformed HTTP response'" $? "$(events web)"
kill -0 "$DPID" 2>/dev/null
check "xenletd still runs" $?

# --- liveness: a failing probe restarts the pod through its policy ---
probe_pod live Always "    livenessProbe:
      tcpSocket: {port: 9090}
      periodSeconds: 1
      failureThreshold: 2"
wait_for 30 bash -c "[ -n \"\$(kubectl get pod live -o jsonpath='{.status.podIP}')\" ]"
ipl=$(jp pod/live '{.status.podIP}')
ip addr add "$ipl/32" dev lo
wait_for 40 bash -c "[ \"\$(kubectl get pod live -o jsonpath='{.status.containerStatuses[0].restartCount}')\" -ge 1 ]"
check "nothing listens on the liveness port: the pod is restarted (restartCount >= 1)" $? \
	"$(kubectl get pod live -o jsonpath='{.status.containerStatuses[0]}')"
events live | grep -q "Killing: Container main failed liveness probe, will be restarted"
check "Killing Event: failed liveness probe, will be restarted" $? "$(events live)"
events live | grep -q "Unhealthy: Liveness probe failed: dial tcp .*:9090: connect: Connection refused"
check "Unhealthy Event before it with the dial error" $? "$(events live)"
# once the port answers, the restarts stop: wait until an instance has run
# for 3 s (failureThreshold x periodSeconds + timeoutSeconds) with the port
# answering, then the count must stay
mkdir -p "$TMP/live" && serve "$ipl" 9090 "$TMP/live" && SPIDS+=("$SPID")
wait_for 5 bash -c "ss -Hltn | grep -q '$ipl:9090 '"
t0=$(date +%s)
healthy_for() { # the running instance has run $1 s since it or the server started
	local s from
	s=$(kubectl get pod live -o jsonpath='{.status.containerStatuses[0].state.running.startedAt}' 2>/dev/null)
	[ -n "$s" ] || return 1
	from=$(date -d "$s" +%s)
	[ "$from" -ge "$t0" ] || from=$t0
	[ $(($(date +%s) - from)) -ge "$1" ]
}
wait_for 60 healthy_for 3
check "an instance runs with the port answering" $? "$(kubectl get pod live -o jsonpath='{.status.containerStatuses[0]}')"
n1=$(jp pod/live '{.status.containerStatuses[0].restartCount}')
sleep 4
n2=$(jp pod/live '{.status.containerStatuses[0].restartCount}')
check_eq "with the port answering the restart count stays ($n1)" "$n2" "$n1"

# --- startup: the readiness probe waits until the startup probe succeeds ---
probe_pod slow Always "    startupProbe:
      httpGet: {path: /start, port: 8080}
      periodSeconds: 1
      failureThreshold: 60
    readinessProbe:
      httpGet: {path: /ready, port: 8080}
      periodSeconds: 1"
wait_for 30 bash -c "[ -n \"\$(kubectl get pod slow -o jsonpath='{.status.podIP}')\" ]"
ips=$(jp pod/slow '{.status.podIP}')
S=$TMP/slow && mkdir -p "$S" && echo 500 >"$S/start" && echo 200 >"$S/ready"
ip addr add "$ips/32" dev lo
serve "$ips" 8080 "$S" && SPIDS+=("$SPID")
wait_for 15 grep -q '^/start$' "$S/requests"
sleep 3
check_eq "while /start fails: started false, not Ready" \
	"$(jp pod/slow '{.status.containerStatuses[0].started}')/$(cond slow Ready)" "false/False"
grep -q '^/ready$' "$S/requests"
check "... and the readiness probe has not run" "$([ $? -ne 0 ]; echo $?)" "$(sort "$S/requests" | uniq -c)"
echo 200 >"$S/start"
wait_for 15 bash -c "[ \"\$(kubectl get pod slow -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].status}')\" = True ]"
check "once /start answers: Ready" $? "$(cond slow Ready)"
check_eq "started true" "$(jp pod/slow '{.status.containerStatuses[0].started}')" "true"
grep -q '^/ready$' "$S/requests"
check "the readiness probe runs after the startup probe succeeded" $? "$(sort "$S/requests" | uniq -c)"
check_eq "the startup probe ran no more after its success" \
	"$(grep -c '^/start$' "$S/requests")" "$(sleep 3; grep -c '^/start$' "$S/requests")"

kubectl delete pod web live slow --wait=false >/dev/null 2>&1
summary probes
