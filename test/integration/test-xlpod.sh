#!/bin/bash
# test-xlpod.sh BUILD_DIR - xl-pod against a real xenletd on the sim backend:
# create, list, logs, console, pause, destroy (also of a guest that ignores
# shutdown: the grace period is enforced and list answers meanwhile), dry
# run, a bad kernel, usage errors, a daemon restart that adopts a
# running pod with the same domid, and a daemon killed with SIGKILL right
# after it created pods, which finds them all again.
# Prints "N passed, N failed, N skipped"; exits 1 if anything failed.
set -u
B=$(cd "${1:-build}" && pwd)
SRC=$(cd "$(dirname "$0")/../.." && pwd)
FIX=$SRC/test/fixtures/sim
TMP=$(mktemp -d /tmp/test-xlpod.XXXXXX)
SOCK=$TMP/ctl.sock
XLPOD=("$B/xl-pod" -s "$SOCK")
# shellcheck source=test/lib/tap.sh
. "$SRC/test/lib/tap.sh"
# shellcheck source=test/integration/lib-xenletd.sh
. "$SRC/test/integration/lib-xenletd.sh"

cleanup() {
	xn_it_stop_xenletd
	rm -rf "$TMP"
}
trap cleanup EXIT

xlpod() { "${XLPOD[@]}" "$@"; }
start_daemon() {
	XN_BACKOFF_BASE_MS=500 "$B/xenletd" --backend=sim -d --root-dir="$TMP/root" \
		--pod-log-dir="$TMP/logs" --ctl-socket="$SOCK" --image-root="$FIX" \
		--image-root="$TMP/images" >>"$TMP/xenletd.log" 2>&1 &
	DPID=$!
	wait_for 10 xlpod version
}
pod_field() { # pod_field NS/NAME FIELD: one field of `list -l` (python3 reads the JSON)
	xlpod list -l | python3 -c '
import json, sys
ns, name = sys.argv[1].split("/")
for p in json.load(sys.stdin):
    if p["namespace"] == ns and p["name"] == name:
        print(p.get(sys.argv[2], "")); break
else:
    sys.exit(1)' "$1" "$2"
}
logs_have() { # logs_have TEXT LOGS-ARGS...
	local text=$1
	shift
	xlpod logs "$@" 2>/dev/null | grep -qF "$text"
}
listed() { xlpod list | grep -q "^$1 "; }
ctl_raw() { # ctl_raw JSON: one request on the control socket, the answer line
	python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode() + b"\n")
print(s.makefile().readline().strip())' "$SOCK" "$1"
}
not_listed() { ! listed "$1"; }
sim_domain_state() { # sim_domain_state DOMID: its state in the sim's domain table, or "gone"
	python3 -c '
import json, sys
t = json.load(open(sys.argv[1]))
print(([d["state"] for d in t["domains"] if d["domid"] == int(sys.argv[2])] or ["gone"])[0])' \
		"$TMP/root/sim/domains.json" "$1" 2>&1
}

for f in "$B/xenletd" "$B/xl-pod"; do
	if [ ! -x "$f" ]; then
		skip "xl-pod checks" "$f not built"
		summary xl-pod
		exit
	fi
done
if ! command -v python3 >/dev/null; then
	skip "xl-pod checks" "python3 is needed to read list -l"
	summary xl-pod
	exit
fi

if ! start_daemon; then
	not_ok "xenletd starts on the sim backend" "$(tail -20 "$TMP/xenletd.log")"
	summary xl-pod
	exit
fi
ok "xenletd starts and answers version"

# --- command-line handling, no daemon state involved
out=$(xlpod l 2>&1)
rc=$?
check "an ambiguous prefix exits 2 and names the candidates" \
	$([ $rc -eq 2 ] && grep -q "ambiguous command: l, could be: list, logs" <<<"$out"; echo $?) "$out"
out=$(xlpod dest 2>&1)
rc=$?
check "a usage error exits 2 with the usage line" \
	$([ $rc -eq 2 ] && grep -q "^usage: xl-pod destroy" <<<"$out"; echo $?) "$out"
