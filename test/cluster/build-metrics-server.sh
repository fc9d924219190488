#!/usr/bin/env bash
# Builds metrics-server from Go modules at the release pinned in
# test/cluster/metrics-server-gomod/go.mod, into a cache outside the clone:
#   ${XN_CACHE:-/var/cache/xenlet}/metrics-server-<ver>/bin/metrics-server
# A stamp file written last marks a complete build; a warm run only checks it.
# Prints the bin directory on stdout (last line); progress goes to stderr.
#
# Env: XN_CACHE (cache root), GO (go binary), XN_BUILD_FORCE=1 (rebuild).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
gomod="$here/metrics-server-gomod"

say() { printf 'build-metrics-server.sh: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

# The version comes from go.mod so that the cache key cannot drift from what
# is actually built.
ms_ver=$(awk '$1 == "sigs.k8s.io/metrics-server" && $2 ~ /^v/ { print $2; exit }' "$gomod/go.mod")
[[ -n "$ms_ver" ]] || die "$gomod/go.mod: no 'sigs.k8s.io/metrics-server vX.Y.Z' requirement"

cache_root=${XN_CACHE:-/var/cache/xenlet}
dir="$cache_root/metrics-server-$ms_ver"
bin="$dir/bin"
stamp="$dir/stamp"

# The stamp carries a hash of go.mod, go.sum and this script: a changed
# dependency or build flag under the same headline version still rebuilds.
want_sum=$(cat "$gomod/go.mod" "$gomod/go.sum" "${BASH_SOURCE[0]}" | sha256sum | cut -d' ' -f1)

stamp_ok() {
    [[ -f "$stamp" ]] || return 1
    grep -qx "recipe-sha256=$want_sum" "$stamp" || return 1
    [[ -x "$bin/metrics-server" ]]
}

if [[ "${XN_BUILD_FORCE:-0}" != 1 ]] && stamp_ok; then
    say "cache hit: metrics-server $ms_ver in $bin (0s)"
    echo "$bin"
    exit 0
fi

if [[ -z "${GO:-}" ]]; then
    if command -v go >/dev/null 2>&1; then GO=$(command -v go)
    elif [[ -x /usr/local/go/bin/go ]]; then GO=/usr/local/go/bin/go
    else die "no Go toolchain: put go on PATH or set GO=/path/to/go"
    fi
fi
command -v "$GO" >/dev/null 2>&1 || die "no Go toolchain at GO=$GO"

mkdir -p "$dir" || die "cannot create cache dir $dir (set XN_CACHE to a writable place)"

# Concurrent runs must not build twice or see a half-written bin dir.
exec 9>"$dir/.lock"
flock 9
if [[ "${XN_BUILD_FORCE:-0}" != 1 ]] && stamp_ok; then
    say "cache hit after waiting for another build: $bin"
    echo "$bin"
    exit 0
fi

say "building (no valid stamp): metrics-server $ms_ver with $("$GO" version)"
start=$(date +%s)
tmp="$dir/bin.tmp.$$"
rm -rf "$tmp" "$stamp"
mkdir -p "$tmp"
trap 'rm -rf "$tmp"' EXIT

# GOTOOLCHAIN=local: never download another toolchain.  CGO_ENABLED=0 and the
# -X flags are those of upstream's Makefile, so --version tells the release.
export GOTOOLCHAIN=local GOFLAGS=-mod=mod CGO_ENABLED=0
vp=k8s.io/client-go/pkg/version
ldflags="-s -w -X $vp.gitVersion=$ms_ver -X $vp.gitTreeState=clean -X $vp.buildDate=1970-01-01T00:00:00Z"
# The last line of go's output goes into the error: callers that skip a test
# on a failed build print it as the reason.
if ! out=$(cd "$gomod" && "$GO" build -trimpath -ldflags="$ldflags" -o "$tmp/metrics-server" \
    sigs.k8s.io/metrics-server/cmd/metrics-server 2>&1); then
    printf '%s\n' "$out" >&2
    die "go build failed: $(tail -n 1 <<<"$out")"
fi

[[ -x "$tmp/metrics-server" ]] || die "go build did not produce metrics-server"
got=$("$tmp/metrics-server" --version 2>&1) || die "built metrics-server does not run: $got"
[[ "$got" == *"$ms_ver"* ]] || die "built metrics-server says '$got', want '$ms_ver'"
say "$got"

rm -rf "$bin"
mv "$tmp" "$bin"
trap - EXIT
end=$(date +%s)
{
    echo "metrics-server=$ms_ver"
    echo "recipe-sha256=$want_sum"
    echo "go=$("$GO" env GOVERSION)"
    echo "build-seconds=$((end - start))"
} >"$stamp.tmp"
mv "$stamp.tmp" "$stamp"
say "built in $((end - start))s: $bin"
echo "$bin"
