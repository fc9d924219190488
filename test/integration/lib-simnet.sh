# shellcheck shell=bash
# lib-simnet.sh - xenletd (hv_sim) with the sim network (docs/sim-scripts.md,
# "Network") for test-sim-net.sh and bench-sim-net.sh.  Source it after
# test/lib/tap.sh with B (build dir) and SRC (source tree) set.
#
#   simnet_need                skip-worthy reason on stdout (status 1), or
#                              nothing: root, ip, nft, curl, python3, busybox
#   simnet_up                  TMP (run dir), a network namespace D0 playing
#                              Dom0: bridge xenlet0 (MTU 1450, a fixed MAC) with
#                              the gateway 10.250.0.1/24 of the pod range
#                              PODCIDR; guest netns names PFX-<domid>; the
#                              cleanup trap (xenletd, the children this script
#                              started, D0, TMP)
#   simnet_start [FLAG...]     xenletd in the background (PID in DPID), its
#                              ctl socket answering; status 1 if it does not
#                              (PODCIDR empty: no pod range, no vifs)
#   simnet_stop [SIGNAL]       stop it by PID and reap it
#   xlpod ARGS...              xl-pod on the daemon's socket
#   simnet_image NAME TEXT     write the sim script TMP/images/NAME.sim
#   pod_uid NAME, pod_domid NAME, pod_ns NAME, pod_ip NAME
#                              what the runtime gave the pod: uid (xl-pod
#                              list -l), domid, its netns, the IPv4 address
#                              recorded for it in the store (/xenlet/net/pods)
#   store_paths PREFIX         the store's paths under PREFIX, one a line
#   d0 CMD...                  CMD in Dom0's netns
#   simnet_leftovers           what is left of the sim network: netns named
#                              PFX-*, vif* in D0, the nft table, backend dirs
#                              in the shim's store; nothing when clean

PODCIDR=10.250.0.0/24
GW=10.250.0.1
DPID=
SIMNET_PIDS=

simnet_need() {
	if [ "$(id -u)" != 0 ]; then
		echo "needs root (network namespaces, nftables)"
		return 1
	fi
	for c in ip nft curl python3 busybox; do
		if ! command -v "$c" >/dev/null; then
			echo "$c not found (scripts/deps.sh installs it)"
			return 1
		fi
	done
}

_simnet_cleanup() {
	simnet_stop
	for p in $SIMNET_PIDS; do
		kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	if [ "${fail:-0}" -ne 0 ] && [ -f "$TMP/xenletd.log" ]; then
		echo "# xenletd log (tail):"
		tail -n 30 "$TMP/xenletd.log" | sed 's/^/#   /'
	fi
	# guests a failed run left: their netns, then Dom0's
	for n in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$PFX-"); do
		ip netns del "$n"
	done
	ip netns del "$D0" 2>/dev/null
	rm -rf "$TMP"
}

simnet_up() {
	TMP=$(mktemp -d /tmp/simnet.XXXXXX)
	D0=xnsn-d0-$$
	PFX=xnsn$$
	trap _simnet_cleanup EXIT
	mkdir -p "$TMP/images"
	ip netns add "$D0" || return 1
	ip -n "$D0" link set lo up &&
		ip -n "$D0" link add xenlet0 mtu 1450 type bridge &&
		ip -n "$D0" link set xenlet0 address 02:00:0a:fa:00:01 &&
		ip -n "$D0" addr add "$GW/24" dev xenlet0 &&
		ip -n "$D0" link set xenlet0 up
}

simnet_start() {
	XN_SIM_NET_DOM0=$D0 XN_SIM_NET_PREFIX=$PFX \
		XN_SIM_XENSTORE_SHIM=$SRC/test/lib/xenstore-shim.sh \
		XN_SIM_MEMORY_MB=${XN_SIM_MEMORY_MB:-8192} XN_BACKOFF_BASE_MS=500 \
		"$B/xenletd" --backend=sim -d --root-dir="$TMP/root" --pod-log-dir="$TMP/logs" \
		--ctl-socket="$TMP/ctl.sock" --image-root="$TMP/images" ${PODCIDR:+--pod-cidr} ${PODCIDR:+"$PODCIDR"} \
		--bridge xenlet0 --vif-script "$SRC/packaging/vif-xenlet" "$@" \
		>>"$TMP/xenletd.log" 2>&1 &
	DPID=$!
	wait_for 10 xlpod version
}

simnet_stop() {
	if [ -n "$DPID" ] && kill -0 "$DPID" 2>/dev/null; then
		kill -"${1:-TERM}" "$DPID"
		wait "$DPID" 2>/dev/null
	fi
	DPID=
}

xlpod() { "$B/xl-pod" -s "$TMP/ctl.sock" "$@"; }

simnet_image() { printf '%s\n' "$2" >"$TMP/images/$1.sim"; }

_pod_field() { # _pod_field NAME FIELD
	xlpod list -l 2>/dev/null | python3 -c '
import json, sys
for p in json.load(sys.stdin):
    if p["namespace"] == "default" and p["name"] == sys.argv[1]:
        print(p.get(sys.argv[2], "")); break' "$1" "$2"
}
pod_uid() { _pod_field "$1" uid; }
pod_domid() { _pod_field "$1" domid; }
pod_ns() { echo "$PFX-$(pod_domid "$1")"; }
pod_ip() {
	python3 - <(python3 "$SRC/test/lib/store-paths.py" "$TMP/root/store.json" --dump) "/xenlet/net/pods/$(pod_uid "$1")/ipv4" <<'EOF'
import json, sys
for n in json.load(open(sys.argv[1]))["nodes"]:
    if n["path"] == sys.argv[2]:
        print(n["value"])
EOF
}
store_paths() {
	python3 - <(python3 "$SRC/test/lib/store-paths.py" "$TMP/root/store.json" --dump) "$1" <<'EOF'
import json, sys
for n in json.load(open(sys.argv[1]))["nodes"]:
    if n["path"].startswith(sys.argv[2]):
        print(n["path"])
EOF
}
d0() { ip netns exec "$D0" "$@"; }

simnet_leftovers() {
	ip netns list | awk '{print $1}' | grep "^$PFX-" | sed 's/^/netns /'
	ip -n "$D0" -o link show | awk -F': ' '{print $2}' | grep '^vif' | sed 's/^/link /'
	d0 nft list tables 2>/dev/null | grep 'bridge xenlet' | sed 's/^/nft /'
	find "$TMP/root/sim/net/xs/local/domain" -mindepth 1 -maxdepth 1 ! -name 0 2>/dev/null | sed 's/^/xenstore /'
	find "$TMP/root/sim/net/xs/local/domain/0/backend/vif" -mindepth 1 -maxdepth 1 2>/dev/null | sed 's/^/xenstore /'
}
