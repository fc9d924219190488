#!/usr/bin/env bash
# cluster.sh - command-line face of test/cluster/lib.sh.
#
#   cluster.sh up                    start a cluster; prints the env file path
#                                    (run dir: $XN_CLUSTER_DIR or a fresh mktemp -d)
#   cluster.sh env [DIR]             print the env file of the cluster in DIR
#   cluster.sh down [DIR]            stop its processes, remove DIR
#   cluster.sh status [DIR]          "NAME PID" of each live component
#   cluster.sh node-kubeconfig NAME OUT [SERVER] [DIR]
#   cluster.sh apiserver-stop|apiserver-start [DIR]
#   cluster.sh metrics-server-up IP [DIR]   metrics-server for kubectl top
#   cluster.sh metrics-server-down [DIR]    (IP: a non-loopback host address)
#
# DIR defaults to $XN_CLUSTER_DIR.  Typical use by hand:
#   env=$(test/cluster/cluster.sh up) && . "$env" && kubectl get ns
#   test/cluster/cluster.sh down "$XN_CLUSTER_DIR"
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

usage() { sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }

# Load the env of an existing cluster from DIR (or $XN_CLUSTER_DIR).
load() {
    local dir=${1:-${XN_CLUSTER_DIR:-}}
    [[ -n "$dir" ]] || { echo "cluster.sh: no run dir: pass DIR or set XN_CLUSTER_DIR" >&2; exit 2; }
    [[ -f "$dir/env" ]] || { echo "cluster.sh: $dir/env: no such file (not a cluster run dir?)" >&2; exit 1; }
    # shellcheck disable=SC1091
    . "$dir/env"
}

cmd=${1:-}
[[ $# -gt 0 ]] && shift
case "$cmd" in
up)
    if ! cluster_up; then
        cluster_down
        exit 1
    fi
    echo "$XN_CLUSTER_DIR/env"
    ;;
env) load "${1:-}"; cat "$XN_CLUSTER_DIR/env" ;;
down)
    dir=${1:-${XN_CLUSTER_DIR:-}}
    [[ -n "$dir" ]] || { echo "cluster.sh: no run dir: pass DIR or set XN_CLUSTER_DIR" >&2; exit 2; }
    [[ -d "$dir" ]] || exit 0
    XN_CLUSTER_DIR=$dir
    cluster_down
    ;;
status) load "${1:-}"; cluster_pids ;;
node-kubeconfig)
    [[ $# -ge 2 ]] || usage
    load "${4:-}"
    cluster_node_kubeconfig "$1" "$2" "${3:-}"
    ;;
apiserver-stop) load "${1:-}"; cluster_apiserver_stop ;;
apiserver-start) load "${1:-}"; cluster_apiserver_start ;;
metrics-server-up)
    [[ $# -ge 1 ]] || usage
    load "${2:-}"
    cluster_metrics_server_up "$1"
    ;;
metrics-server-down) load "${1:-}"; cluster_metrics_server_down ;;
*) usage ;;
esac
