#!/bin/bash
# test-vif-hook.sh BUILD_DIR - packaging/vif-xenlet, the vif hotplug script,
# run the way libxl runs it (vif=..., XENBUS_PATH=..., "online type_if=vif")
# with xenstore-read/-write shims on PATH (test/lib/xenstore-shim.sh) and a
# logger shim that records what would go to syslog.
#
# Three network namespaces made here: "d0" plays Dom0 (the bridge xnbr0
# with MTU 1450, the nftables table), "g7" the guest of vif7.0 and "p8" the
# guest of vif8.0; each vif is one end of a veth pair whose other end is
# eth0 in the guest's namespace.  Checks, with real sends: the guest reaches
# the bridge and the other port from its own IP (v4, v6, TCP); a wrong
# source IP (v4, v6), a wrong source MAC, an ARP with a wrong sender IP or
# MAC and a neighbour advertisement for another's address are dropped (the
# receiver counts nothing, the hook's drop counter counts them); online
# twice leaves one set of rules; bad or hostile values from xenstore, a
# missing bridge, a missing vif and a failure after wiring are refused with
# the reason in hotplug-error and leave nothing; offline removes everything
# and can be rerun.  No cluster needed; needs root.
# Prints "vif-hook: N passed, N failed, N skipped".
set -u
SRC=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=test/lib/tap.sh
. "$SRC/test/lib/tap.sh"
# XN_VIF_HOOK: another copy to test (an installed one, a mutant)
HOOK=${XN_VIF_HOOK:-$SRC/packaging/vif-xenlet}

if [ "$(id -u)" != 0 ]; then
	skip "vif hook" "needs root (network namespaces, nftables)"
	summary vif-hook
	exit
fi
for c in nft ip busybox python3 flock; do
	if ! command -v "$c" >/dev/null; then
		skip "vif hook" "$c not found (scripts/deps.sh installs it)"
		summary vif-hook
		exit
	fi
done

TMP=$(mktemp -d /tmp/test-vif-hook.XXXXXX)
D0=xnh-d0-$$ G7=xnh-g7-$$ P8=xnh-p8-$$
made_ns=""
pids=""
cleanup() {
	for p in $pids; do
		kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	for n in $made_ns; do
		ip netns del "$n"
	done
	rm -rf "$TMP"
}
trap cleanup EXIT

mkdir -p "$TMP/bin" "$TMP/xs"
for t in xenstore-read xenstore-write xenstore-rm; do
	ln -s "$SRC/test/lib/xenstore-shim.sh" "$TMP/bin/$t"
done
printf '#!/bin/sh\nprintf "%%s\\n" "$*" >>"%s"\n' "$TMP/syslog" >"$TMP/bin/logger"
chmod +x "$TMP/bin/logger"
export XN_XENSTORE_DIR=$TMP/xs
SHIMPATH=$TMP/bin:$PATH

xs_write() { PATH=$SHIMPATH xenstore-write "$@"; }
xs_read() { PATH=$SHIMPATH xenstore-read "$@" 2>/dev/null; }
xs_rm() { PATH=$SHIMPATH xenstore-rm "$@"; }

# hook VIF DOMID ACTION: run the hook in d0 as libxl would; its stderr in
# TMP/hook.err
hook() {
	ip netns exec "$D0" env PATH="$SHIMPATH" vif="$1" XENBUS_PATH="backend/vif/$2/0" \
		"$HOOK" "$3" type_if=vif 2>"$TMP/hook.err"
}

# backend DOMID BRIDGE IP MAC: the backend dir libxl would have written
backend() {
	xs_rm "backend/vif/$1/0"
	xs_write "backend/vif/$1/0/bridge" "$2" "backend/vif/$1/0/ip" "$3" \
		"backend/vif/$1/0/mac" "$4" "backend/vif/$1/0/frontend" "/local/domain/$1/device/vif/0"
}

