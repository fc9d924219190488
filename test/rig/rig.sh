#!/bin/bash
# rig.sh - boot Debian's Xen 4.17 with a Debian Dom0 inside QEMU (software
# emulation, no VT-x needed), run a test script in Dom0, power off.
#
# usage: test/rig/rig.sh [options] TEST_SCRIPT
#   TEST_SCRIPT          run by busybox sh as /test.sh in Dom0; its exit
#                        status is the rig's (reported as RIG-TEST-EXIT=<n>)
#   --bin FILE           copy an executable (and its libraries) into Dom0's
#                        /usr/local/bin; repeatable
#   --guests DIR         copy DIR's files into Dom0's /guests
#   --extra DIR          copy DIR's tree over Dom0's /
#   --linux-guest        add a Linux PV/PVH domU: /guests/linux/vmlinux.gz +
#                        initrd.gz (busybox; see linux-guest.sh)
#   --apiserver-port P   QEMU user network: Dom0 reaches the host's
#                        127.0.0.1:P at 10.0.2.100:6443
#   --kubelet-fwd-port Q   ... and the host reaches Dom0's port Q at its
#                        127.0.0.1:Q (needs --apiserver-port too): the
#                        same number on both sides, so a node advertising
#                        127.0.0.1:Q is reachable from the host's API server
#   --pod-cidr CIDR      the node's IPv4 pod range: Dom0 makes the pod bridge
#                        xenlet0 with its gateway address (the first) and
#                        turns forwarding on, as a xenlet node's network
#                        setup does (docs/networking.md); the vif hook
#                        /etc/xen/scripts/vif-xenlet and nft are always there
#   --timeout SEC        hard limit for the QEMU run (default 900)
#   --work DIR           work directory (default: a new /tmp/xn-rig.XXXXXX);
#                        serial.log stays there
# Environment: XN_CACHE (default /var/cache/xenlet) holds the unpacked
# packages, see fetch.sh; RIG_MEM QEMU RAM in MiB (2048), RIG_DOM0_MEM (768M).
#
# Output: the serial console (Xen, Dom0, test), each line prefixed with the
# seconds since QEMU started.  Exit status: 0 test passed, 1 failed or
# timed out, 77 skipped (something missing; "skipped: <why>" on stderr).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
BINS=() GUESTS="" EXTRA="" LINUX=0 API_PORT="" FWD_PORT="" POD_CIDR="" TIMEOUT=900 WORK="" TEST=""
RIG_MEM=${RIG_MEM:-2048}
RIG_DOM0_MEM=${RIG_DOM0_MEM:-768M}

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
	case "$1" in
	--bin) BINS+=("$(readlink -f "$2")"); shift 2 ;;
	--guests) GUESTS=$(readlink -f "$2"); shift 2 ;;
	--extra) EXTRA=$(readlink -f "$2"); shift 2 ;;
	--linux-guest) LINUX=1; shift ;;
	--apiserver-port) API_PORT=$2; shift 2 ;;
	--kubelet-fwd-port) FWD_PORT=$2; shift 2 ;;
	--pod-cidr) POD_CIDR=$2; shift 2 ;;
	--timeout) TIMEOUT=$2; shift 2 ;;
	--work) WORK=$2; shift 2 ;;
	-h | --help) usage; exit 0 ;;
	-*) echo "rig.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
	*) TEST=$(readlink -f "$1"); shift ;;
	esac
done
[ -n "$TEST" ] && [ -f "$TEST" ] || { echo "rig.sh: no test script given (or not a file)" >&2; exit 2; }
[ -z "$FWD_PORT" ] || [ -n "$API_PORT" ] || { echo "rig.sh: --kubelet-fwd-port needs --apiserver-port" >&2; exit 2; }

log() { echo "[rig $(date +%T)] $*" >&2; }
skip() { echo "skipped: $*" >&2; exit 77; }
now() { date +%s.%N; }
since() { awk -v a="$(now)" -v b="$1" 'BEGIN { printf "%.1f", a - b }'; }

for t in qemu-system-x86_64 cpio ldd perl; do
	command -v $t >/dev/null || skip "$t is not installed (make deps)"
done
[ -x /bin/busybox ] || skip "busybox-static is not installed"
[ -x /usr/lib/xen-4.17/bin/xl ] || skip "xen-utils-4.17 is not installed"

