#!/bin/bash
# test-sim-net.sh BUILD_DIR - pod networking without Xen: xenletd (hv_sim)
# gives each pod a network namespace whose veth plays the vif, plugged into
# the bridge xenlet0 of a namespace that plays Dom0 by the real vif hook
# (packaging/vif-xenlet) as libxl runs it.  Checks, with real sends: a pod
# has the address the runtime gave it and answers HTTP and TCP echo at it
# from the bridge side; two pods reach each other (the sim's own clients);
# a pod that sends from another IP or MAC is dropped by the hook's rules
# (the receiver sees nothing, the drop counter counts); a daemon restart
# keeps netns, vif and servers of running pods, addresses are reused and
# not handed out twice, a full range makes a pod wait until a delete frees
# an address; after delete nothing is left (netns, vif, rules,
# address record, process); a hook failure fails the pod's domain with the
# hook's reason and leaves nothing.  No cluster needed; needs root.
# Prints "sim-net: N passed, N failed, N skipped".
set -u
B=$(cd "${1:-build}" && pwd)
SRC=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=test/lib/tap.sh
. "$SRC/test/lib/tap.sh"
# shellcheck source=test/integration/lib-simnet.sh
. "$SRC/test/integration/lib-simnet.sh"

if ! why=$(simnet_need); then
	skip "sim network" "$why"
	summary sim-net
	exit
fi
if ! simnet_up; then
	not_ok "the Dom0 namespace with bridge xenlet0 is made"
	summary sim-net
	exit 1
fi
if ! simnet_start; then
	not_ok "xenletd starts" "$(tail -n 20 "$TMP/xenletd.log")"
	summary sim-net
	exit 1
fi
grep -q "sim network: on: domains with a vif get network namespace $PFX-<domid>" "$TMP/xenletd.log"
check "xenletd says the sim network is on" $? "$(grep 'sim network' "$TMP/xenletd.log")"

running() { [ "$(_pod_field "$1" state)" = running ]; }
# logged NAME TEXT: the pod's console has a line with TEXT
logged() { xlpod logs "$1" 2>/dev/null | grep -qF -- "$2"; }
# drops NS VIF COMMENT: the packet counter of the hook's drop rule COMMENT
drops() {
	d0 nft list chain bridge xenlet "port-$1" 2>/dev/null | grep -F "comment \"$2\"" |
		sed -n 's/.*counter packets \([0-9]*\) .*/\1/p'
}

# --- a pod with an address that serves -----------------------------------------
simnet_image web "print web starting
http 8080 hello from web
echo 9000
ready"
xlpod create -p Always web "$TMP/images/web.sim" >/dev/null
wait_for 20 running web && wait_for 10 logged web "http :8080: listening" &&
	wait_for 10 logged web "echo :9000: listening"
check "pod web runs and its servers listen" $? "$(xlpod list 2>&1; xlpod logs web 2>&1)"
web_ns=$(pod_ns web) web_ip=$(pod_ip web) web_dom=$(pod_domid web)
web_uid=$(pod_uid web)
web_mac=$(python3 - <(python3 "$SRC/test/lib/store-paths.py" "$TMP/root/store.json" --dump) "/xenlet/net/pods/$web_uid/mac" <<'EOF'
import json, sys
print(next((n["value"] for n in json.load(open(sys.argv[1]))["nodes"] if n["path"] == sys.argv[2]), ""))
EOF
)
ip netns list | grep -q "^$web_ns\b"
check "the domain has its network namespace $web_ns" $? "$(ip netns list)"
got=$(ip -n "$web_ns" -4 -o addr show dev eth0 | awk '{print $4}')
check_eq "eth0 has the address the runtime recorded, with the range's prefix" "$got" "$web_ip/24"
check_eq "eth0 has the MAC the runtime recorded" "$(ip -n "$web_ns" link show eth0 | awk '/link\/ether/{print $2}')" "$web_mac"
check_eq "the default route goes to the gateway on the bridge" \
	"$(ip -n "$web_ns" route show default | awk '{print $3}')" "$GW"
