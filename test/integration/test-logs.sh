#!/bin/bash
# test-logs.sh BUILD_DIR - CRI log retention and log space on xenletd (hv_sim),
# driven through xl-pod, with no control plane:
#   - rounds of local pods created and destroyed leave no log directory of a
#     removed pod behind;
#   - a chatty crash-looping pod keeps the logs of its current and previous
#     instance only, each rotated within containerLogMaxSize x MaxFiles, and
#     `xl-pod logs --previous` still reads the previous one;
#   - /stats/summary reports the log space: node fs (statvfs of the log dir)
#     and per container logs (usedBytes = the bytes of its log files).
# Prints "logs: N passed, N failed, N skipped"; exits 1 if anything failed.
set -u
B=$(cd "${1:-build}" && pwd)
SRC=$(cd "$(dirname "$0")/../.." && pwd)
TMP=$(mktemp -d /tmp/test-logs.XXXXXX)
SOCK=$TMP/ctl.sock
LOGS=$TMP/logs
MAX_SIZE=16384 # --container-log-max-size, the smallest allowed
MAX_FILES=2
# shellcheck source=test/lib/tap.sh
. "$SRC/test/lib/tap.sh"
# shellcheck source=test/integration/lib-xenletd.sh
. "$SRC/test/integration/lib-xenletd.sh"