d0() { ip netns exec "$D0" "$@"; }
g7() { ip netns exec "$G7" "$@"; }
p8() { ip netns exec "$P8" "$@"; }
master_of() { basename "$(d0 readlink "/sys/class/net/$1/master" 2>/dev/null)" 2>/dev/null; }
ruleset() { d0 nft -s list table bridge xenlet 2>&1; }
# drops VIF COMMENT: the packet counter of the hook's drop rule COMMENT
drops() {
	d0 nft list chain bridge xenlet "port-$1" 2>/dev/null | grep -F "comment \"$2\"" |
		sed -n 's/.*counter packets \([0-9]*\) .*/\1/p'
}
# seen COMMENT: packets the test's own counter COMMENT in p8's input saw
seen() {
	p8 nft list chain inet xnhtest input | grep -F "comment \"$1\"" |
		sed -n 's/.*counter packets \([0-9]*\) .*/\1/p'
}
# send_frame NS HEX: one raw Ethernet frame out of NS's eth0
send_frame() {
	ip netns exec "$1" python3 -c '
import socket, sys
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("eth0", 0))
s.send(bytes.fromhex(sys.argv[1]))' "$2"
}
# arp_request SHA SPA TPA: an ARP who-has from g7 (Ethernet source always
# the guest's real MAC), addresses in hex
arp_request() {
	printf 'ffffffffffff%s08060001080006040001%s%s000000000000%s' "$G7MAC_HEX" "$1" "$2" "$3"
}

G7MAC=00:16:3e:00:07:00 P8MAC=00:16:3e:00:08:00
G7MAC_HEX=00163e000700

# --- the topology ----------------------------------------------------------
for n in "$D0" "$G7" "$P8"; do
	ip netns add "$n" || {
		not_ok "create network namespace $n"
		summary vif-hook
		exit 1
	}
	made_ns="$made_ns $n"
	ip -n "$n" link set lo up
done
set -e
ip -n "$D0" link add xnbr0 mtu 1450 type bridge
ip -n "$D0" addr add 10.99.0.1/24 dev xnbr0
ip -n "$D0" addr add fd99::1/64 dev xnbr0 nodad
ip -n "$D0" link set xnbr0 up
guest() { # guest NS VIF MAC IP4 IP6
	ip -n "$D0" link add "$2" type veth peer name eth0 netns "$1"
	ip -n "$1" link set eth0 address "$3" mtu 1450
	ip -n "$1" addr add "$4/24" dev eth0
	ip -n "$1" addr add "$5/64" dev eth0 nodad
	ip -n "$1" link set eth0 up
}
guest "$G7" vif7.0 $G7MAC 10.99.0.5 fd99::5
guest "$P8" vif8.0 $P8MAC 10.99.0.6 fd99::6
# vif9.0 for the refusals: both ends in d0, never wired
ip -n "$D0" link add vif9.0 type veth peer name vif9.0p
# p8 counts what reaches it, by source
p8 nft -f - <<'EOF'
table inet xnhtest {
	chain input {
		type filter hook input priority 0; policy accept;
		ip saddr 10.99.0.5 counter comment "from .5"
		ip saddr 10.99.0.66 counter comment "from .66"
		ip6 saddr fd99::5 counter comment "from ::5"
		ip6 saddr fd99::66 counter comment "from ::66"
	}
}
EOF
set +e

# --- online ------------------------------------------------------------------
backend 7 xnbr0 "10.99.0.5 fd99::5" $G7MAC
backend 8 xnbr0 "10.99.0.6 fd99::6" $P8MAC
hook vif7.0 7 online
check "online vif7.0 exits 0" $? "$(cat "$TMP/hook.err")"
hook vif8.0 8 online
check "online vif8.0 exits 0" $? "$(cat "$TMP/hook.err")"
check_eq "hotplug-status is connected" "$(xs_read backend/vif/7/0/hotplug-status)" connected
check_eq "no hotplug-error" "$(xs_read backend/vif/7/0/hotplug-error)" ""
check_eq "vif7.0 is a port of xnbr0" "$(master_of vif7.0)" xnbr0
check_eq "vif7.0 has the bridge's MTU" "$(d0 cat /sys/class/net/vif7.0/mtu)" 1450
d0 ip link show vif7.0 | grep -q '[<,]UP[,>]'
check "vif7.0 is up" $?
check_eq "the MTU is advertised in the guest's frontend dir" "$(xs_read /local/domain/7/device/vif/0/mtu)" 1450
d0 nft get element bridge xenlet ports '{ "vif7.0" }' >/dev/null 2>&1 &&
	d0 nft list chain bridge xenlet port-vif7.0 >/dev/null 2>&1
check "table bridge xenlet has the chain port-vif7.0 and its map element" $? "$(ruleset)"
grep -q 'vif-xenlet.*vif7.0 online: attached to xnbr0' "$TMP/syslog"
check "online is logged to syslog with the tag vif-xenlet" $? "$(cat "$TMP/syslog" 2>/dev/null)"

