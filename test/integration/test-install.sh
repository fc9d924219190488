#!/bin/bash
# test-install.sh BUILD_DIR - `make install` into a DESTDIR: FHS paths, the
# systemd unit pointing at the installed daemon, man pages that render, an
# example config the installed xenletd accepts, and a second install that
# keeps an edited config.  No cluster needed.
# Prints "install: N passed, N failed, N skipped".
set -u
B=$(cd "${1:-build}" && pwd)
SRC=$(cd "$(dirname "$0")/../.." && pwd)
TMP=$(mktemp -d /tmp/test-install.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
# shellcheck source=test/lib/tap.sh
. "$SRC/test/lib/tap.sh"
D=$TMP/root
P=/usr/local

make -s -C "$SRC" B="$B" install DESTDIR="$D" PREFIX="$P" >"$TMP/install.log" 2>&1
check "make install DESTDIR=... PREFIX=$P" $? "$(tail -n 5 "$TMP/install.log")"
for f in sbin/xenletd sbin/xl-pod share/man/man8/xenletd.8 share/man/man5/xenletd.conf.5 \
	share/man/man1/xl-pod.1 share/xenlet/k8s/runtimeclass.yaml share/xenlet/sim/hello.sim; do
	[ -f "$D$P/$f" ]
	check "installed $P/$f" $?
done
[ -x "$D$P/sbin/xenletd" ] && [ -x "$D$P/sbin/xl-pod" ]
check "the binaries are executable" $?
grep -q "^ExecStart=$P/sbin/xenletd -d --config /etc/xenlet/xenletd.conf$" "$D/lib/systemd/system/xenletd.service"
check "the systemd unit starts the installed xenletd with /etc/xenlet/xenletd.conf" $? "$(grep ExecStart "$D/lib/systemd/system/xenletd.service")"
[ -x "$D/etc/xen/scripts/vif-xenlet" ] && cmp -s "$SRC/packaging/vif-xenlet" "$D/etc/xen/scripts/vif-xenlet"
check "the vif hotplug script is installed executable next to Xen's, /etc/xen/scripts/vif-xenlet" $?
[ "$(stat -c %a "$D/etc/xenlet/xenletd.conf")" = 600 ]
check "the example config is installed mode 0600 (it names credentials)" $?
for m in "$D$P"/share/man/man*/*; do
	out=$(MANWIDTH=80 man --warnings -l "$m" 2>&1 >/dev/null)
	check "man page $(basename "$m") renders without warnings" "$([ -z "$out" ]; echo $?)" "$out"
done
: >"$TMP/kubeconfig"
out=$("$D$P/sbin/xenletd" -n --config "$D/etc/xenlet/xenletd.conf" --kubeconfig "$TMP/kubeconfig" --node-name n1 2>&1)
check "the installed xenletd accepts the example config (xenletd -n)" $? "$out"
echo "# edited" >>"$D/etc/xenlet/xenletd.conf"
make -s -C "$SRC" B="$B" install DESTDIR="$D" PREFIX="$P" >/dev/null 2>&1
grep -q '^# edited$' "$D/etc/xenlet/xenletd.conf"
check "a second install keeps an edited /etc/xenlet/xenletd.conf" $?
summary install
