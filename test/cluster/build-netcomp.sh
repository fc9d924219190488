#!/usr/bin/env bash
# Builds the cluster network components a node runs beside xenletd
# (docs/networking.md) from Go modules, into a cache outside the clone:
#   ${XN_CACHE:-/var/cache/xenlet}/net-k8s-<k8sver>-coredns-<ver>-flannel-<ver>/bin/
#     kube-proxy  k8s.io/kubernetes/cmd/kube-proxy at the control plane's
#                 release (test/cluster/kube-proxy-gomod, the same pins as
#                 test/cluster/gomod: Go's build cache shares their packages)
#     coredns     github.com/coredns/coredns at COREDNS_VERSION
#     flanneld    github.com/flannel-io/flannel at the release pinned in
#                 test/cluster/flannel-gomod/go.mod (a wrapper module: one
#                 dependency needs a replace, see there)
# CoreDNS has no replace directives, so `go install mod@version` builds it
# with exactly its own go.mod/go.sum (checked against the Go checksum
# database): nothing of ours to keep in step.
# A stamp file written last marks a complete build; a warm run only checks it
# (test/cluster/gobuild.sh).  Prints the bin directory on stdout (last line);
# progress goes to stderr.
#
# Env: XN_CACHE (cache root), GO (go binary), XN_BUILD_FORCE=1 (rebuild).
set -euo pipefail

# CoreDNS v1.12.1 is what kubeadm of Kubernetes 1.34 deploys.
COREDNS_VERSION=v1.12.1

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
gomod="$here/kube-proxy-gomod"
# shellcheck source=test/cluster/gobuild.sh
. "$here/gobuild.sh"

k8s_ver=$(awk '$1 == "k8s.io/kubernetes" && $2 ~ /^v/ { print $2; exit }' "$gomod/go.mod")
[[ -n "$k8s_ver" ]] || die "$gomod/go.mod: no 'k8s.io/kubernetes vX.Y.Z' requirement"
cp_ver=$(awk '$1 == "k8s.io/kubernetes" && $2 ~ /^v/ { print $2; exit }' "$here/gomod/go.mod")
[[ "$k8s_ver" == "$cp_ver" ]] ||
    die "kube-proxy-gomod pins k8s $k8s_ver but the control plane (gomod) $cp_ver: regenerate it"
fgomod="$here/flannel-gomod"
FLANNEL_VERSION=$(awk -v m=github.com/flannel-io/flannel \
    '($1 == "require" && $2 == m) { print $3; exit } ($1 == m && $2 ~ /^v/) { print $2; exit }' "$fgomod/go.mod")
[[ -n "$FLANNEL_VERSION" ]] || die "$fgomod/go.mod: no 'require github.com/flannel-io/flannel vX.Y.Z'"

what="kube-proxy $k8s_ver, coredns $COREDNS_VERSION, flannel $FLANNEL_VERSION"
gobuild_init "${XN_CACHE:-/var/cache/xenlet}/net-k8s-$k8s_ver-coredns-$COREDNS_VERSION-flannel-$FLANNEL_VERSION" \
    "$gomod" kube-proxy coredns flanneld
# the recipe covers flannel's wrapper module too
gb_sum=$(cat <(echo "$gb_sum") "$fgomod/go.mod" "$fgomod/go.sum" | sha256sum | cut -d' ' -f1)
gobuild_cached "$what"
gobuild_begin "$what"

# The -X flags make --version tell the release, as upstream's builds do.
minor=${k8s_ver#v1.}; minor=${minor%%.*}
k8s_ldflags="-s -w"
for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    k8s_ldflags+=" -X $p.gitVersion=$k8s_ver -X $p.gitMajor=1 -X $p.gitMinor=$minor"
    k8s_ldflags+=" -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
done
# The last line of go's output goes into the error: callers that skip a test
# on a failed build print it as the reason.
run_go() {
    local out
    if ! out=$("$@" 2>&1); then
        printf '%s\n' "$out" >&2
        die "go build failed: $(tail -n 1 <<<"$out")"
    fi
}
run_go bash -c 'cd "$1" && shift && "$@"' _ "$gomod" \
    "$GO" build -trimpath -ldflags="$k8s_ldflags" -o "$gb_tmp/kube-proxy" k8s.io/kubernetes/cmd/kube-proxy
# go install MOD@VERSION builds outside any module; -mod=mod is refused there.
gi="$gb_tmp/.gobin"
run_go env -C / GOFLAGS= GOBIN="$gi" "$GO" install -trimpath \
    -ldflags="-s -w -X github.com/coredns/coredns/coremain.GitCommit=$COREDNS_VERSION" \
    "github.com/coredns/coredns@$COREDNS_VERSION"
# flannel's UDP backend is cgo (its Makefile builds with CGO_ENABLED=1)
run_go env -C "$fgomod" CGO_ENABLED=1 "$GO" build -trimpath \
    -ldflags="-s -w -X github.com/flannel-io/flannel/pkg/version.Version=$FLANNEL_VERSION" \
    -o "$gb_tmp/flanneld" github.com/flannel-io/flannel
mv "$gi/coredns" "$gb_tmp/coredns"
rmdir "$gi"

gobuild_built
got=$("$gb_tmp/kube-proxy" --version 2>&1) || die "built kube-proxy does not run: $got"
[[ "$got" == "Kubernetes $k8s_ver" ]] || die "built kube-proxy says '$got', want 'Kubernetes $k8s_ver'"
say "kube-proxy: $got"
got=$("$gb_tmp/coredns" -version 2>&1) || die "built coredns does not run: $got"
[[ "$got" == *"CoreDNS-${COREDNS_VERSION#v}"* ]] || die "built coredns says '$got', want $COREDNS_VERSION"
say "coredns: $(head -n 1 <<<"$got")"
got=$("$gb_tmp/flanneld" --version 2>&1) || die "built flanneld does not run: $got"
[[ "$got" == *"$FLANNEL_VERSION"* ]] || die "built flanneld says '$got', want $FLANNEL_VERSION"
say "flanneld: $got"

gobuild_finish "k8s=$k8s_ver" "coredns=$COREDNS_VERSION" "flannel=$FLANNEL_VERSION"
