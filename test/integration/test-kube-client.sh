#!/bin/bash
# test-kube-client.sh [BUILD_DIR] - the kube client (daemon/kube_*.c) against a
# real kube-apiserver started by test/cluster/lib.sh, driven by
# test/integration/kube-client-check.c and kubectl.
#
# Covers: list namespaces; ConfigMap POST/409/merge+strategic PATCH/PUT/GET/
# 404 Status message/DELETE; informer ADDED/MODIFIED/DELETED for changes made
# by kubectl; 410 "too old resource version" and the informer's relist;
# back-off reconnect across an apiserver stop/start; authentication with a
# client certificate (data and file forms) and with a bearer token (token and
# tokenFile forms).  Prints "N passed, N failed, N skipped".
#
# Env: XN_CLUSTER_LIB (default test/cluster/lib.sh), and what lib.sh reads
# (XN_CLUSTER_BIN to reuse binaries, XN_CACHE, ...).
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
B=${1:-build}
case $B in /*) ;; *) B=$top/$B ;; esac
# shellcheck source=test/lib/tap.sh
. "$top/test/lib/tap.sh"

finish() {
	summary kube-client
	exit
}
skip_all() {
	skip "kube client checks" "$*"
	finish
}
# count "ok - " / "not ok - " lines of a driver run; a run that printed none failed
tally() {
	local out=$1 rc=$2 label=$3 p f
	sed "s|^|$label: |" "$out"
	p=$(grep -c '^ok - ' "$out")
	f=$(grep -c '^not ok - ' "$out")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "not ok - $label: driver exited $rc"
		f=1
	fi
	pass=$((pass + p)) fail=$((fail + f))
}

lib=${XN_CLUSTER_LIB:-$top/test/cluster/lib.sh}
[ -f "$lib" ] || skip_all "no cluster harness at $lib"
command -v kubectl >/dev/null || skip_all "kubectl not installed"

# The driver, with the Makefile's flags and libraries.
pkgs="libevent libevent_openssl libcurl libcjson yaml-0.1 openssl"
drv=$B/test/integration/kube-client-check
san=
case $B in */build-san) san="-fsanitize=address,undefined -fno-omit-frame-pointer" ;; esac
# a library that does not build is a failure, not a skip
make -s -C "$top" B="$B" "$B/libxenlet.a" >/dev/null || { not_ok "build $B/libxenlet.a"; finish; }
mkdir -p "$(dirname "$drv")"
${CC:-cc} -I"$top/include" -D_GNU_SOURCE -std=gnu11 -O2 -g -Wall -Wextra -Werror \
	-Wno-unused-parameter $san $(pkg-config --cflags $pkgs) \
	-o "$drv" "$here/kube-client-check.c" "$B/libxenlet.a" $(pkg-config --libs $pkgs) -lm ||
	{ not_ok "build kube-client-check"; finish; }

# ConfigMaps bypass the watch cache so that, after an etcd compaction, a watch
# from an old resourceVersion reaches etcd and gets 410 (from the cache, the
# real apiserver replays what it still holds instead).  Other resources stay
# cached; the restart check sees the cache's own 410.
export XN_APISERVER_EXTRA_ARGS="${XN_APISERVER_EXTRA_ARGS:-} --watch-cache-sizes=configmaps#0"
# shellcheck source=/dev/null
. "$lib"
cluster_install_trap
cluster_up || { not_ok "cluster_up failed"; finish; }
work=$XN_CLUSTER_DIR/kube-client
mkdir -p "$work"
NS=kc-check

run() { # LABEL DRIVER-ARGS...
	local label=$1 rc
	shift
	"$drv" "$@" >"$work/out" 2>&1
	rc=$?
	tally "$work/out" "$rc" "$label"
}

# Background run: start, wait until it printed "synced" (or died).
bg_start() { # LABEL DRIVER-ARGS...
	bg_label=$1
	shift
	"$drv" "$@" >"$work/bg.out" 2>&1 &
	bg_pid=$!
	for _ in $(seq 600); do
		grep -qx synced "$work/bg.out" && return 0
		kill -0 "$bg_pid" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}
bg_wait() {
	local rc
	wait "$bg_pid"
	rc=$?
	tally "$work/bg.out" "$rc" "$bg_label"
}

# --- identities: admin client cert (data form from the harness, and a file
# form), a service-account token (token and tokenFile forms) ---
pki=$XN_CLUSTER_DIR/pki
cat >"$work/cert-files.kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: t
  cluster: {server: "$XN_APISERVER_URL", certificate-authority: ../pki/ca.crt}
