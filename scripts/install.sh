#!/bin/sh
# install.sh DESTDIR PREFIX BUILD_DIR - install xenlet in FHS paths.
#   $PREFIX/sbin/{xenletd,xl-pod}          daemon and CLI (next to xl)
#   $PREFIX/share/man/man{1,5,8}/          man pages
#   $PREFIX/share/xenlet/{k8s,sim}/        manifests, sim scripts for the demo
#   $PREFIX/lib/xenlet/guests/             the test unikernels, when built
#   /lib/systemd/system/xenletd.service    unit (under DESTDIR)
#   /etc/xen/scripts/vif-xenlet            the vif hotplug script, next to
#                                          Xen's own (libxl's script= for
#                                          the pods' vifs; replaced on update)
#   /etc/xenlet/xenletd.conf               example config, never overwritten
set -eu
DESTDIR=$1 PREFIX=$2 B=$3
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
d() { install -d -m "${2:-0755}" "$DESTDIR$1"; }
d "$PREFIX/sbin"
install -m 0755 "$B/xenletd" "$B/xl-pod" "$DESTDIR$PREFIX/sbin/"
for s in 1 5 8; do
	for m in docs/man/*.$s; do
		[ -e "$m" ] || continue
		d "$PREFIX/share/man/man$s"
		install -m 0644 "$m" "$DESTDIR$PREFIX/share/man/man$s/"
	done
done
d "$PREFIX/share/xenlet/k8s/examples"
install -m 0644 k8s/*.yaml "$DESTDIR$PREFIX/share/xenlet/k8s/"
install -m 0644 k8s/examples/*.yaml "$DESTDIR$PREFIX/share/xenlet/k8s/examples/"
d "$PREFIX/share/xenlet/sim"
install -m 0644 test/fixtures/sim/*.sim "$DESTDIR$PREFIX/share/xenlet/sim/"
if [ -d "$B/guests" ]; then
	d "$PREFIX/lib/xenlet/guests"
	for g in "$B"/guests/xn-test-*; do
		[ -f "$g" ] && install -m 0644 "$g" "$DESTDIR$PREFIX/lib/xenlet/guests/"
	done
fi
d /lib/systemd/system
sed "s|@SBINDIR@|$PREFIX/sbin|" packaging/xenletd.service > "$DESTDIR/lib/systemd/system/xenletd.service"
chmod 0644 "$DESTDIR/lib/systemd/system/xenletd.service"
d /etc/xen/scripts
install -m 0755 packaging/vif-xenlet "$DESTDIR/etc/xen/scripts/vif-xenlet"
d /etc/xenlet 0700
[ -e "$DESTDIR/etc/xenlet/xenletd.conf" ] ||
	install -m 0600 packaging/xenletd.conf "$DESTDIR/etc/xenlet/xenletd.conf"
echo "installed under ${DESTDIR:-/}$PREFIX (unit: /lib/systemd/system/xenletd.service)"
