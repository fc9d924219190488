#!/bin/sh
# xenstore-shim.sh - xenstore-read, xenstore-write and xenstore-rm over a
# directory, for running Xen hotplug scripts (packaging/vif-xenlet) without
# Xen.  Link or copy it under those three names into a directory put first
# on PATH; the store is the directory $XN_XENSTORE_DIR.
#
# A node /a/b is the directory $XN_XENSTORE_DIR/a/b; its value is the file
# ".value" in it.  Relative paths are under /local/domain/0 (Dom0's home),
# as the real tools resolve them.  Exit status and output follow the real
# tools: read prints one value per line and fails if a path is missing.
set -u
: "${XN_XENSTORE_DIR:?xenstore-shim: XN_XENSTORE_DIR is not set}"

node() {
	case $1 in
	*..*) echo "xenstore-shim: bad path $1" >&2 && return 1 ;;
	/*) printf '%s%s' "$XN_XENSTORE_DIR" "$1" ;;
	*) printf '%s/local/domain/0/%s' "$XN_XENSTORE_DIR" "$1" ;;
	esac
}

case ${0##*/} in
xenstore-read)
	for p in "$@"; do
		n=$(node "$p") || exit 1
		if [ ! -f "$n/.value" ]; then
			echo "xenstore-read: couldn't read path $p" >&2
			exit 1
		fi
		cat "$n/.value"
		echo
	done
	;;
xenstore-write)
	while [ $# -ge 2 ]; do
		n=$(node "$1") || exit 1
		mkdir -p "$n" && printf '%s' "$2" >"$n/.value" || exit 1
		shift 2
	done
	[ $# -eq 0 ] || {
		echo "xenstore-write: a path without a value" >&2
		exit 1
	}
	;;
xenstore-rm)
	for p in "$@"; do
		n=$(node "$p") || exit 1
		rm -rf "$n"
	done
	;;
*)
	echo "xenstore-shim: call me as xenstore-read, xenstore-write or xenstore-rm" >&2
	exit 1
	;;
esac