# --- the guest's own traffic passes ------------------------------------------
g7 busybox ping -c 1 -W 2 10.99.0.1 >/dev/null
check "the guest pings the bridge from its IPv4 address" $?
g7 busybox ping -c 1 -W 2 10.99.0.6 >/dev/null
check "the guest pings the other port from its IPv4 address" $?
g7 busybox ping -6 -c 1 -W 2 fd99::6 >/dev/null
check "the guest pings the other port from its IPv6 address" $?
ip netns exec "$P8" busybox nc -l -p 8080 -e echo hello-from-p8 &
pids="$pids $!"
wait_for 5 sh -c "ip netns exec $P8 ss -Hltn | grep -q ':8080 '"
out=$(g7 busybox nc -w 2 10.99.0.6 8080 2>&1)
check_eq "the guest connects to a TCP port behind the other port" "$out" hello-from-p8
[ "$(seen 'from .5')" -gt 0 ] && [ "$(seen 'from ::5')" -gt 0 ]
check "the receiver counts the guest's packets (the counters work)" $? "from .5: $(seen 'from .5'), from ::5: $(seen 'from ::5')"

# --- spoofing is dropped -----------------------------------------------------
# A second address in the guest; static neighbours so the IP packet itself
# goes out (no ARP/NDP first).
g7 ip addr add 10.99.0.66/24 dev eth0
g7 ip neigh replace 10.99.0.6 lladdr $P8MAC dev eth0 nud permanent
before=$(drops vif7.0 "IPv4 source is not the guest's")
g7 busybox ping -c 2 -W 1 -I 10.99.0.66 10.99.0.6 >/dev/null 2>&1
check "a ping from a wrong IPv4 source gets no answer" "$([ $? -ne 0 ]; echo $?)"
check_eq "the other port receives nothing from the wrong IPv4 source" "$(seen 'from .66')" 0
after=$(drops vif7.0 "IPv4 source is not the guest's")
[ "$after" -ge $((before + 2)) ]
check "the hook's IPv4 source rule dropped them" $? "before $before, after $after"
g7 ip addr del 10.99.0.66/24 dev eth0

g7 ip addr add fd99::66/64 dev eth0 nodad
g7 ip -6 neigh replace fd99::6 lladdr $P8MAC dev eth0 nud permanent
before=$(drops vif7.0 "IPv6 source is not the guest's")
g7 busybox ping -6 -c 2 -W 1 -I fd99::66 fd99::6 >/dev/null 2>&1
check "a ping from a wrong IPv6 source gets no answer" "$([ $? -ne 0 ]; echo $?)"
check_eq "the other port receives nothing from the wrong IPv6 source" "$(seen 'from ::66')" 0
after=$(drops vif7.0 "IPv6 source is not the guest's")
[ "$after" -ge $((before + 2)) ]
check "the hook's IPv6 source rule dropped them" $? "before $before, after $after"
g7 ip addr del fd99::66/64 dev eth0

before=$(drops vif7.0 "source MAC is not the guest's")
seen5=$(seen 'from .5')
g7 ip link set eth0 address 00:16:3e:00:07:99
# a MAC change flushes even permanent neighbours: put it back so the IPv4
# frame itself goes out with the wrong Ethernet source
g7 ip neigh replace 10.99.0.6 lladdr $P8MAC dev eth0 nud permanent
g7 busybox ping -c 2 -W 1 10.99.0.6 >/dev/null 2>&1
check "a ping from a wrong source MAC gets no answer" "$([ $? -ne 0 ]; echo $?)"
check_eq "the other port receives nothing from the wrong MAC" "$(seen 'from .5')" "$seen5"
after=$(drops vif7.0 "source MAC is not the guest's")
[ "$after" -ge $((before + 2)) ]
check "the hook's MAC rule dropped them" $? "before $before, after $after"
g7 ip link set eth0 address $G7MAC
g7 busybox ping -c 1 -W 2 10.99.0.6 >/dev/null
check "with its own MAC back the guest reaches the other port again" $?

