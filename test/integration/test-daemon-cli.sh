#!/bin/bash
# test-daemon-cli.sh BUILD_DIR - xenletd facing bad input, no cluster needed:
# bad flags and config files (exit 2, one line naming the problem, nothing
# created), `xenletd -n`, a second daemon on the same root dir, the libxl
# backend on a machine without Xen, garbage on the control socket, and a
# garbage pod spec file under root/pods.
# Prints "daemon-cli: N passed, N failed, N skipped"; exits 1 if anything failed.
set -u
B=$(cd "${1:-build}" && pwd)
SRC=$(cd "$(dirname "$0")/../.." && pwd)
CFG=$SRC/test/fixtures/config
SIMFIX=$SRC/test/fixtures/sim
TMP=$(mktemp -d /tmp/test-daemon-cli.XXXXXX)
PIDS=()
# shellcheck source=test/lib/tap.sh
. "$SRC/test/lib/tap.sh"
# shellcheck source=test/integration/lib-xenletd.sh
. "$SRC/test/integration/lib-xenletd.sh"
unset XN_SIM_STATE_DIR XN_STORE_MEM_FILE XN_SIM_FAIL_CREATE

cleanup() {
	for p in "${PIDS[@]}"; do
		xn_it_kill "$p"
	done
	rm -rf "$TMP"
}
trap cleanup EXIT

# ctl SOCKET LINE...: send each line on one connection, print one answer per line.
ctl() {
	python3 - "$@" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(5)
s.connect(sys.argv[1])
f = s.makefile("rb")
for line in sys.argv[2:]:
    if line.startswith("@big:"):
        line = "x" * int(line[5:])
    s.sendall(line.encode() + b"\n")
    ans = f.readline()
    if not ans:
        print("<closed>")
        sys.exit(1)
    print(ans.decode().rstrip("\n"))
EOF
}
version_ok() { ctl "$1" '{"op":"version"}' | grep -q '"ok":true'; }

for f in "$B/xenletd"; do
	if [ ! -x "$f" ]; then
		skip "daemon-cli checks" "$f not built"
		summary daemon-cli
		exit
	fi
done

# ---- bad flags and files: exit 2, one line on stderr, nothing created ----
# bad_input NAME WANT-TEXT ARGS...
bad_input() {
	local name=$1 want=$2
	shift 2
	local root=$TMP/bad-root sock=$TMP/bad.sock out err rc
	out=$(cd "$TMP" && "$B/xenletd" --root-dir="$root" --ctl-socket="$sock" "$@" \
		2>"$TMP/err")
	rc=$?
	err=$(cat "$TMP/err")
	if [ "$rc" -ne 2 ]; then
		not_ok "$name: exit 2" "exit $rc; stderr: $err"
	elif [ "$(printf '%s\n' "$err" | wc -l)" -ne 1 ] || [ -n "$out" ]; then
		not_ok "$name: one line on stderr, nothing on stdout" "stdout: $out
stderr: $err"
	elif [[ $err != "xenletd: "* ]] || ! grep -qF -- "$want" <<<"$err"; then
		not_ok "$name: message names the problem ($want)" "$err"
	elif [ -e "$root" ] || [ -e "$sock" ] || [ -e "$TMP/rel" ]; then
		not_ok "$name: nothing created" "$(ls -la "$TMP")"
	else
		ok "$name: exit 2: $err"
	fi
}
bad_input "--port 0" "--port '0'" --port 0
bad_input "--port abc" "--port 'abc'" --port abc
bad_input "--port without value" "--port: needs a value" --port
bad_input "taint without effect" "missing :EFFECT" --register-with-taints=a=b
bad_input "unknown option" "unknown option '--frobnicate'" --frobnicate
bad_input "stray argument" "unexpected argument 'extra'" extra
bad_input "--backend=bogus" "backend 'bogus': must be libxl or sim" --backend=bogus
bad_input "uppercase node name" "node name 'Node1'" --node-name Node1
bad_input "relative root dir" "root dir 'rel': must be an absolute path" --root-dir=rel
bad_input "missing config file" "$TMP/none.yaml" --config "$TMP/none.yaml"
bad_input "config: unknown key" "bad-unknown-key.yaml: line 3: unknown key 'nodeNmae'" \
	--config "$CFG/bad-unknown-key.yaml"
bad_input "config: bad quantity" "line 4: systemReserved.memory" \
	--config "$CFG/bad-reserved-memory.yaml"
