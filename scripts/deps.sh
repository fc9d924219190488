#!/bin/sh
# deps.sh - install every Debian package the build and the tests need.
# Idempotent: packages already present are left alone.  Needs root.
set -eu
PKGS="
 build-essential pkg-config clang clang-format libclang-rt-14-dev
 libxen-dev libcmocka-dev libcjson-dev libevent-dev libcurl4-openssl-dev zlib1g-dev
 libyaml-dev libssl-dev openssl
 xen-utils-4.17 xenstore-utils
 qemu-system-x86 busybox-static cpio xz-utils binutils perl
 docker-registry skopeo iproute2 nftables valgrind jq curl ca-certificates python3 util-linux man-db
 iperf3
 dnsutils
"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
# Go (for the test control plane, built from Go modules) comes with the
# machine, not from Debian: bookworm's Go is too old for Kubernetes 1.34.
if ! command -v go >/dev/null && [ ! -x /usr/local/go/bin/go ]; then
	echo "deps: warning: no Go toolchain; the integration tier needs Go >= 1.24" >&2
fi
if [ -z "$missing" ]; then
	echo "deps: all packages present"
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	echo "deps: missing:$missing (run as root to install)" >&2
	exit 1
fi
# Installing xen-utils and docker-registry on a host that is not a Xen Dom0
# must not start their services: a policy-rc.d keeps maintainer scripts quiet.
made_policy=0
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
	chmod +x /usr/sbin/policy-rc.d
	made_policy=1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends $missing
[ $made_policy = 0 ] || rm -f /usr/sbin/policy-rc.d
echo "deps: installed:$missing"