# ARP with a sender IP that is not the guest's (a real arping from a
# second local address); arping from the guest's own address as control
g7 ip addr add 10.99.0.77/32 dev eth0
before=$(drops vif7.0 "ARP sender is not the guest's IP and MAC")
g7 busybox arping -c 2 -w 2 -I eth0 -s 10.99.0.77 10.99.0.6 >/dev/null 2>&1
check "an ARP request with a wrong sender IP gets no reply" "$([ $? -ne 0 ]; echo $?)"
check_eq "the other port learns no neighbour 10.99.0.77" "$(p8 ip neigh show 10.99.0.77)" ""
after=$(drops vif7.0 "ARP sender is not the guest's IP and MAC")
[ "$after" -ge $((before + 2)) ]
check "the hook's ARP rule dropped them" $? "before $before, after $after"
g7 ip addr del 10.99.0.77/32 dev eth0
g7 busybox arping -c 1 -w 2 -I eth0 -s 10.99.0.5 10.99.0.6 >/dev/null 2>&1
check "an ARP request with the guest's own sender IP gets a reply" $?

# ARP with the guest's Ethernet source but another sender MAC inside
p8 ip neigh flush dev eth0
before=$(drops vif7.0 "ARP sender is not the guest's IP and MAC")
send_frame "$G7" "$(arp_request 00163e000766 0a630005 0a630006)"
sleep 0.3
check_eq "an ARP with a wrong sender MAC teaches the other port nothing" "$(p8 ip neigh show 10.99.0.5)" ""
after=$(drops vif7.0 "ARP sender is not the guest's IP and MAC")
check_eq "the hook's ARP rule dropped it" "$after" $((before + 1))
send_frame "$G7" "$(arp_request $G7MAC_HEX 0a630005 0a630006)"
wait_for 2 sh -c "ip netns exec $P8 ip neigh show 10.99.0.5 | grep -q $G7MAC"
check "the same ARP with the guest's own MAC is learnt (control)" $? "$(p8 ip neigh show 10.99.0.5)"

# The guest claims p8's IPv6 address: it answers d0's neighbour
# solicitation for fd99::6 with an advertisement of its own
g7 ip addr add fd99::6/128 dev eth0 nodad
before=$(drops vif7.0 "NDP target is not the guest's")
d0 ip -6 neigh flush dev xnbr0
d0 busybox ping -6 -c 1 -W 2 fd99::6 >/dev/null 2>&1
after=$(drops vif7.0 "NDP target is not the guest's")
[ "$after" -gt "$before" ]
check "a neighbour advertisement for another's address is dropped" $? "before $before, after $after"
d0 ip -6 neigh show fd99::6 | grep -q $P8MAC
check "Dom0 resolves fd99::6 to its real owner" $? "$(d0 ip -6 neigh show fd99::6)"
g7 ip addr del fd99::6/128 dev eth0

# --- idempotent ----------------------------------------------------------------
first=$(ruleset)
hook vif7.0 7 online
check "online vif7.0 a second time exits 0" $? "$(cat "$TMP/hook.err")"
second=$(ruleset)
check_eq "online twice leaves one set of rules (nft -s list table unchanged)" "$second" "$first"
check_eq "vif7.0 is still a port of xnbr0" "$(master_of vif7.0)" xnbr0
g7 busybox ping -c 1 -W 2 10.99.0.6 >/dev/null
check "the guest still reaches the other port" $?

# --- refusals: bad values, missing bridge or vif, failure after wiring -------
# refused NAME VIF DOMID WANT: online fails, hotplug-error has WANT,
# hotplug-status is error, the ruleset is unchanged and VIF on no bridge
refused() {
	xs_rm "backend/vif/$3/0/hotplug-error" "backend/vif/$3/0/hotplug-status"
	hook "$2" "$3" online
	local rc=$? err
	err=$(xs_read "backend/vif/$3/0/hotplug-error")
	[ $rc -ne 0 ] && [ "$(xs_read "backend/vif/$3/0/hotplug-status")" = error ] &&
		[[ $err == *"$4"* ]]
	check "$1: refused with '$4' in hotplug-error" $? "exit $rc, hotplug-error '$err', stderr: $(cat "$TMP/hook.err")"
	check_eq "$1: the ruleset is unchanged" "$(ruleset)" "$first"
	check_eq "$1: $2 is on no bridge" "$(master_of "$2")" ""
}
# shellcheck disable=SC2016 # the $(...) must reach the hook unexpanded
for bad in '1.2.3.4; rm -rf /' '10.99.0.9 } ; add rule bridge xenlet prerouting accept' \
	"\$(touch $TMP/pwned)" '`touch '"$TMP"'/pwned`' '10.99.0.9/24' '10.99.0.256' '010.99.0.9' \
	'fd99::9::1' 'fd99::12345' 'fd99:::9' ':fd99::9' 'fd99::9:' '1:2:3:4:5:6:7:8:9' '1:2:3:4:5:6:7' \
	'fe80::1' 'ff02::1' '::1' '::' '127.0.0.1' '224.0.0.1' '0.0.0.0' '10.99.0.9.' \
	'10.99.0.9,10.99.0.10' '*' "10.99.0.9