cleanup() {
	xn_it_stop_xenletd
	if [ "$fail" -ne 0 ]; then
		echo "# xenletd log (tail):"
		tail -n 30 "$TMP/xenletd.log" 2>/dev/null | sed 's/^/#   /'
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT

xlpod() { "$B/xl-pod" -s "$SOCK" "$@"; }
pod_field() { # pod_field NS/NAME FIELD: one field of `list -l`
	xlpod list -l | python3 -c '
import json, sys
ns, name = sys.argv[1].split("/")
for p in json.load(sys.stdin):
    if p["namespace"] == ns and p["name"] == name:
        print(p.get(sys.argv[2], "")); break
else:
    sys.exit(1)' "$1" "$2"
}
listed() { xlpod list | grep -q "^$1 "; }
logs_have() { # logs_have TEXT LOGS-ARGS...
	local text=$1
	shift
	xlpod logs "$@" 2>/dev/null | grep -qF "$text"
}
restarts_at_least() { [ "$(pod_field "$1" restarts)" -ge "$2" ] 2>/dev/null; }
# instances DIR: the instance numbers that have log files in DIR, sorted
instances() { ls "$1" 2>/dev/null | sed -n 's/^\([0-9][0-9]*\)\.log.*/\1/p' | sort -nu | tr '\n' ' '; }

for tool in "$B/xenletd" "$B/xl-pod"; do
	if [ ! -x "$tool" ]; then
		skip "log checks" "$tool not built"
		summary logs
		exit
	fi
done
for tool in python3 openssl curl; do
	if ! command -v $tool >/dev/null; then
		skip "log checks" "$tool is not installed"
		summary logs
		exit
	fi
done

# A client CA of our own: the kubelet API with no API server accepts a
# verified client certificate.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
	-subj /CN=test-logs-ca -keyout "$TMP/ca.key" -out "$TMP/ca.crt" >/dev/null 2>&1 &&
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-subj "/O=system:masters/CN=test-logs" -keyout "$TMP/client.key" -out "$TMP/client.csr" >/dev/null 2>&1 &&
	openssl x509 -req -in "$TMP/client.csr" -CA "$TMP/ca.crt" -CAkey "$TMP/ca.key" \
		-CAcreateserial -days 1 -out "$TMP/client.crt" >/dev/null 2>&1
check "a client CA and certificate for the kubelet API" $?
PORT=$(_cluster_free_port)
XN_BACKOFF_BASE_MS=100 "$B/xenletd" --backend=sim -d --root-dir="$TMP/root" --pod-log-dir="$LOGS" \
	--ctl-socket="$SOCK" --address 127.0.0.1 --port "$PORT" --client-ca-file "$TMP/ca.crt" \
	--container-log-max-size "$MAX_SIZE" --container-log-max-files "$MAX_FILES" \
	--image-root "$TMP" >>"$TMP/xenletd.log" 2>&1 &
DPID=$!
if ! wait_for 10 xlpod version; then
	not_ok "xenletd starts on the sim backend" "$(tail -20 "$TMP/xenletd.log")"
	summary logs
	exit
fi
ok "xenletd starts on the sim backend"

# ---- rounds of local pods: nothing of a removed pod stays ----
cat >"$TMP/short.sim" <<'EOF'
print short-lived guest
sleep 10
exit 0
EOF
cat >"$TMP/server.sim" <<'EOF'
print serving
hang
EOF
seen=0 missing=()
for round in 1 2 3; do
	for i in 1 2 3 4; do
		xlpod create -n "r$round" "short$i" "$TMP/short.sim" >/dev/null 2>&1
		xlpod create -n "r$round" "server$i" "$TMP/server.sim" >/dev/null 2>&1
	done
	for i in 1 2 3 4; do
		for p in "short$i" "server$i"; do
			if wait_for 10 logs_have "s" -n "r$round" "$p"; then
				seen=$((seen + 1))
			else
				missing+=("r$round/$p")
			fi
		done
	done
	for i in 1 2 3 4; do
		xlpod destroy -n "r$round" -g 0 "short$i" >/dev/null 2>&1
		xlpod destroy -n "r$round" -g 0 "server$i" >/dev/null 2>&1
	done
done
check "24 local pods in 3 rounds wrote their logs" "$([ "$seen" -eq 24 ]; echo $?)" "missing: ${missing[*]}"
left=$(xlpod list 2>&1 | grep -c '^r[0-9]/' || true)
check "every round's pods are destroyed" "$([ "$left" -eq 0 ]; echo $?)" "$(xlpod list 2>&1)"
stale=$(ls "$LOGS" 2>/dev/null | grep '^r[0-9]_' || true)
check "no log directory of a removed pod remains ($(echo "$stale" | grep -c . || true) left)" \
	"$([ -z "$stale" ]; echo $?)" "$stale"

# ---- a chatty crash-looping pod: current and previous instance only ----
{
	echo "print chatty start"
	for i in $(seq 1 300); do
		printf 'print chatty line %03d 01234567890123456789012345678901234567890123456789012345678901234567890123456789\n' "$i"
	done
	echo "print chatty end"
	echo "exit 1"
} >"$TMP/chatty.sim"
xlpod create -n crash -p Always chatty "$TMP/chatty.sim" >/dev/null 2>&1
check "the crash-looping pod restarts 5 times" \
	"$(wait_for 60 restarts_at_least crash/chatty 5; echo $?)" "$(xlpod list 2>&1)"
cdir=$(ls -d "$LOGS"/crash_chatty_*/main 2>/dev/null | head -n 1)
inst=$(instances "$cdir")
restarts=$(pod_field crash/chatty restarts)
read -r -a nums <<<"$inst"
check "only the current and the previous instance's logs are kept (instances: $inst; restarts: $restarts)" \
	"$([ "${#nums[@]}" -ge 1 ] && [ "${#nums[@]}" -le 2 ] &&
		{ [ "${#nums[@]}" -eq 1 ] || [ "${nums[1]}" -eq $((nums[0] + 1)) ]; } &&
		[ "${nums[-1]}" -ge 4 ]; echo $?)" "$(ls -l "$cdir" 2>&1)"
files=$(ls "$cdir" | wc -l)
bytes=$(du -sb --apparent-size "$cdir" | cut -f1)
limit=$((2 * MAX_FILES * MAX_SIZE + 4096))
check "each instance is rotated within max size x max files ($files files, $bytes bytes <= $limit)" \
	"$([ "$files" -le $((2 * MAX_FILES)) ] && [ "$bytes" -le "$limit" ]; echo $?)" "$(ls -l "$cdir")"
out=$(xlpod logs -n crash --previous chatty 2>&1 | tail -n 1)
check "xl-pod logs --previous reads the previous instance to its end" \
	"$([ "$out" = "chatty end" ]; echo $?)" "$out"
xlpod destroy -n crash -g 0 chatty >/dev/null 2>&1
check "destroying the crash-looping pod removes its log directory" \
	"$([ -z "$(ls -d "$LOGS"/crash_chatty_* 2>/dev/null)" ]; echo $?)" "$(ls "$LOGS")"

# ---- the log space in /stats/summary ----
cat >"$TMP/quiet.sim" <<'EOF'
print quiet one
print quiet two
hang
EOF
xlpod create -n space quiet "$TMP/quiet.sim" >/dev/null 2>&1
wait_for 10 logs_have "quiet two" -n space quiet
qdir=$(ls -d "$LOGS"/space_quiet_*/main 2>/dev/null | head -n 1)
summary_json=$(curl -s -k --cert "$TMP/client.crt" --key "$TMP/client.key" \
	"https://127.0.0.1:$PORT/stats/summary" 2>&1)
out=$(echo "$summary_json" | python3 -c '
import json, os, sys
logs, qdir = sys.argv[1], sys.argv[2]
s = json.load(sys.stdin)
vfs = os.statvfs(logs)
fs = s["node"]["fs"]
assert fs["capacityBytes"] == vfs.f_blocks * vfs.f_frsize, ("capacity", fs, vfs)
assert fs["inodes"] == vfs.f_files, ("inodes", fs, vfs)
assert 0 < fs["availableBytes"] <= fs["capacityBytes"], fs
assert abs(fs["availableBytes"] - vfs.f_bavail * vfs.f_frsize) < 64 << 20, ("available", fs, vfs)
assert fs["usedBytes"] == (vfs.f_blocks - vfs.f_bfree) * vfs.f_frsize or \
    abs(fs["usedBytes"] - (vfs.f_blocks - vfs.f_bfree) * vfs.f_frsize) < 64 << 20, ("used", fs)
assert fs["time"].endswith("Z"), fs
pod = [p for p in s["pods"] if p["podRef"]["name"] == "quiet"][0]
c = pod["containers"][0]
lg = c["logs"]
size = sum(os.path.getsize(os.path.join(qdir, f)) for f in os.listdir(qdir))
nodes = 1 + len(os.listdir(qdir))
assert size > 0, size
assert lg["usedBytes"] == size, ("usedBytes", lg["usedBytes"], size)
assert lg["inodesUsed"] == nodes, ("inodesUsed", lg["inodesUsed"], nodes)
assert lg["capacityBytes"] == fs["capacityBytes"] and lg["inodes"] == fs["inodes"], lg
assert lg["availableBytes"] > 0 and lg["inodesFree"] > 0, lg
print("usedBytes", size, "inodesUsed", nodes)
' "$LOGS" "$qdir" 2>&1)
check "stats/summary: node fs is the log dir's filesystem, container logs count its files ($out)" \
	$? "$out
$summary_json"
xlpod destroy -n space -g 0 quiet >/dev/null 2>&1

xn_it_stop_xenletd
summary logs
