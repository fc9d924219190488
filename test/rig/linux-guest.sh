#!/bin/bash
# linux-guest.sh CACHE OUTDIR TMPDIR - a Linux domU for network tests:
# OUTDIR/vmlinux.gz (Debian's kernel as a gzip'd ELF: faster to load than
# the XZ bzImage) and OUTDIR/initrd.gz (busybox).  Its init reads from the
# kernel command line:
#   xn.ip=ADDR/PREFIX   load xen-netfront and configure eth0
#   xn.hold             stay up (else power off after the marker)
# and prints "XN-LINUX-GUEST up" (with eth0's address) on its console.
# Config example: type="pv" (or "pvh"), kernel=".../vmlinux.gz",
# ramdisk=".../initrd.gz", extra="console=hvc0 quiet xn.ip=169.254.77.2/24".
set -euo pipefail
CACHE=$1 OUT=$2 R=$3/root

rm -rf "$R"
mkdir -p "$R"/{bin,dev,proc,sys,lib/modules} "$OUT"
cp /bin/busybox "$R/bin/"
for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -sf busybox "$R/bin/$a"; done
mknod -m 600 "$R/dev/console" c 5 1
cp "$CACHE/modules/xen-netfront.ko" "$R/lib/modules/"
cat >"$R/init" <<'INIT'
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
ip=$(sed -n 's/.*xn\.ip=\([0-9./]*\).*/\1/p' /proc/cmdline)
if [ -n "$ip" ]; then
	insmod /lib/modules/xen-netfront.ko
	i=0
	while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 50 ]; do sleep 0.2; i=$((i + 1)); done
	ip link set lo up
	ip addr add "$ip" dev eth0 && ip link set eth0 up
fi
echo "XN-LINUX-GUEST up $(ip -o -4 addr show eth0 2>/dev/null | awk '{ print $4 }')"
case "$(cat /proc/cmdline)" in *xn.hold*) while :; do sleep 3600; done ;; esac
poweroff -f
INIT
chmod +x "$R/init"
(cd "$R" && find . | cpio -o -H newc --quiet | gzip -1) >"$OUT/initrd.gz"
cp "$CACHE/vmlinux.gz" "$OUT/vmlinux.gz"