10.99.0.10"; do
	backend 9 xnbr0 "$bad" 00:16:3e:00:09:00
	refused "ip '$bad'" vif9.0 9 "bad I"
done
[ ! -e "$TMP/pwned" ]
check "no value from xenstore was run as a command" $?
backend 9 xnbr0 "" 00:16:3e:00:09:00
refused "no ip" vif9.0 9 "no ip"
for bad in '00:16:3e:00:09:00 } drop' '01:00:5e:00:00:01' '00:16:3e:0:9:0' '00:00:00:00:00:00'; do
	backend 9 xnbr0 10.99.0.9 "$bad"
	refused "mac '$bad'" vif9.0 9 "bad MAC"
done
backend 9 'xnbr0; reboot' 10.99.0.9 00:16:3e:00:09:00
refused "bridge 'xnbr0; reboot'" vif9.0 9 "bad bridge name"
backend 9 nosuchbr 10.99.0.9 00:16:3e:00:09:00
refused "a missing bridge" vif9.0 9 "bridge nosuchbr does not exist"
backend 9 xnbr0 10.99.0.9 00:16:3e:00:09:00
ip -n "$D0" link set vif9.0 name vif9.9
refused "a missing vif" vif9.0 9 "interface vif9.0 does not exist"
ip -n "$D0" link set vif9.9 name vif9.0
backend 9 xnbr0 10.99.0.9 00:16:3e:00:09:00
xs_write backend/vif/9/0/frontend '/local/domain/9/device/vif/0;x'
refused "a bad frontend path" vif9.0 9 "bad frontend path"
# rules and port are in place when writing the MTU into the frontend dir
# fails (the shim cannot make a directory where a file is): the hook must
# undo both
backend 9 xnbr0 10.99.0.9 00:16:3e:00:09:00
mkdir -p "$XN_XENSTORE_DIR/local/domain/9/device/vif" && : >"$XN_XENSTORE_DIR/local/domain/9/device/vif/0"
refused "a failure after wiring" vif9.0 9 "cannot write /local/domain/9/device/vif/0/mtu"
rm -f "$XN_XENSTORE_DIR/local/domain/9/device/vif/0"
grep -q -- '-t vif-xenlet -p daemon.err -- vif9.0 online: bad IP' "$TMP/syslog"
check "refusals are logged to syslog as errors" $? "$(tail -n 3 "$TMP/syslog")"

# Accepted forms: /32 and /128, a repeated address, the uncompressed
# IPv6 form, an upper-case MAC
# (after the failures above: a success clears their hotplug-error)
backend 9 xnbr0 '10.99.0.9/32 10.99.0.9 FD99::9/128 fd99:0:0:0:0:0:0:9 fd99:0::a' 00:16:3E:00:09:00
xs_write backend/vif/9/0/hotplug-error "an earlier failure"
hook vif9.0 9 online
check "online with /32, /128, a repeated address, IPv6 long form and an upper-case MAC" $? "$(cat "$TMP/hook.err")"
check_eq "... clears an earlier hotplug-error" "$(xs_read backend/vif/9/0/hotplug-error)" ""
d0 nft list chain bridge xenlet port-vif9.0 | grep -q 'ip saddr 10.99.0.9 accept' &&
	d0 nft list chain bridge xenlet port-vif9.0 | grep -q 'ip6 saddr { fd99::9, fd99::a, fe80::216:3eff:fe00:900 } accept' &&
	d0 nft list chain bridge xenlet port-vif9.0 | grep -q 'ether saddr != 00:16:3e:00:09:00'
check "... each address once in the rules, the link-local address from the MAC" $? "$(d0 nft list chain bridge xenlet port-vif9.0)"
check_eq "... and vif9.0 is a port of xnbr0" "$(master_of vif9.0)" xnbr0
# online again with a bad value: the vif must not stay wired from before
xs_write backend/vif/9/0/mac 00:16:3e:00:09:00x
refused "a failing second online" vif9.0 9 "bad MAC"

