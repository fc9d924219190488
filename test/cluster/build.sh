#!/usr/bin/env bash
# Builds the test control plane (etcd, kube-apiserver, kube-scheduler,
# kube-controller-manager) from Go modules at the release pinned in
# test/cluster/gomod/go.mod, into a cache outside the clone:
#   ${XN_CACHE:-/var/cache/xenlet}/k8s-<k8sver>-etcd-<etcdver>/bin/
# A stamp file written last marks a complete build; a warm run only checks it
# (test/cluster/gobuild.sh).
# Prints the bin directory on stdout (last line); progress goes to stderr.
#
# Env: XN_CACHE (cache root), GO (go binary), XN_BUILD_FORCE=1 (rebuild).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
gomod="$here/gomod"
# shellcheck source=test/cluster/gobuild.sh
. "$here/gobuild.sh"

# The versions come from go.mod so that the cache key cannot drift from what
# is actually built.
k8s_ver=$(awk '$1 == "k8s.io/kubernetes" && $2 ~ /^v/ { print $2; exit }' "$gomod/go.mod")
etcd_ver=$(awk '$1 == "go.etcd.io/etcd/server/v3" && $2 ~ /^v/ { print $2; exit }' "$gomod/go.mod")
[[ -n "$k8s_ver" ]] || die "$gomod/go.mod: no 'k8s.io/kubernetes vX.Y.Z' requirement"
[[ -n "$etcd_ver" ]] || die "$gomod/go.mod: no 'go.etcd.io/etcd/server/v3 vX.Y.Z' requirement"

gobuild_init "${XN_CACHE:-/var/cache/xenlet}/k8s-$k8s_ver-etcd-$etcd_ver" "$gomod" \
    etcd kube-apiserver kube-controller-manager kube-scheduler
gobuild_cached "k8s $k8s_ver, etcd $etcd_ver"
gobuild_begin "k8s $k8s_ver, etcd $etcd_ver"

# Without -X the binaries call themselves v0.0.0-master, and /version (which
# clients and version-skew checks read) would lie.
minor=${k8s_ver#v1.}; minor=${minor%%.*}
ver_pkgs=(k8s.io/component-base/version k8s.io/client-go/pkg/version)
k8s_ldflags="-s -w"
for p in "${ver_pkgs[@]}"; do
    k8s_ldflags+=" -X $p.gitVersion=$k8s_ver -X $p.gitMajor=1 -X $p.gitMinor=$minor"
    k8s_ldflags+=" -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
done
(
    cd "$gomod"
    "$GO" build -trimpath -ldflags="-s -w" -o "$gb_tmp/etcd" go.etcd.io/etcd/server/v3
    # One invocation for the three Kubernetes commands shares one action graph.
    "$GO" build -trimpath -ldflags="$k8s_ldflags" -o "$gb_tmp/" \
        k8s.io/kubernetes/cmd/kube-apiserver \
        k8s.io/kubernetes/cmd/kube-controller-manager \
        k8s.io/kubernetes/cmd/kube-scheduler
) || die "go build failed (see messages above)"

gobuild_built
got=$("$gb_tmp/kube-apiserver" --version) || die "built kube-apiserver does not run"
[[ "$got" == "Kubernetes $k8s_ver" ]] || die "built kube-apiserver says '$got', want 'Kubernetes $k8s_ver'"
echo "$got" >&2
"$gb_tmp/etcd" --version >&2 || die "built etcd does not run"

gobuild_finish "k8s=$k8s_ver" "etcd=$etcd_ver"