out=$(xlpod -N list 2>&1)
rc=$?
check "-N is refused by commands that cannot dry-run" $([ $rc -eq 2 ]; echo $?) "$out"

# --- dry run creates nothing
out=$(xlpod -N create dry "$FIX/xlpod-hello.sim" 2>&1)
rc=$?
check "-N create prints the domain" \
	$([ $rc -eq 0 ] && grep -qF "$FIX/xlpod-hello.sim" <<<"$out"; echo $?) "$out"
check "-N create creates nothing" $(not_listed default/dry; echo $?) "$(xlpod list 2>&1)"

# --- bad kernel: one clear line, exit 1, nothing created
out=$(xlpod create bad "$TMP/no-such-kernel" 2>&1)
rc=$?
check "a missing kernel exits 1 with one line naming it" \
	$([ $rc -eq 1 ] && [ "$(wc -l <<<"$out")" -eq 1 ] &&
		grep -qF "xl-pod: create: kernel $TMP/no-such-kernel: No such file or directory" <<<"$out"
	echo $?) "$out"
check "a bad kernel creates nothing" $(not_listed default/bad; echo $?)

# --- a local pod is refused as the same pod from the API server is: the
# translation's message (test_ctl compares the two paths one by one)
out=$(xlpod create -m 1 tiny "$FIX/xlpod-hello.sim" 2>&1)
rc=$?
check "1 MiB of memory is refused with the API path's message" \
	$([ $rc -eq 1 ] &&
		[ "$out" = "xl-pod: create: memory 1048576 bytes: a Xen domain needs at least 4Mi" ]
	echo $?) "$out"
out=$(xlpod create -t hvm tiny "$FIX/xlpod-hello.sim" 2>&1)
rc=$?
check "an unknown guest type is refused as the annotation is" \
	$([ $rc -eq 1 ] &&
		[ "$out" = 'xl-pod: create: annotation xenlet.io/guest-type "hvm": must be pv or pvh' ]
	echo $?) "$out"
check "a refused pod creates nothing" $(not_listed default/tiny; echo $?)

# --- the guest type from the kernel's Xen ELF notes (issue 11): refused
# before anything is built, on the sim backend as on libxl; without -t the
# kernel chooses (the test unikernels, `make guests`)
mkdir -p "$TMP/images"
if [ -f "$B/guests/xn-test-pvh" ] && [ -f "$B/guests/xn-test-pv" ]; then
	cp "$B/guests/xn-test-pvh" "$TMP/images/solo5.pvh"
	cp "$B/guests/xn-test-pv" "$TMP/images/minios.pv"
	out=$(xlpod create -t pv solo5 "$TMP/images/solo5.pvh" 2>&1)
	rc=$?
	check "a PVH-only kernel asked to run as PV is refused with its types" \
		$([ $rc -eq 1 ] && [ "$out" = "xl-pod: create: kernel \"$TMP/images/solo5.pvh\": PVH-only kernel asked to run as PV (the kernel's Xen ELF notes allow: pvh)" ]
		echo $?) "$out"
	check "the refused kernel creates nothing" $(not_listed default/solo5; echo $?)
	out=$(xlpod create -t pvh minios "$TMP/images/minios.pv" 2>&1)
	rc=$?
	check "a PV-only kernel asked to run as PVH is refused" \
		$([ $rc -eq 1 ] && grep -qF "PV-only kernel asked to run as PVH (the kernel's Xen ELF notes allow: pv)" <<<"$out"
		echo $?) "$out"
	out=$(xlpod -N create minios "$TMP/images/minios.pv" 2>&1)
	check "without -t a PV-only kernel is built as PV" \
		$(grep -qE '"type":[[:space:]]*"pv"' <<<"$out"; echo $?) "$out"
	out=$(xlpod -N create solo5 "$TMP/images/solo5.pvh" 2>&1)
	check "without -t a PVH kernel is built as PVH" \
		$(grep -qE '"type":[[:space:]]*"pvh"' <<<"$out"; echo $?) "$out"
else
	skip "guest types from Xen ELF notes" "no test unikernels in $B/guests (make guests)"
fi