users:
- name: admin-files
  user: {client-certificate: ../pki/admin.crt, client-key: ../pki/admin.key}
contexts:
- name: files
  context: {cluster: t, user: admin-files}
current-context: files
EOF
kubectl create namespace $NS >/dev/null &&
	kubectl -n $NS create serviceaccount checker >/dev/null &&
	kubectl -n $NS create role cm-rw --verb='*' --resource=configmaps >/dev/null &&
	kubectl -n $NS create rolebinding checker --role=cm-rw \
		--serviceaccount=$NS:checker >/dev/null &&
	kubectl create clusterrole kc-check-ns --verb=get,list --resource=namespaces >/dev/null &&
	kubectl create clusterrolebinding kc-check-ns --clusterrole=kc-check-ns \
		--serviceaccount=$NS:checker >/dev/null &&
	kubectl -n $NS create token checker --duration=1h >"$work/token" ||
	not_ok "kubectl: set up namespace, service account and token"
cat >"$work/token.kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: t
  cluster: {server: "$XN_APISERVER_URL", certificate-authority-data: $(base64 -w0 <"$pki/ca.crt")}
users:
- name: sa
  user: {token: "$(cat "$work/token")"}
- name: sa-file
  user: {tokenFile: token}
contexts:
- name: token
  context: {cluster: t, user: sa, namespace: $NS}
- name: tokenfile
  context: {cluster: t, user: sa-file, namespace: $NS}
current-context: token
EOF

# The kubeconfigs really carry the forms we mean to test.
if grep -q 'client-certificate-data:' "$XN_ADMIN_KUBECONFIG"; then
	ok "admin kubeconfig uses client-certificate-data"
else
	not_ok "admin kubeconfig has no client-certificate-data"
fi

run "namespaces/cert-data" -k "$XN_ADMIN_KUBECONFIG" namespaces
run "namespaces/cert-files" -k "$work/cert-files.kubeconfig" namespaces
run "namespaces/token" -k "$work/token.kubeconfig" -c token namespaces
run "namespaces/tokenFile" -k "$work/token.kubeconfig" -c tokenfile namespaces
run "crud/token" -k "$work/token.kubeconfig" -c token -n $NS -o cm-token crud
run "crud/cert-data" -k "$XN_ADMIN_KUBECONFIG" -n $NS -o cm-cert crud

# A token the apiserver does not know: 401 with its Status message.
sed 's/token: "[^"]*"/token: "not-a-valid-token"/' "$work/token.kubeconfig" >"$work/bad.kubeconfig"
"$drv" -k "$work/bad.kubeconfig" -c token namespaces >"$work/out" 2>&1
if grep -q 'status 401' "$work/out"; then
	ok "a bad token gets 401"
else
	sed 's/^/bad-token: /' "$work/out"
	not_ok "a bad token gets 401"
fi

# Informer sees kubectl's changes.
if bg_start "watch" -k "$XN_ADMIN_KUBECONFIG" -n $NS -o cm-watch -t 90 watch; then
	kubectl -n $NS create configmap cm-watch --from-literal=k=v >/dev/null
	kubectl -n $NS patch configmap cm-watch --type merge -p '{"data":{"k":"w"}}' >/dev/null
	kubectl -n $NS delete configmap cm-watch >/dev/null
fi
bg_wait

# A fresh etcd still has revision 1, so a watch from "1" is valid; compact
# etcd up to now (its JSON gateway, as the apiserver's own compactor would
# every 5 minutes) so that "1" is too old and the apiserver answers 410.
rev=$(curl -fsS -X POST "$XN_ETCD_URL/v3/kv/range" -d '{"key":"AA=="}' |
	sed -n 's/.*"revision":"\([0-9]*\)".*/\1/p')
if [ -n "$rev" ] && curl -fsS -X POST "$XN_ETCD_URL/v3/kv/compaction" \
	-d "{\"revision\":\"$rev\",\"physical\":true}" >/dev/null; then
	echo "# etcd compacted at revision $rev"
else
	echo "# etcd compaction failed (revision '$rev'); the gone check will say why"
fi
run "gone" -k "$XN_ADMIN_KUBECONFIG" -n $NS -t 90 gone

# Back-off reconnect across an apiserver restart.
if bg_start "restart" -k "$XN_ADMIN_KUBECONFIG" -n $NS -o cm-restart -t 240 restart; then
	cluster_apiserver_stop
	sleep 3 # let the client fail and back off a few times
	cluster_apiserver_start || echo "# cluster_apiserver_start failed"
	kubectl -n $NS create configmap cm-restart --from-literal=k=v >/dev/null
fi
bg_wait

finish
