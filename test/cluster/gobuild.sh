# shellcheck shell=bash
# test/cluster/gobuild.sh - the cached Go build behind build.sh and
# build-metrics-server.sh; source it from them (they run under set -euo
# pipefail).
#
# A build goes into DIR/bin under a cache root outside the clone; the stamp
# DIR/stamp, written last, marks it complete, so a warm run only checks the
# stamp.  Concurrent runs (parallel test jobs) take a lock in DIR: they never
# build twice or see a half-written bin dir.
#
# In this order:
#   gobuild_init DIR GOMOD BIN...
#                    the cache dir, the Go module dir and the binaries a
#                    complete build holds; sets gb_dir, gb_bin, gb_stamp
#   gobuild_cached WHAT
#                    a valid stamp (and no XN_BUILD_FORCE=1): print the bin dir
#                    and exit 0; WHAT names the release in messages
#   gobuild_begin WHAT
#                    find Go (GO), lock, check the stamp again, make the empty
#                    dir gb_tmp to build into, export the Go build env
#   ... the caller builds into "$gb_tmp" ...
#   gobuild_built    every BIN was produced
#   ... the caller checks what the binaries say about their version ...
#   gobuild_finish STAMP-LINE...
#                    move gb_tmp into place, write the stamp (the caller's
#                    lines first), print the bin dir
# say and die print "<script>: ..." on stderr; die exits 1.

say() { printf '%s: %s\n' "${0##*/}" "$*" >&2; }
die() {
    say "error: $*"
    exit 1
}

gobuild_init() {
    gb_dir=$1
    local gomod=$2
    shift 2
    gb_bins=("$@")
    gb_bin="$gb_dir/bin"
    gb_stamp="$gb_dir/stamp"
    # The stamp carries a hash of the recipe: go.mod, go.sum, the calling
    # script (its flags) and this file.  An edit that keeps the headline
    # versions but changes a dependency or a build flag still rebuilds.
    gb_sum=$(cat "$gomod/go.mod" "$gomod/go.sum" "${BASH_SOURCE[-1]}" "${BASH_SOURCE[0]}" |
        sha256sum | cut -d' ' -f1)
}

_gobuild_stamp_ok() {
    [[ "${XN_BUILD_FORCE:-0}" != 1 ]] || return 1
    [[ -f "$gb_stamp" ]] || return 1
    grep -qx "recipe-sha256=$gb_sum" "$gb_stamp" || return 1
    local b
    for b in "${gb_bins[@]}"; do [[ -x "$gb_bin/$b" ]] || return 1; done
}

gobuild_cached() {
    if _gobuild_stamp_ok; then
        say "cache hit: $1 in $gb_bin (0s)"
        echo "$gb_bin"
        exit 0
    fi
}

gobuild_begin() {
    if [[ -z "${GO:-}" ]]; then
        if command -v go >/dev/null 2>&1; then GO=$(command -v go)
        elif [[ -x /usr/local/go/bin/go ]]; then GO=/usr/local/go/bin/go
        else die "no Go toolchain: put go on PATH or set GO=/path/to/go"
        fi
    fi
    command -v "$GO" >/dev/null 2>&1 || die "no Go toolchain at GO=$GO"

    mkdir -p "$gb_dir" || die "cannot create cache dir $gb_dir (set XN_CACHE to a writable place)"
    exec 9>"$gb_dir/.lock"
    flock 9
    if _gobuild_stamp_ok; then
        say "cache hit after waiting for another build: $gb_bin"
        echo "$gb_bin"
        exit 0
    fi

    say "building (no valid stamp): $1 with $("$GO" version)"
    gb_start=$(date +%s)
    gb_tmp="$gb_dir/bin.tmp.$$"
    rm -rf "$gb_tmp" "$gb_stamp"
    mkdir -p "$gb_tmp"
    trap 'rm -rf "$gb_tmp"' EXIT
    # GOTOOLCHAIN=local: never download another toolchain; if a release
    # needs a newer Go than installed, fail loudly and pin an older release.
    # CGO_ENABLED=0 matches how upstream ships these binaries (static).
    export GOTOOLCHAIN=local GOFLAGS=-mod=mod CGO_ENABLED=0
}

gobuild_built() {
    local b
    for b in "${gb_bins[@]}"; do
        [[ -x "$gb_tmp/$b" ]] || die "go build did not produce $b"
    done
}

gobuild_finish() {
    local end
    rm -rf "$gb_bin"
    mv "$gb_tmp" "$gb_bin"
    trap - EXIT
    end=$(date +%s)
    {
        printf '%s\n' "$@"
        echo "recipe-sha256=$gb_sum"
        echo "go=$("$GO" env GOVERSION)"
        echo "build-seconds=$((end - gb_start))"
    } >"$gb_stamp.tmp"
    mv "$gb_stamp.tmp" "$gb_stamp"
    say "built in $((end - gb_start))s: $gb_bin"
    echo "$gb_bin"
}