bad_input "config: bad YAML" "bad-syntax.yaml: line 3:" --config "$CFG/bad-syntax.yaml"
bad_input "config: list for a scalar" "line 2: nodeName: must be a single value" \
	--config "$CFG/bad-list-scalar.yaml"
bad_input "config: port out of range" "line 3: port: must be a number in 1..65535" \
	--config "$CFG/bad-port.yaml"
bad_input "config: a relative image root" "line 4: imageRoots: 'images': must be an absolute path" \
	--config "$CFG/bad-image-root.yaml"
bad_input "--image-root /" "--image-root '/': must not be /" --image-root /

# ---- xenletd -n: the effective settings, nothing created ----
out=$("$B/xenletd" -n --config "$CFG/full.yaml" --port 1234 --node-name flag-node \
	--root-dir "$TMP/n-root" --kubeconfig "$CFG/full.yaml" 2>"$TMP/err")
rc=$?
if [ "$rc" -eq 0 ] && grep -qx 'port: 1234' <<<"$out" && grep -qx 'nodeName: "flag-node"' <<<"$out" &&
	grep -qx 'maxPods: 42' <<<"$out" && grep -qx 'rootDir: "'"$TMP"'/n-root"' <<<"$out" &&
	[ ! -e "$TMP/n-root" ]; then
	ok "-n prints the effective settings (flags over file) and creates nothing"
else
	not_ok "-n prints the effective settings" "exit $rc; $out $(cat "$TMP/err")"
fi
# what -n prints is a config file that gives the same settings
printf '%s\n' "$out" >"$TMP/printed.yaml"
again=$("$B/xenletd" -n --config "$TMP/printed.yaml" 2>&1)
if [ "$(grep -v '^#' <<<"$again")" = "$(grep -v '^#' <<<"$out")" ]; then
	ok "-n output loads back as the same settings"
else
	not_ok "-n output loads back as the same settings" "$(diff <(echo "$out") <(echo "$again"))"
fi
out=$("$B/xenletd" -n --backend=sim --node-name n1 2>&1)
if grep -qx 'store: "mem"' <<<"$out" && grep -qx 'kubeconfig: null' <<<"$out" &&
	grep -A1 -x 'imageRoots:' <<<"$out" | grep -qx '  - "/var/lib/xenlet/images"'; then
	ok "-n shows derived defaults (store mem with sim, the default image root)"
else
	not_ok "-n shows derived defaults" "$out"
fi
if "$B/xenletd" --help | grep -q '^usage: xenletd' && "$B/xenletd" --version | grep -q '^xenletd '; then
	ok "--help and --version exit 0"
else
	not_ok "--help and --version exit 0"
fi

# ---- a running daemon; a garbage pod spec does not stop it ----
ROOT=$TMP/root
SOCK=$TMP/ctl.sock
mkdir -p "$ROOT/pods"
echo '{"uid": "garbage", not json' >"$ROOT/pods/garbage.json"
"$B/xenletd" -d --backend=sim --node-name cli-test --root-dir="$ROOT" \
	--pod-log-dir="$TMP/logs" --ctl-socket="$SOCK" --image-root="$SIMFIX" >"$TMP/a.log" 2>&1 &
PIDS+=($!)
if wait_for 10 version_ok "$SOCK"; then
	ok "daemon starts and serves despite a garbage spec file"
else
	not_ok "daemon starts and serves despite a garbage spec file" "$(cat "$TMP/a.log")"
fi
if grep -q "garbage.json" "$TMP/a.log"; then
	ok "the garbage spec file is named in a warning"
else
	not_ok "the garbage spec file is named in a warning" "$(cat "$TMP/a.log")"
fi
if ctl "$SOCK" '{"op":"list"}' | grep -q '"pods":\[\]'; then
	ok "list answers (no pod from the garbage file)"
else
	not_ok "list answers" "$(ctl "$SOCK" '{"op":"list"}' 2>&1)"
fi

# ---- a second daemon on the same root dir refuses ----
"$B/xenletd" -d --backend=sim --node-name cli-test --root-dir="$ROOT" \
	--pod-log-dir="$TMP/logs" --ctl-socket="$TMP/second.sock" >"$TMP/b.log" 2>&1 &
bpid=$!
PIDS+=($bpid)
if wait_for 10 bash -c "! kill -0 $bpid"; then
	wait "$bpid"
	rc=$?
	if [ "$rc" -ne 0 ] && grep -q "another xenletd runs with root dir $ROOT" "$TMP/b.log" &&
		[ ! -e "$TMP/second.sock" ] && version_ok "$SOCK"; then
		ok "a second daemon on the same root dir refuses to start (exit $rc)"
	else
		not_ok "a second daemon refuses to start" "exit $rc: $(cat "$TMP/b.log")"
	fi