check_eq "vif$web_dom.0 is a port of xenlet0" \
	"$(basename "$(d0 readlink "/sys/class/net/vif$web_dom.0/master")")" xenlet0
check_eq "eth0 has the bridge's MTU (the hook's frontend mtu)" \
	"$(ip -n "$web_ns" link show eth0 | sed -n 's/.* mtu \([0-9]*\) .*/\1/p')" 1450
d0 nft list chain bridge xenlet "port-vif$web_dom.0" 2>/dev/null | grep -q "ip saddr $web_ip accept"
check "the hook installed the vif's chain for the pod's address" $? "$(d0 nft list ruleset 2>&1 | head -30)"
out=$(d0 curl -sS -m 5 "http://$web_ip:8080/" 2>&1)
check_eq "HTTP GET at the pod IP from the bridge side answers the pod's text" "$out" "hello from web"
out=$(d0 curl -sS -m 5 -o /dev/null -w '%{http_code}' -X POST "http://$web_ip:8080/" 2>&1)
check_eq "a POST gets 405" "$out" 405
out=$(echo "echo me" | d0 busybox nc -w 3 "$web_ip" 9000 2>&1)
check_eq "the TCP echo server answers at the pod IP" "$out" "echo me"
out=$(d0 curl -sS -m 3 "http://$web_ip:8081/" 2>&1)
check_eq "a port the pod does not serve is refused (curl exit 7, at once)" "$?" 7

# --- a second pod reaches the first --------------------------------------------
simnet_image client "print client starting
http-get $web_ip 8080 /
connect $web_ip 9000 ping from client
connect $web_ip 9999 nobody
resolve localhost
print client done
ready"
xlpod create -p Always client "$TMP/images/client.sim" >/dev/null
wait_for 20 logged client "client done"
check "pod client runs its network steps in order" $? "$(xlpod logs client 2>&1)"
client_ns=$(pod_ns client) client_ip=$(pod_ip client) client_dom=$(pod_domid client)
check "the two pods have different addresses" "$([ -n "$client_ip" ] && [ "$client_ip" != "$web_ip" ]; echo $?)" "web $web_ip, client $client_ip"
logged client "http-get $web_ip 8080 /: 200 hello from web"
check "the client's http-get reaches web across the bridge" $? "$(xlpod logs client 2>&1)"
logged client "connect $web_ip 9000: reply: ping from client"
check "the client's connect reaches web's echo server" $? "$(xlpod logs client 2>&1)"
logged client "connect $web_ip 9999: error: Connection refused"
check "a connect to a closed port prints the error and the script goes on" $? "$(xlpod logs client 2>&1)"
xlpod logs client 2>/dev/null | grep -qE '^resolve localhost:.* (127\.0\.0\.1|::1)'
check "resolve prints the addresses of a name (from the guest's namespace)" $? "$(xlpod logs client 2>&1)"
ip netns exec "$web_ns" busybox ping -c 1 -W 2 "$client_ip" >/dev/null 2>&1
check "web pings client (pod to pod, the other way)" $?

# --- anti-spoofing with real sends ---------------------------------------------
# web counts what reaches it from the spoofed address
ip netns exec "$web_ns" nft -f - <<EOF
table inet xnsntest {
	chain input {
		type filter hook input priority 0; policy accept;
		ip saddr 10.250.0.250 counter comment "from spoofed"
		ip saddr $client_ip counter comment "from client"
	}
}
EOF
seen() {
	ip netns exec "$web_ns" nft list chain inet xnsntest input | grep -F "comment \"$1\"" |
		sed -n 's/.*counter packets \([0-9]*\) .*/\1/p'
}
ip -n "$client_ns" addr add 10.250.0.250/24 dev eth0
ip -n "$client_ns" neigh replace "$web_ip" lladdr "$web_mac" dev eth0 nud permanent
before=$(drops "vif$client_dom.0" "IPv4 source is not the guest's")
ip netns exec "$client_ns" busybox ping -c 2 -W 1 -I 10.250.0.250 "$web_ip" >/dev/null 2>&1
check "a ping from an address the pod was not given gets no answer" "$([ $? -ne 0 ]; echo $?)"
check_eq "web receives nothing from the spoofed address" "$(seen 'from spoofed')" 0
after=$(drops "vif$client_dom.0" "IPv4 source is not the guest's")
[ "$after" -ge $((before + 2)) ]
check "the hook's IPv4 source rule dropped them" $? "before $before, after $after"
ip -n "$client_ns" addr del 10.250.0.250/24 dev eth0