# --- images only from the image roots (issue 9, finding 2): a file outside
# gets the same answer whether it exists or not, and nothing of its content
roots_msg="not a regular file under the node's image roots ($FIX, $TMP/images)"
printf 'TOPSECRET-0123456789\n' >"$TMP/secret.txt"
out=$(xlpod create steal "$TMP/secret.txt" 2>&1)
rc=$?
check "a kernel outside the image roots is refused: one line, exit 1, nothing created" \
	$([ $rc -eq 1 ] && [ "$out" = "xl-pod: create: image \"$TMP/secret.txt\": $roots_msg" ] &&
		not_listed default/steal; echo $?) "$out"
# the daemon's answers (xl-pod itself resolves the path it is given)
a1=$(ctl_raw '{"op":"create","name":"steal","kernel":"'"$TMP"'/secret.txt"}')
a2=$(ctl_raw '{"op":"create","name":"steal","kernel":"'"$TMP"'/no-such.txt"}')
a3=$(ctl_raw '{"op":"create","name":"steal","kernel":"'"$FIX"'/../../../../etc/passwd"}')
check "  ... the same answer for a file that does not exist" \
	$([ "${a2/no-such.txt/secret.txt}" = "$a1" ] && grep -qF "$roots_msg" <<<"$a1" &&
		! grep -q TOPSECRET <<<"$a1"; echo $?) "$a1 / $a2"
check "  ... and for a path out of a root through .." \
	$(grep -qF "image \\\"$FIX/../../../../etc/passwd\\\": $roots_msg" <<<"$a3"; echo $?) "$a3"
out=$(xlpod create -r "$TMP/secret.txt" steal "$FIX/xlpod-hello.sim" 2>&1)
check "a ramdisk outside the image roots is refused likewise" \
	$([ "$out" = "xl-pod: create: annotation xenlet.io/ramdisk \"$TMP/secret.txt\": $roots_msg" ] &&
		not_listed default/steal; echo $?) "$out"
mkdir -p "$TMP/images"
ln -s "$TMP/secret.txt" "$TMP/images/link.sim"
out=$(ctl_raw '{"op":"create","name":"steal","kernel":"'"$TMP"'/images/link.sim"}')
check "a symlink in a root that leads out of it is refused likewise" \
	$(grep -qF "image \\\"$TMP/images/link.sim\\\": $roots_msg" <<<"$out" &&
		not_listed default/steal; echo $?) "$out"
# checked at every domain build, not only at create: a restart after the
# image was swapped for a symlink out of the roots loads nothing of it
printf 'print swap-run\nexit 1\n' >"$TMP/images/swap.sim"
xlpod create -p Always swap "$TMP/images/swap.sim" >/dev/null 2>&1
wait_for 10 logs_have swap-run swap
ln -sf "$TMP/secret.txt" "$TMP/images/swap.sim.new" && mv -T "$TMP/images/swap.sim.new" "$TMP/images/swap.sim"
swap_refused() { pod_field default/swap message | grep -qF 'image roots'; }
wait_for 15 swap_refused
msg=$(pod_field default/swap message)
check "an image swapped for a symlink out of the roots is refused at the restart" \
	$(grep -qF "kernel \"$TMP/images/swap.sim\": $roots_msg" <<<"$msg" &&
		! grep -q TOPSECRET <<<"$msg" "$TMP/xenletd.log"; echo $?) "$msg"
xlpod destroy -g 0 swap >/dev/null 2>&1

# --- names become file names: checked as Kubernetes does (issue 9, finding 7)
out=$(ctl_raw '{"op":"create","name":"esc","kernel":"'"$FIX"'/xlpod-hello.sim","container":"../../escaped"}')
sleep 1
check "a container name that is not a DNS label is refused, nothing written outside the log root" \
	$(grep -q '"ok":false' <<<"$out" && grep -qF 'must be a DNS label' <<<"$out" &&
		[ ! -e "$TMP/escaped" ] && not_listed default/esc; echo $?) "$out; $(ls "$TMP")"
out=$(ctl_raw '{"op":"create","name":"esc","kernel":"'"$FIX"'/xlpod-hello.sim","container":"Main_1"}')
check "  ... likewise one with capitals and '_'" \
	$(grep -q '"ok":false' <<<"$out" && not_listed default/esc; echo $?) "$out"