else
	not_ok "a second daemon refuses to start" "still running: $(cat "$TMP/b.log")"
fi

# ---- the control socket: garbage in, errors out, still serving ----
if command -v python3 >/dev/null; then
	ans=$(ctl "$SOCK" 'garbage' '{"op":"frobnicate"}' '[1,2]' '@big:102400' \
		'{"op":"version"}' 2>&1)
	mapfile -t a <<<"$ans"
	if [[ ${a[0]:-} == *'"ok":false'*'not a JSON object'* ]]; then
		ok "ctl: a garbage line is an error"
	else
		not_ok "ctl: a garbage line is an error" "$ans"
	fi
	if [[ ${a[1]:-} == *'"ok":false'*"unknown op 'frobnicate'"* ]]; then
		ok "ctl: an unknown op is an error naming it"
	else
		not_ok "ctl: an unknown op is an error naming it" "$ans"
	fi
	if [[ ${a[2]:-} == *'"ok":false'* ]]; then
		ok "ctl: a JSON non-object is an error"
	else
		not_ok "ctl: a JSON non-object is an error" "$ans"
	fi
	if [[ ${a[3]:-} == *'"ok":false'*'longer than 65536'* ]]; then
		ok "ctl: a 100 KiB line is one error"
	else
		not_ok "ctl: a 100 KiB line is one error" "$ans"
	fi
	if [[ ${a[4]:-} == *'"ok":true'* ]] && [[ ${a[4]} == *'"version":'* ]] &&
		[ ${#a[@]} -eq 5 ]; then
		ok "ctl: the same connection keeps serving after them"
	else
		not_ok "ctl: the same connection keeps serving after them" "$ans"
	fi
	if version_ok "$SOCK" && kill -0 "${PIDS[0]}"; then
		ok "ctl: the daemon keeps serving new connections"
	else
		not_ok "ctl: the daemon keeps serving new connections" "$(tail -5 "$TMP/a.log")"
	fi
	ans=$(ctl "$SOCK" '{"op":"create","name":"x","kernel":"relative.sim"}' \
		'{"op":"create","name":"Bad_Name","kernel":"'"$SIMFIX"'/server.sim"}' \
		'{"op":"create","name":"m","kernel":"'"$SIMFIX"'/server.sim","memory":"lots"}' \
		'{"op":"destroy","name":"nope"}' 2>&1)
	mapfile -t a <<<"$ans"
	if [[ ${a[0]:-} == *'image \"relative.sim\"'*'absolute kernel path'* ]] && [[ ${a[2]:-} == *'memory'* ]] &&
		[[ ${a[3]:-} == *'pod default/nope: not on this node'* ]] &&
		[[ ${a[1]:-} == *'"ok":false'*"name 'Bad_Name'"* ]]; then
		ok "ctl: bad create/destroy requests get errors naming the field"
	else
		not_ok "ctl: bad create/destroy requests get errors naming the field" "$ans"
	fi
else
	skip "ctl garbage" "python3 not found"
fi

# ---- the libxl backend on a machine without Xen ----
if [ -e /proc/xen/capabilities ] || [ -e /dev/xen/privcmd ]; then
	skip "libxl without Xen" "this machine runs Xen"
else
	for store in xs mem; do
		r=$TMP/lx-$store
		"$B/xenletd" -d --backend=libxl --store=$store --node-name cli-test --root-dir="$r" \
			--pod-log-dir="$TMP/logs" --ctl-socket="$r.sock" >"$TMP/lx.log" 2>&1 &
		lpid=$!
		PIDS+=($lpid)
		if wait_for 20 bash -c "! kill -0 $lpid"; then
			wait "$lpid"
			rc=$?
			msg=$(grep -v '^\s*$' "$TMP/lx.log" | tail -n 1)
			if [ "$rc" -ne 0 ] && grep -qiE 'xen|libxl|xenstore' <<<"$msg" &&
				[ ! -e "$r.sock" ]; then
				ok "--backend=libxl --store=$store without Xen fails clearly: $msg"
			else
				not_ok "--backend=libxl --store=$store without Xen fails clearly" \
					"exit $rc, socket $(ls "$r.sock" 2>&1): $(cat "$TMP/lx.log")"
			fi
		else
			not_ok "--backend=libxl --store=$store without Xen fails" "still running"
		fi
	done
fi

summary daemon-cli
