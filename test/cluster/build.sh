#!/usr/bin/env bash
# Builds the test control plane (etcd, kube-apiserver, kube-scheduler,
# kube-controller-manager) from Go modules at the release pinned in
# test/cluster/gomod/go.mod, into a cache outside the clone:
#   ${XN_CACHE:-/var/cache/xenlet}/k8s-<k8sver>-etcd-<etcdver>/bin/
# A stamp file written last marks a complete build; a warm run only checks it.
# Prints the bin directory on stdout (last line); progress goes to stderr.
#
# Env: XN_CACHE (cache root), GO (go binary), XN_BUILD_FORCE=1 (rebuild).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
gomod="$here/gomod"

say() { printf 'build.sh: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

# The versions come from go.mod so that the cache key cannot drift from what
# is actually built.
k8s_ver=$(awk '$1 == "k8s.io/kubernetes" && $2 ~ /^v/ { print $2; exit }' "$gomod/go.mod")
etcd_ver=$(awk '$1 == "go.etcd.io/etcd/server/v3" && $2 ~ /^v/ { print $2; exit }' "$gomod/go.mod")
[[ -n "$k8s_ver" ]] || die "$gomod/go.mod: no 'k8s.io/kubernetes vX.Y.Z' requirement"
[[ -n "$etcd_ver" ]] || die "$gomod/go.mod: no 'go.etcd.io/etcd/server/v3 vX.Y.Z' requirement"

cache_root=${XN_CACHE:-/var/cache/xenlet}
dir="$cache_root/k8s-$k8s_ver-etcd-$etcd_ver"
bin="$dir/bin"
stamp="$dir/stamp"
bins=(etcd kube-apiserver kube-controller-manager kube-scheduler)

# The stamp also carries a hash of go.mod/go.sum: an edit that keeps the two
# headline versions but changes a dependency must still rebuild.
want_sum=$(cat "$gomod/go.mod" "$gomod/go.sum" | sha256sum | cut -d' ' -f1)

stamp_ok() {
    [[ -f "$stamp" ]] || return 1
    grep -qx "gomod-sha256=$want_sum" "$stamp" || return 1
    local b
    for b in "${bins[@]}"; do [[ -x "$bin/$b" ]] || return 1; done
}

if [[ "${XN_BUILD_FORCE:-0}" != 1 ]] && stamp_ok; then
    say "cache hit: k8s $k8s_ver, etcd $etcd_ver in $bin (0s)"
    echo "$bin"
    exit 0
fi

if [[ -z "${GO:-}" ]]; then
    if command -v go >/dev/null 2>&1; then GO=$(command -v go)
    elif [[ -x /usr/local/go/bin/go ]]; then GO=/usr/local/go/bin/go
    else die "no Go toolchain: put go on PATH or set GO=/path/to/go"
    fi
fi

mkdir -p "$dir" || die "cannot create cache dir $dir (set XN_CACHE to a writable place)"

# Two concurrent runs (e.g. parallel test jobs) must not build twice or see a
# half-written bin dir.
exec 9>"$dir/.lock"
flock 9
if [[ "${XN_BUILD_FORCE:-0}" != 1 ]] && stamp_ok; then
    say "cache hit after waiting for another build: $bin"
    echo "$bin"
    exit 0
fi

say "cold build: k8s $k8s_ver, etcd $etcd_ver with $("$GO" version)"
start=$(date +%s)
tmp="$dir/bin.tmp.$$"
rm -rf "$tmp" "$stamp"
mkdir -p "$tmp"
trap 'rm -rf "$tmp"' EXIT

# GOTOOLCHAIN=local: never download another toolchain; if the release needs a
# newer Go than installed, fail loudly and pin an older release instead.
# CGO_ENABLED=0 matches how upstream ships these binaries and keeps them static.
export GOTOOLCHAIN=local GOFLAGS=-mod=mod CGO_ENABLED=0
ldflags='-s -w'
(
    cd "$gomod"
    "$GO" build -trimpath -ldflags="$ldflags" -o "$tmp/etcd" go.etcd.io/etcd/server/v3
    # One invocation for the three Kubernetes commands shares one action graph.
    "$GO" build -trimpath -ldflags="$ldflags" -o "$tmp/" \
        k8s.io/kubernetes/cmd/kube-apiserver \
        k8s.io/kubernetes/cmd/kube-controller-manager \
        k8s.io/kubernetes/cmd/kube-scheduler
) || die "go build failed (see messages above)"

for b in "${bins[@]}"; do
    [[ -x "$tmp/$b" ]] || die "go build did not produce $b"
done
"$tmp/kube-apiserver" --version >&2 || die "built kube-apiserver does not run"
"$tmp/etcd" --version >&2 || die "built etcd does not run"

rm -rf "$bin"
mv "$tmp" "$bin"
trap - EXIT
end=$(date +%s)
{
    echo "k8s=$k8s_ver"
    echo "etcd=$etcd_ver"
    echo "gomod-sha256=$want_sum"
    echo "go=$("$GO" env GOVERSION)"
    echo "build-seconds=$((end - start))"
} >"$stamp.tmp"
mv "$stamp.tmp" "$stamp"
say "built in $((end - start))s: $bin"
echo "$bin"
