#!/bin/bash
# mkdom0.sh CACHE ROOT - lay out the rig's Dom0 root tree in ROOT from the
# host's installed Debian packages (xen-utils, busybox-static, iproute2,
# nftables), xenlet's vif hook (packaging/vif-xenlet) and the
# unpacked kernel modules in CACHE.  rig.sh adds the test's own files and
# packs the tree.
set -euo pipefail
CACHE=$1 D=$2
XENBIN=/usr/lib/xen-4.17/bin

# copy_bin FILE...: executables plus every shared library ldd names, at the
# same paths (the tree is merged-/usr like the host, so ldd's paths resolve).
copy_bin() {
	local f l
	for f in "$@"; do
		mkdir -p "$D$(dirname "$f")"
		rm -f "$D$f"
		cp -L "$f" "$D$f"
		for l in $(ldd "$f" 2>/dev/null | awk '/=>/ { print $3 } /^[[:space:]]*\/.*ld-linux/ { print $1 }'); do
			[ -e "$D$l" ] || { mkdir -p "$D$(dirname "$l")" && cp -L "$l" "$D$l"; }
		done
	done
}

rm -rf "$D"
mkdir -p "$D"/{bin,sbin,dev,proc,sys,tmp,etc,run,lib/modules,usr/local/bin,guests}
cp /bin/busybox "$D/bin/busybox"
# A link named "busybox" to itself gives ELOOP and panics the boot.
for a in $(/bin/busybox --list); do
	[ "$a" = busybox ] || ln -sf busybox "$D/bin/$a"
done
# The kernel opens /dev/console before devtmpfs is mounted.
mknod -m 600 "$D/dev/console" c 5 1

copy_bin /bin/bash /usr/bin/flock \
	$XENBIN/xl $XENBIN/xenstored $XENBIN/xenconsoled $XENBIN/xenconsole \
	$XENBIN/xen-init-dom0 $XENBIN/libxl-save-helper $XENBIN/xenstore-control \
	/usr/bin/xenstore /usr/bin/xenstore-read /usr/bin/xenstore-write \
	/usr/bin/xenstore-ls /usr/bin/xenstore-list /usr/bin/xenstore-rm \
	/usr/bin/xenstore-exists /usr/bin/xenstore-watch /usr/bin/xenstore-chmod \
	/usr/lib/xen-common/bin/xen-dir /usr/lib/xen-common/bin/xen-toolstack
# glibc dlopen()s libgcc_s for pthread_cancel: without it "xl create" aborts.
cp -L /lib/x86_64-linux-gnu/libgcc_s.so.1 "$D/lib/x86_64-linux-gnu/"
for b in xl xenstored xenconsoled xenconsole xen-init-dom0; do
	ln -sf $XENBIN/$b "$D/sbin/$b"
done
mkdir -p "$D/etc/xen"
cp -a /etc/xen/scripts "$D/etc/xen/" # hotplug scripts (bash, flock)
cp /etc/xen/xl.conf "$D/etc/xen/"
# The pod network as on a xenlet node (docs/networking.md, "What the node
# needs"): iproute2's ip, which the hook is written against, and nft for
# the hook's anti-spoofing table.
copy_bin /bin/ip /usr/sbin/nft
install -m 755 "$(dirname "$0")/../../packaging/vif-xenlet" "$D/etc/xen/scripts/vif-xenlet"
cp "$CACHE"/modules/*.ko "$D/lib/modules/"
printf '/lib/x86_64-linux-gnu\n/usr/lib/x86_64-linux-gnu\n' >"$D/etc/ld.so.conf"
ldconfig -r "$D" 2>/dev/null || true
echo 'root:x:0:0:root:/root:/bin/sh' >"$D/etc/passwd"
echo 'root:x:0:' >"$D/etc/group"
# Pods with a network get their DNS from the node's resolv.conf (setting
# resolvConf), as from a kubelet's: a node has one.  QEMU's user network
# (rig.sh --apiserver-port) serves DNS at 10.0.2.3.
echo 'nameserver 10.0.2.3' >"$D/etc/resolv.conf"
cp "$(dirname "$0")/dom0-init" "$D/init"
chmod +x "$D/init"