t_all=$(now)
CACHE=$("$HERE/fetch.sh") || exit $?
[ -n "$WORK" ] || WORK=$(mktemp -d /tmp/xn-rig.XXXXXX)
mkdir -p "$WORK"
WORK=$(readlink -f "$WORK")

# ---- Dom0 initramfs
t0=$(now)
D=$WORK/dom0
"$HERE/mkdom0.sh" "$CACHE" "$D"
{
	echo "RIG_NET=$([ -n "$API_PORT" ] && echo 1 || echo 0)"
	echo "RIG_POD_CIDR=$POD_CIDR"
} >"$D/etc/rig.env"
cp "$TEST" "$D/test.sh"
[ -z "$GUESTS" ] || cp -a "$GUESTS"/. "$D/guests/"
if [ "$LINUX" = 1 ]; then
	"$HERE/linux-guest.sh" "$CACHE" "$D/guests/linux" "$WORK/linux-guest"
fi
for b in ${BINS[@]+"${BINS[@]}"}; do
	mkdir -p "$D/usr/local/bin"
	cp -L "$b" "$D/usr/local/bin/"
	for l in $(ldd "$b" 2>/dev/null | awk '/=>/ { print $3 }'); do
		[ -e "$D$l" ] || { mkdir -p "$D$(dirname "$l")" && cp -L "$l" "$D$l"; }
	done
done
[ -z "$EXTRA" ] || cp -a "$EXTRA"/. "$D/"
# uncompressed: spares Dom0 a decompression under emulation
(cd "$D" && find . | cpio -o -H newc --quiet) >"$WORK/dom0.cpio"
rm -rf "$D"
log "Dom0 initramfs: $(du -h "$WORK/dom0.cpio" | cut -f1) in $(since "$t0") s (cache $CACHE)"

# ---- boot
# QEMU boots xen.elf by multiboot; -initrd lists the modules ("file args")
# separated by commas.  Only "-cpu qemu64,+svm,+npt" works: PVH needs
# nested paging (Debian's Xen has no shadow paging), "max" and EPYC crash.
XEN_CMD="console=com1 com1=115200,8n1 dom0_mem=$RIG_DOM0_MEM,max:$RIG_DOM0_MEM dom0_max_vcpus=1 loglvl=all guest_loglvl=all"
DOM0_CMD="console=hvc0 earlyprintk=xen rdinit=/init quiet loglevel=4"
NET=(-nic none)
if [ -n "$API_PORT" ]; then
	nd="user,id=n0,restrict=on,guestfwd=tcp:10.0.2.100:6443-cmd:busybox nc 127.0.0.1 $API_PORT"
	[ -z "$FWD_PORT" ] || nd="$nd,hostfwd=tcp:127.0.0.1:$FWD_PORT-:$FWD_PORT"
	NET=(-netdev "$nd" -device virtio-net-pci,netdev=n0)
fi
LOGF=$WORK/serial.log
log "booting Xen in QEMU (TCG, ${RIG_MEM} MiB, timeout ${TIMEOUT} s), log $LOGF"
t0=$(now)
set +e
# timeout(1) is our child and stops QEMU, its child, by PID.
timeout -k 10 "$TIMEOUT" qemu-system-x86_64 -machine pc -accel tcg -cpu qemu64,+svm,+npt \
	-m "$RIG_MEM" -smp 2 -display none -monitor none -serial stdio -no-reboot "${NET[@]}" \
	-kernel "$CACHE/xen.elf" -append "$XEN_CMD" \
	-initrd "$CACHE/vmlinuz $DOM0_CMD,$WORK/dom0.cpio" </dev/null 2>&1 |
	perl -MTime::HiRes=time -ne 'BEGIN { $| = 1; $t0 = time } s/\r//g; printf "%7.2f %s", time - $t0, $_' |
	tee "$LOGF"
qrc=${PIPESTATUS[0]}
set -e
rm -f "$WORK/dom0.cpio"
log "QEMU exited (rc $qrc) after $(since "$t0") s; rig total $(since "$t_all") s"
[ "$qrc" != 124 ] || { log "timed out after $TIMEOUT s"; exit 1; }
rc=$(sed -n 's/.*RIG-TEST-EXIT=\([0-9]*\).*/\1/p' "$LOGF" | tail -1)
[ -n "$rc" ] || { log "Dom0 never reported RIG-TEST-EXIT"; exit 1; }
[ "$rc" = 0 ] || { log "test failed: RIG-TEST-EXIT=$rc"; exit 1; }
exit 0
