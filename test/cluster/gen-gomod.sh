#!/usr/bin/env bash
# gen-gomod.sh K8S_VERSION [ETCD_VERSION] - regenerate test/cluster/gomod/go.mod
# for another Kubernetes release: requires k8s.io/kubernetes@K8S_VERSION and
# replaces every staging module its go.mod lists (=> ./staging/...) with the
# published v0.<minor>.<patch>, then runs go mod tidy.  ETCD_VERSION defaults
# to the go.etcd.io/etcd/server/v3 version that release pins.
set -euo pipefail

k8s=${1:?usage: gen-gomod.sh K8S_VERSION [ETCD_VERSION]  (e.g. v1.34.4)}
[[ "$k8s" =~ ^v1\.([0-9]+)\.([0-9]+)$ ]] || { echo "gen-gomod.sh: '$k8s' is not v1.MINOR.PATCH" >&2; exit 2; }
staging="v0.${BASH_REMATCH[1]}.${BASH_REMATCH[2]}"
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
GO=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
export GOTOOLCHAIN=local GOFLAGS=-mod=mod

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# A throw-away module: `go mod download` needs one to resolve against.
(cd "$tmp" && "$GO" mod init probe >/dev/null 2>&1)
upstream=$(cd "$tmp" && "$GO" mod download -json "k8s.io/kubernetes@$k8s" |
    sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')
[[ -f "$upstream" ]] || { echo "gen-gomod.sh: cannot fetch go.mod of k8s.io/kubernetes@$k8s" >&2; exit 1; }

etcd=${2:-$(awk '$1 == "go.etcd.io/etcd/server/v3" { print $2; exit }' "$upstream")}
gover=$(awk '$1 == "go" { print $2; exit }' "$upstream")
godebug=$(awk '$1 == "godebug" { print; exit }' "$upstream")

out="$here/gomod/go.mod"
{
    sed -n '1,/^module /{/^module /!p}' "$out" # keep the explanatory header
    echo "module xenlet.test/cluster"
    echo
    echo "go $gover"
    [[ -n "$godebug" ]] && { echo; echo "$godebug"; }
    echo
    echo "require ("
    echo "	k8s.io/kubernetes $k8s"
    echo "	go.etcd.io/etcd/server/v3 $etcd"
    echo ")"
    echo
    echo "tool ("
    echo "	go.etcd.io/etcd/server/v3"
    echo "	k8s.io/kubernetes/cmd/kube-apiserver"
    echo "	k8s.io/kubernetes/cmd/kube-controller-manager"
    echo "	k8s.io/kubernetes/cmd/kube-scheduler"
    echo ")"
    echo
    echo "replace ("
    awk -v v="$staging" '$2 == "=>" && $3 ~ /^\.\/staging\// { printf "\t%s => %s %s\n", $1, $1, v }' "$upstream"
    echo ")"
} >"$tmp/go.mod"
n=$(grep -c '=> .* v0\.' "$tmp/go.mod" || true)
[[ "$n" -gt 20 ]] || { echo "gen-gomod.sh: only $n staging replaces found in upstream go.mod; format changed?" >&2; exit 1; }
cp "$tmp/go.mod" "$out"
rm -f "$here/gomod/go.sum"
(cd "$here/gomod" && "$GO" mod tidy)
echo "gen-gomod.sh: k8s $k8s (staging $staging, $n modules), etcd $etcd, go $gover -> $out" >&2