client_mac=$(ip -n "$client_ns" link show eth0 | awk '/link\/ether/{print $2}')
seen_before=$(seen 'from client')
before=$(drops "vif$client_dom.0" "source MAC is not the guest's")
ip -n "$client_ns" link set eth0 address 00:16:3e:de:ad:01
ip -n "$client_ns" neigh replace "$web_ip" lladdr "$web_mac" dev eth0 nud permanent
ip netns exec "$client_ns" busybox ping -c 2 -W 1 "$web_ip" >/dev/null 2>&1
check "a ping from a changed MAC gets no answer" "$([ $? -ne 0 ]; echo $?)"
check_eq "web receives nothing from the changed MAC" "$(seen 'from client')" "$seen_before"
after=$(drops "vif$client_dom.0" "source MAC is not the guest's")
[ "$after" -ge $((before + 2)) ]
check "the hook's MAC rule dropped them" $? "before $before, after $after"
ip -n "$client_ns" link set eth0 address "$client_mac"
ip netns exec "$client_ns" busybox ping -c 1 -W 2 "$web_ip" >/dev/null 2>&1
check "with its own MAC and address back the pod reaches web again (control)" $?

# --- a daemon restart keeps what runs ------------------------------------------
web_pids=$(python3 -c '
import json, sys
for d in json.load(open(sys.argv[1]))["domains"]:
    for p in d.get("net", {}).get("procs", []):
        print(p["pid"])' "$TMP/root/sim/domains.json")
check "the state file records the pods' server processes" "$([ "$(echo "$web_pids" | wc -w)" -eq 2 ]; echo $?)" "$web_pids"
simnet_stop
ip netns list | grep -q "^$web_ns\b" && d0 ip link show "vif$web_dom.0" >/dev/null 2>&1
check "with xenletd stopped the pod's netns and vif stay" $?
out=$(d0 curl -sS -m 5 "http://$web_ip:8080/" 2>&1)
check_eq "and the pod still answers (its domain runs)" "$out" "hello from web"
simnet_start
check "xenletd starts again" $? "$(tail -n 5 "$TMP/xenletd.log")"
wait_for 10 running web
check_eq "web is adopted with its domid" "$(pod_domid web)" "$web_dom"
check_eq "web keeps its address" "$(pod_ip web)" "$web_ip"
out=$(d0 curl -sS -m 5 "http://$web_ip:8080/" 2>&1)
check_eq "web answers HTTP after the restart" "$out" "hello from web"
xlpod create -p Always third "$TMP/images/web.sim" >/dev/null
wait_for 20 running third && wait_for 10 logged third "http :8080: listening"
third_ip=$(pod_ip third)
check "a pod created after the restart gets an address nobody has" \
	"$([ -n "$third_ip" ] && [ "$third_ip" != "$web_ip" ] && [ "$third_ip" != "$client_ip" ]; echo $?)" \
	"third '$third_ip', web $web_ip, client $client_ip"
out=$(d0 curl -sS -m 5 "http://$third_ip:8080/" 2>&1)
check_eq "and answers at it" "$out" "hello from web"

# --- delete: nothing left ------------------------------------------------------
all_pids=$(python3 -c '
import json, sys
for d in json.load(open(sys.argv[1]))["domains"]:
    for p in d.get("net", {}).get("procs", []):
        print(p["pid"])' "$TMP/root/sim/domains.json")
for p in web client third; do
	xlpod destroy "$p" >/dev/null 2>&1
done
wait_for 20 sh -c "[ -z \"\$(\"$B/xl-pod\" -s \"$TMP/ctl.sock\" list | sed 1d)\" ]"
check "the pods are deleted" $? "$(xlpod list 2>&1)"
left=$(simnet_leftovers)
check_eq "no netns, vif, nft table or backend directory is left" "$left" ""
left=""
for p in $all_pids; do
	# a zombie is dead: reaping an adopted process is init's job
	st=$(sed 's/.*) \(.\).*/\1/' "/proc/$p/stat" 2>/dev/null)
	[ -n "$st" ] && [ "$st" != Z ] && left="$left $p($st)"
done
check_eq "no server process is left (the 4 the pods started)" "$left" ""
check "the state file had them" "$([ "$(echo "$all_pids" | wc -w)" -eq 4 ]; echo $?)" "$all_pids"
check_eq "no address record is left in the store" "$(store_paths /xenlet/net/pods/)" ""
check_eq "Dom0 keeps only its own addresses" "$(d0 ip -4 -o addr show | awk '{print $4}' | sort | tr '\n' ' ')" "$GW/24 127.0.0.1/8 "

# --- exhaustion and release with real domains: a /30 has one pod address ---
simnet_stop
PODCIDR=10.250.0.0/30
simnet_start
check "xenletd starts with a /30 pod range" $? "$(tail -n 5 "$TMP/xenletd.log")"
xlpod create -p Always one "$TMP/images/web.sim" >/dev/null
wait_for 20 running one && wait_for 10 logged one "http :8080: listening"
check_eq "the only pod address goes to the first pod" "$(pod_ip one)" 10.250.0.2
xlpod create -p Always two "$TMP/images/web.sim" >/dev/null
wait_for 20 sh -c "\"$B/xl-pod\" -s \"$TMP/ctl.sock\" list -l | grep -q 'no free address'"
msg=$(_pod_field two message)
check_eq "the second waits: the range is full" "$msg" "pod network 10.250.0.0/30: no free address (all 1 in use)"
check_eq "and has no netns" "$(ip netns list | grep -c "^$PFX-")" 1
xlpod destroy one >/dev/null 2>&1
wait_for 30 running two && wait_for 10 logged two "http :8080: listening"
check "once the first is deleted the second gets the address and runs" $? "$(xlpod list -l 2>&1 | grep -E 'name|state|message')"
check_eq "the released address" "$(pod_ip two)" 10.250.0.2
out=$(d0 curl -sS -m 5 "http://10.250.0.2:8080/" 2>&1)
check_eq "and the second answers at it" "$out" "hello from web"
xlpod destroy two >/dev/null 2>&1
wait_for 20 sh -c "[ -z \"\$(\"$B/xl-pod\" -s \"$TMP/ctl.sock\" list | sed 1d)\" ]"
check_eq "nothing is left" "$(simnet_leftovers)" ""

# --- a failing hook fails the domain with its reason, leaves nothing ----------
ip -n "$D0" link set xenlet0 down
ip -n "$D0" link del xenlet0
xlpod create -p Never broken "$TMP/images/web.sim" >/dev/null
wait_for 20 grep -q "bridge xenlet0 does not exist" "$TMP/xenletd.log"
check "the hook's reason reaches the pod ('bridge xenlet0 does not exist')" $? \
	"$(xlpod list -l 2>&1 | grep -E 'message|state'; tail -n 5 "$TMP/xenletd.log")"
msg=$(_pod_field broken message)
echo "$msg" | grep -q "vif vif[0-9]*\.0: hotplug script .*vif-xenlet: bridge xenlet0 does not exist"
check "the pod's status message names the vif, the hook and the reason" $? "$msg"
xlpod destroy broken >/dev/null 2>&1
wait_for 20 sh -c "[ -z \"\$(\"$B/xl-pod\" -s \"$TMP/ctl.sock\" list | sed 1d)\" ]"
check "the failing pod is deleted" $? "$(xlpod list 2>&1)"
check_eq "failed plugs leave nothing" "$(simnet_leftovers)" ""

summary sim-net
