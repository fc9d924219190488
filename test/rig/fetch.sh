#!/bin/bash
# fetch.sh - fill the rig's package cache and print its directory.
#
# Downloads (never installs) the Xen hypervisor package that matches the
# installed xen-utils, and the Debian kernel linux-image-amd64 points at,
# unpacks what the rig needs, and keeps it in
#   ${XN_CACHE:-/var/cache/xenlet}/rig-<xen version>-<kernel version>/
# A directory whose "complete" stamp names the same module list is reused as is.
#
# Exit status: 0 = ready (the directory is printed on stdout),
#              77 = cannot be prepared here (reason on stderr, "skipped: ...").
set -euo pipefail

XENVER=4.17
skip() { echo "skipped: $*" >&2; exit 77; }
log() { echo "[rig fetch] $*" >&2; }

xen_v=$(dpkg-query -W -f '${Version}' xen-utils-$XENVER 2>/dev/null) ||
	skip "xen-utils-$XENVER is not installed (make deps)"
kpkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
	awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
[ -n "$kpkg" ] || skip "apt does not know linux-image-amd64 (apt-get update?)"
kern_v=$(apt-cache show --no-all-versions "$kpkg" 2>/dev/null | awk '/^Version:/ { print $2; exit }')
[ -n "$kern_v" ] || skip "apt has no version of $kpkg"

# Modules Dom0 loads (Xen backends, bridge, virtio NIC, nf_tables for the
# vif hook's anti-spoofing table) and the Linux domU's frontends.  Only
# these are unpacked: the whole package is ~400 MB.  A cache filled with
# another list is filled again (its "complete" stamp holds the list).
MODS="xen-evtchn xen-privcmd xenfs xen-gntdev xen-gntalloc xen-netback xen-blkback
      llc stp bridge tun xen-netfront xen-blkfront
      virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci
      failover net_failover virtio_net
      crc32c_generic libcrc32c nfnetlink nf_tables nft_meta_bridge"
stamp=$(echo $MODS)

C=${XN_CACHE:-/var/cache/xenlet}/rig-$xen_v-$kern_v
if [ -f "$C/complete" ] && [ "$(cat "$C/complete")" = "$stamp" ]; then
	echo "$C"
	exit 0
fi
mkdir -p "$C" 2>/dev/null || skip "cannot create cache directory $C (set XN_CACHE)"
log "filling $C (one time: ~70 MiB download)"
t0=$(date +%s)

tmp=$(mktemp -d "$C/.tmp.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/debs" "$tmp/x"
chmod 755 "$tmp" && chmod 777 "$tmp/debs" # apt's sandbox user _apt writes the files
(cd "$tmp/debs" && apt-get download -qq "xen-hypervisor-$XENVER-amd64=$xen_v" "$kpkg=$kern_v") >&2 ||
	skip "apt-get download of xen-hypervisor-$XENVER-amd64=$xen_v $kpkg=$kern_v failed (offline?)"

dpkg-deb -x "$tmp"/debs/xen-hypervisor-*.deb "$tmp/x"
# QEMU's multiboot loader cannot read xen.gz: keep the ELF.
zcat "$tmp/x/boot/xen-$XENVER-amd64.gz" >"$tmp/xen.elf"

pats=('./boot/vmlinuz-*' './boot/config-*' './lib/modules/*/modules.builtin')
for m in $MODS; do pats+=("./lib/modules/*/$m.ko*"); done
dpkg-deb --fsys-tarfile "$tmp"/debs/linux-image-*.deb |
	tar -x -C "$tmp/x" --wildcards "${pats[@]}"
cp "$tmp"/x/boot/vmlinuz-* "$tmp/vmlinuz"
mkdir -p "$tmp/modules"
kver=$(ls "$tmp/x/lib/modules")
for m in $MODS; do
	f=$(find "$tmp/x/lib/modules" -name "$m.ko*" | head -1)
	if [ -n "$f" ]; then
		cp "$f" "$tmp/modules/"
	elif ! grep -q "/$m.ko" "$tmp/x/lib/modules/$kver/modules.builtin"; then
		log "warning: module $m neither in the package nor built in"
	fi
done
# The Linux domU boots faster from a gzip'd ELF than from the XZ bzImage
# (libxenguest unpacks it on every create: ~2 s saved under TCG).
off=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$tmp/vmlinuz" | head -1 | cut -d: -f1)
tail -c +$((off + 1)) "$tmp/vmlinuz" | xz -dc 2>/dev/null | gzip -1 >"$tmp/vmlinux.gz" || true
echo "xen=$xen_v kernel=$kpkg=$kern_v kver=$kver" >"$tmp/versions"

mv "$tmp/xen.elf" "$tmp/vmlinuz" "$tmp/vmlinux.gz" "$tmp/versions" "$C/"
rm -rf "$C/modules"
mv "$tmp/modules" "$C/modules"
echo "$stamp" >"$C/complete"
log "cache ready in $(($(date +%s) - t0)) s"
echo "$C"
