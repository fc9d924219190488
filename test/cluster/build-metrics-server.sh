#!/usr/bin/env bash
# Builds metrics-server from Go modules at the release pinned in
# test/cluster/metrics-server-gomod/go.mod, into a cache outside the clone:
#   ${XN_CACHE:-/var/cache/xenlet}/metrics-server-<ver>/bin/metrics-server
# A stamp file written last marks a complete build; a warm run only checks it
# (test/cluster/gobuild.sh).
# Prints the bin directory on stdout (last line); progress goes to stderr.
#
# Env: XN_CACHE (cache root), GO (go binary), XN_BUILD_FORCE=1 (rebuild).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
gomod="$here/metrics-server-gomod"
# shellcheck source=test/cluster/gobuild.sh
. "$here/gobuild.sh"

# The version comes from go.mod so that the cache key cannot drift from what
# is actually built.
ms_ver=$(awk '$1 == "sigs.k8s.io/metrics-server" && $2 ~ /^v/ { print $2; exit }' "$gomod/go.mod")
[[ -n "$ms_ver" ]] || die "$gomod/go.mod: no 'sigs.k8s.io/metrics-server vX.Y.Z' requirement"

gobuild_init "${XN_CACHE:-/var/cache/xenlet}/metrics-server-$ms_ver" "$gomod" metrics-server
gobuild_cached "metrics-server $ms_ver"
gobuild_begin "metrics-server $ms_ver"

# The -X flags are those of upstream's Makefile, so --version tells the
# release.
vp=k8s.io/client-go/pkg/version
ldflags="-s -w -X $vp.gitVersion=$ms_ver -X $vp.gitTreeState=clean -X $vp.buildDate=1970-01-01T00:00:00Z"
# The last line of go's output goes into the error: callers that skip a test
# on a failed build print it as the reason.
if ! out=$(cd "$gomod" && "$GO" build -trimpath -ldflags="$ldflags" -o "$gb_tmp/metrics-server" \
    sigs.k8s.io/metrics-server/cmd/metrics-server 2>&1); then
    printf '%s\n' "$out" >&2
    die "go build failed: $(tail -n 1 <<<"$out")"
fi

gobuild_built
got=$("$gb_tmp/metrics-server" --version 2>&1) || die "built metrics-server does not run: $got"
[[ "$got" == *"$ms_ver"* ]] || die "built metrics-server says '$got', want '$ms_ver'"
say "$got"

gobuild_finish "metrics-server=$ms_ver"