# --- create, list, logs, destroy
out=$(cd "$FIX" && xlpod create -c 1 -m 32 hello xlpod-hello.sim one two 2>&1)
check "create prints the uid (relative kernel path accepted)" \
	$(grep -qE '^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$' <<<"$out"; echo $?) "$out"
check "list shows the pod" $(listed default/hello; echo $?) "$(xlpod list 2>&1)"
check "the pod has 32 MiB" $([ "$(pod_field default/hello memoryKiB)" = 32768 ]; echo $?) \
	"$(xlpod list -l 2>&1)"
wait_for 10 logs_have done hello
out=$(xlpod logs hello 2>&1)
check "logs shows the guest's lines without the CRI prefix" \
	$(grep -qx "hello from xlpod-hello" <<<"$out" && grep -qx "done" <<<"$out"; echo $?) "$out"
check "logs shows the command line" $(grep -qF "one two" <<<"$out"; echo $?) "$out"
out=$(xlpod logs --timestamps --tail 1 hello 2>&1)
check "logs --timestamps --tail 1 prints one stamped line" \
	$([ "$(wc -l <<<"$out")" -eq 1 ] && grep -qE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z done$' <<<"$out"
	echo $?) "$out"
out=$(xlpod destroy hello 2>&1)
rc=$?
check "destroy succeeds" $([ $rc -eq 0 ]; echo $?) "$out"
check "destroy removes the pod" $(not_listed default/hello; echo $?) "$(xlpod list 2>&1)"
out=$(xlpod destroy hello 2>&1)
rc=$?
check "destroying a pod that is not there is one clear line, exit 1" \
	$([ $rc -eq 1 ] && [ "$out" = "xl-pod: destroy: pod default/hello: not on this node" ]; echo $?) "$out"

# --- console (stdin not a terminal: copies the output)
xlpod create -n test server "$FIX/xlpod-server.sim" >/dev/null 2>&1
wait_for 10 logs_have tick -n test server
out=$(timeout 3 "${XLPOD[@]}" console -n test server </dev/null 2>&1)
if grep -q "tick" <<<"$out"; then
	ok "console copies the guest's output"
else
	not_ok "console copies the guest's output" "$out"
fi

# --- pause: the pod lists as paused (its domain is paused), unpause resumes
domid=$(pod_field test/server domid)
out=$(xlpod pause -n test server 2>&1)
rc=$?
check "pause succeeds" $([ $rc -eq 0 ]; echo $?) "$out"
check "a paused pod lists as paused" $([ "$(pod_field test/server state)" = paused ]; echo $?) \
	"$(xlpod list 2>&1)"
check "its domain is paused in the sim" $([ "$(sim_domain_state "$domid")" = paused ]; echo $?) \
	"$(sim_domain_state "$domid")"
out=$(xlpod unpause -n test server 2>&1)
rc=$?
check "unpause: the pod runs again" \
	$([ $rc -eq 0 ] && [ "$(pod_field test/server state)" = running ] &&
		[ "$(sim_domain_state "$domid")" = running ]; echo $?) "$out $(xlpod list 2>&1)"

# --- a guest that ignores shutdown: destroyed at the end of its grace period,
# the daemon answers meanwhile, the pod goes only with its domain
xlpod create stub "$FIX/stubborn.sim" >/dev/null 2>&1
wait_for 10 logs_have "I will not stop" stub
sdomid=$(pod_field default/stub domid)
"${XLPOD[@]}" destroy -g 3 stub >"$TMP/destroy.out" 2>&1 &
destroy_pid=$!
sleep 0.5
out=$(timeout 1 "${XLPOD[@]}" list 2>&1)
rc=$?
check "list answers within 1 s while the grace period runs" $([ $rc -eq 0 ]; echo $?) "$out"
check "the pod lists as stopping during its grace period" \
	$(grep -qE "^default/stub +[0-9]+ stopping" <<<"$out"; echo $?) "$out"