# (a valid nft command line once pasted into '{ "$vif" }': the rest is a
# comment)
ip netns exec "$D0" env PATH="$SHIMPATH" vif='vif7.0" } ; add table inet pwned # ' \
	XENBUS_PATH=backend/vif/9/0 "$HOOK" online type_if=vif 2>"$TMP/hook.err"
check "a hostile vif name is refused" "$([ $? -ne 0 ]; echo $?)"
check_eq "... and never reaches nft" "$(d0 nft list tables)" "table bridge xenlet"
check_eq "... and the ruleset is unchanged" "$(ruleset)" "$first"

# --- offline -------------------------------------------------------------------
hook vif7.0 7 offline
check "offline vif7.0 exits 0" $? "$(cat "$TMP/hook.err")"
check_eq "vif7.0 is off the bridge" "$(master_of vif7.0)" ""
d0 nft list chain bridge xenlet port-vif7.0 >/dev/null 2>&1 ||
	d0 nft get element bridge xenlet ports '{ "vif7.0" }' >/dev/null 2>&1
check "vif7.0's chain and map element are gone" "$([ $? -ne 0 ]; echo $?)" "$(ruleset)"
d0 nft list chain bridge xenlet port-vif8.0 >/dev/null 2>&1
check "vif8.0's rules are untouched" $? "$(ruleset)"
hook vif7.0 7 offline
check "offline vif7.0 again exits 0" $? "$(cat "$TMP/hook.err")"
ip -n "$D0" link del vif8.0
hook vif8.0 8 offline
check "offline on a vif already gone exits 0" $? "$(cat "$TMP/hook.err")"
check_eq "with the last vif gone, no nftables table is left in Dom0" "$(d0 nft list tables)" ""
check_eq "no bridge port is left" "$(d0 ls /sys/class/net/xnbr0/brif)" ""

# --- concurrent runs --------------------------------------------------------
# libxl runs the scripts of several domains at once: eight onlines from an
# empty table, then four offlines beside four onlines, must leave exactly
# the vifs that are online, the base rule once, and at the end nothing.
for i in $(seq 20 31); do
	ip -n "$D0" link add "vif$i.0" type veth peer name "vif$i.0p"
	backend "$i" xnbr0 "10.99.1.$i" "00:16:3e:00:$i:00"
done
# together FIRST LAST ACTION: the hook for vifFIRST.0 .. vifLAST.0 at once
together() {
	local i ps=""
	for i in $(seq "$1" "$2"); do
		ip netns exec "$D0" env PATH="$SHIMPATH" vif="vif$i.0" XENBUS_PATH="backend/vif/$i/0" \
			"$HOOK" "$3" type_if=vif 2>>"$TMP/hook.err" &
		ps="$ps $!"
	done
	local rc=0 p
	for p in $ps; do
		wait "$p" || rc=1
	done
	return $rc
}
# vifs_in_map: the vif names in the map, sorted, one line
vifs_in_map() {
	d0 nft list map bridge xenlet ports 2>/dev/null | grep -o '"vif[0-9.]*"' | tr -d '"' | sort -V | xargs
}
: >"$TMP/hook.err"
together 20 27 online
check "eight onlines at once exit 0" $? "$(cat "$TMP/hook.err")"
check_eq "all eight are in the map" "$(vifs_in_map)" "$(seq 20 27 | sed 's/$/.0/; s/^/vif/' | xargs)"
check_eq "the base chain has its one rule" "$(d0 nft list chain bridge xenlet prerouting | grep -c vmap)" 1
together 20 23 offline &
off=$!
together 28 31 online
on=$?
wait $off
off=$?
[ $on -eq 0 ] && [ $off -eq 0 ]
check "four offlines beside four onlines exit 0" $? "$(cat "$TMP/hook.err")"
check_eq "exactly the online vifs are in the map" "$(vifs_in_map)" "$(seq 24 31 | sed 's/$/.0/; s/^/vif/' | xargs)"
n=0
for i in $(seq 24 31); do
	[ "$(master_of "vif$i.0")" = xnbr0 ] && d0 nft list chain bridge xenlet "port-vif$i.0" >/dev/null 2>&1 && n=$((n + 1))
done
check_eq "each online vif has its port and its chain" $n 8
together 24 31 offline
check "the last eight offlines at once exit 0" $? "$(cat "$TMP/hook.err")"
check_eq "then no nftables table is left" "$(d0 nft list tables)" ""
check_eq "and no bridge port" "$(d0 ls /sys/class/net/xnbr0/brif)" ""

summary vif-hook