sleep 1.5
out=$(timeout 1 "${XLPOD[@]}" list 2>&1)
rc=$?
check "list answers within 1 s late in the grace period; the guest still runs" \
	$([ $rc -eq 0 ] && grep -q "^default/stub " <<<"$out" &&
		[ "$(sim_domain_state "$sdomid")" = running ]; echo $?) "$out"
wait "$destroy_pid"
rc=$?
check "destroy -g 3 of a guest that ignores shutdown succeeds" $([ $rc -eq 0 ]; echo $?) \
	"$(cat "$TMP/destroy.out")"
check "afterwards its domain is gone and the pod is not listed" \
	$([ -n "$sdomid" ] && [ "$(sim_domain_state "$sdomid")" = gone ] && not_listed default/stub
	echo $?) "domid=$sdomid $(sim_domain_state "$sdomid") $(xlpod list 2>&1)"

# --- a daemon restart adopts the running pod, same domid
domid=$(pod_field test/server domid)
state=$(pod_field test/server state)
if [ -z "$domid" ] || [ "$state" != running ]; then
	not_ok "the server pod runs before the restart" "$(xlpod list 2>&1)"
else
	xn_it_stop_xenletd
	if ! start_daemon; then
		not_ok "xenletd starts again" "$(tail -20 "$TMP/xenletd.log")"
	else
		check "after a restart the pod is still running" \
			$([ "$(pod_field test/server state)" = running ]; echo $?) "$(xlpod list 2>&1)"
		check "after a restart the pod keeps domid $domid" \
			$([ "$(pod_field test/server domid)" = "$domid" ]; echo $?) "$(xlpod list 2>&1)"
		out=$(xlpod destroy -n test -g 0 server 2>&1)
		rc=$?
		check "the adopted pod can be destroyed" \
			$([ $rc -eq 0 ] && not_listed test/server; echo $?) "$out"
	fi
fi

# --- a daemon killed with SIGKILL right after creating pods finds them all:
# the records and the sim's domain table are written at the end of each loop
# turn, not with every change, and a kill between turns loses nothing
if [ -z "$DPID" ] && ! start_daemon; then
	not_ok "xenletd runs for the SIGKILL checks" "$(tail -20 "$TMP/xenletd.log")"
else
	n=8
	for i in $(seq 1 "$n"); do
		xlpod create -n kill "p$i" "$FIX/xlpod-server.sim" >/dev/null 2>&1 &
	done
	wait_running() { [ "$(xlpod list | grep -c '^kill/p.* running ')" -eq "$n" ]; }
	wait_for 20 wait_running
	check "$n pods created at once all run" $? "$(xlpod list 2>&1)"
	before=$(xlpod list -l | python3 -c '
import json, sys
print(" ".join(sorted("%s=%s" % (p["name"], p["domid"]) for p in json.load(sys.stdin)
                      if p["namespace"] == "kill")))')
	xn_it_stop_xenletd KILL
	if ! start_daemon; then
		not_ok "xenletd starts again after SIGKILL" "$(tail -20 "$TMP/xenletd.log")"
	else
		after=$(xlpod list -l | python3 -c '
import json, sys
print(" ".join(sorted("%s=%s" % (p["name"], p["domid"]) for p in json.load(sys.stdin)
                      if p["namespace"] == "kill" and p["state"] == "running")))')
		check_eq "after SIGKILL every pod runs on with its domid (adopted, not made again)" \
			"$after" "$([ "$(wc -w <<<"$before")" -eq "$n" ] && echo "$before")"
		# and right after create returns (domains being built): all come up
		for i in $(seq 1 "$n"); do xlpod create -n kill2 "q$i" "$FIX/xlpod-server.sim" >/dev/null 2>&1; done
		xn_it_stop_xenletd KILL
		start_daemon
		wait_running2() { [ "$(xlpod list | grep -c '^kill2/q.* running ')" -eq "$n" ]; }
		wait_for 20 wait_running2
		check "pods created just before a SIGKILL all run after the restart" $? \
			"$(xlpod list 2>&1)"
		logs_have tick -n kill p1
		check "the log of an adopted pod goes on" $? "$(xlpod logs -n kill p1 2>&1 | tail -3)"
	fi
fi

summary xl-pod
