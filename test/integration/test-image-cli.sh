#!/bin/bash
# test-image-cli.sh BUILD_DIR - the operator's image commands (issue 11):
# `xl-pod image pack` writes an OCI layout of our format (the same inputs
# give the same digest), pushed to Debian's docker-registry on loopback with
# skopeo (or, without it, a python3 push of the layout's blobs); `xl-pod
# image pull` through xenletd, `list`, a pod from the image through the API
# server (hv_sim), `rm` refused while the pod uses it and allowed after it
# is deleted; `import` of a tar of the layout under a reference whose
# registry does not exist, then a pod with imagePullPolicy Never runs from
# it; a tampered layout is refused.
# Prints "image-cli: N passed, N failed, N skipped".
set -u
B=$(cd "${1:-build}" && pwd)
SRC=$(cd "$(dirname "$0")/../.." && pwd)
FIX=$SRC/test/fixtures/sim
NODE=xen-imgcli-1

# shellcheck source=test/lib/tap.sh
. "$SRC/test/lib/tap.sh"
# shellcheck source=test/integration/lib-xenletd.sh
. "$SRC/test/integration/lib-xenletd.sh"

for tool in kubectl docker-registry python3 tar; do
	if ! command -v $tool >/dev/null; then
		skip "image cli checks" "$tool not installed"
		summary image-cli
		exit
	fi
done

RPID=
xn_it_cluster_up test-image-cli || { summary image-cli; exit; }
trap 'xn_it_kill "$RPID"; _xn_it_cleanup' EXIT

XLP() { "$B/xl-pod" -s "$TMP/ctl.sock" "$@"; }
jp() { kubectl get "$1" -o jsonpath="$2" 2>/dev/null; }
event_msgs() {
	kubectl get events --field-selector "involvedObject.name=$1,reason=$2" \
		-o jsonpath='{range .items[*]}{.message}{"\n"}{end}' 2>/dev/null
}
pod() { # pod NAME IMAGE POLICY
	kubectl apply -f - >/dev/null <<YAML
apiVersion: v1
kind: Pod
metadata: {name: $1}
spec:
  runtimeClassName: xen-unikernel
  restartPolicy: Never
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: "$2"
    imagePullPolicy: $3
    resources: {limits: {memory: 32Mi, cpu: 100m}}
YAML
}
guest_log_has() { # guest_log_has POD TEXT
	local uid
	uid=$(jp "pod/$1" '{.metadata.uid}')
	wait_for 20 sh -c "cat '$TMP/logs/default_$1_$uid/main/'*.log 2>/dev/null | grep -qF '$2'"
}

# ---- the registry ----
RPORT=$(_cluster_free_port)
REG=127.0.0.1:$RPORT
mkdir -p "$TMP/registry"
cat >"$TMP/registry.yml" <<EOF
version: 0.1
log: {level: info}
storage:
  filesystem: {rootdirectory: $TMP/registry}
  delete: {enabled: true}
http:
  addr: $REG
  secret: xenlet-test
EOF
docker-registry serve "$TMP/registry.yml" >"$TMP/registry.log" 2>&1 &
RPID=$!
wait_for 20 curl -fsS "http://$REG/v2/" -o /dev/null
check "docker-registry serves on $REG" $? "$(tail -n 5 "$TMP/registry.log")"

# ---- pack ----
out=$("$B/xl-pod" image pack "$FIX/server.sim" --cmdline role=packed --type pvh \
	--min-memory 16Mi --net-config none --tag 1 -o "$TMP/lay" 2>&1)
check "xl-pod image pack writes a layout" $? "$out"
DIGEST=$(grep -oE 'sha256:[0-9a-f]{64}' <<<"$out")
out2=$("$B/xl-pod" image pack "$FIX/server.sim" --cmdline role=packed --type pvh \
	--min-memory 16Mi --net-config none --tag 1 -o "$TMP/lay2" 2>&1)
check_eq "packing again gives the same digest" "$(grep -oE 'sha256:[0-9a-f]{64}' <<<"$out2")" "$DIGEST"
check "the layout has oci-layout, index.json and the manifest blob" \
	"$([ -f "$TMP/lay/oci-layout" ] && [ -f "$TMP/lay/index.json" ] && [ -f "$TMP/lay/blobs/sha256/${DIGEST#sha256:}" ]; echo $?)" \
	"$(find "$TMP/lay" | head)"
out=$("$B/xl-pod" image pack "$FIX/server.sim" --type hvm -o "$TMP/bad" 2>&1)
check "pack --type hvm is refused with a reason" \
	"$([ $? -ne 0 ] && grep -qF 'guest type "hvm": not pv or pvh' <<<"$out"; echo $?)" "$out"

# ---- push: skopeo as a unikernel author would, else python3 ----
if command -v skopeo >/dev/null; then
	skopeo copy --dest-tls-verify=false "oci:$TMP/lay:1" "docker://$REG/packed:1" >"$TMP/push.log" 2>&1
	check "skopeo copy oci:LAYOUT:1 docker://$REG/packed:1" $? "$(tail -n 5 "$TMP/push.log")"
else
	cat >"$TMP/push-layout.py" <<'EOF'
import json, os, sys, urllib.request
lay, reg, repo, tag = sys.argv[1:5]
base = "http://%s/v2/%s" % (reg, repo)
def req(method, url, data=None, ctype=None):
    r = urllib.request.Request(url, data=data, method=method)
    if ctype:
        r.add_header("Content-Type", ctype)
    return urllib.request.urlopen(r)
ix = json.load(open(os.path.join(lay, "index.json")))
e = [m for m in ix["manifests"] if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag][0]
blob = lambda d: open(os.path.join(lay, "blobs", "sha256", d[7:]), "rb").read()
man = json.loads(blob(e["digest"]))
for d in [man["config"]] + man["layers"]:
    loc = req("POST", base + "/blobs/uploads/").headers["Location"]
    if loc.startswith("/"):
        loc = "http://%s%s" % (reg, loc)
    req("PUT", loc + ("&" if "?" in loc else "?") + "digest=" + d["digest"], blob(d["digest"]),
        "application/octet-stream")
req("PUT", base + "/manifests/" + tag, blob(e["digest"]), e["mediaType"])
EOF
	python3 "$TMP/push-layout.py" "$TMP/lay" "$REG" packed 1 >"$TMP/push.log" 2>&1
	check "push the layout (python3; skopeo not installed)" $? "$(tail -n 5 "$TMP/push.log")"
fi
check_eq "the registry serves the packed manifest under its digest" \
	"$(curl -fsS -o /dev/null -w '%header{docker-content-digest}' -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://$REG/v2/packed/manifests/1")" \
	"$DIGEST"

# ---- the node ----
cat >"$TMP/xenletd.yaml" <<EOF
registries:
  "$REG": {plainHTTP: true}
EOF
xn_it_start_xenletd -v --node-ip 127.0.0.1 --config "$TMP/xenletd.yaml"
wait_for 30 kubectl wait --for=condition=Ready "node/$NODE" --timeout=1s
check "node is Ready" $? "$(tail -n 5 "$TMP/xenletd.log")"

# ---- pull, list ----
out=$(XLP image pull "$REG/packed:1" 2>&1)
check "xl-pod image pull $REG/packed:1" $? "$out"
check "pull prints the digest and size" \
	"$(grep -qE "^$REG/packed:1: digest $DIGEST, size [0-9]+ bytes" <<<"$out"; echo $?)" "$out"
out=$(XLP image pull "$REG/packed:2" 2>&1)
check "pull of an unknown tag fails, saying so" \
	"$([ $? -ne 0 ] && grep -qF 'manifest unknown' <<<"$out"; echo $?)" "$out"
out=$(XLP image list 2>&1)
check "image list shows the reference and digest" \
	"$(grep -qE "^$REG/packed:1 +$DIGEST +[0-9]+$" <<<"$out"; echo $?)" "$out"

# ---- a pod from it, through the API server; rm refused while it runs ----
pod packed "$REG/packed:1" IfNotPresent
wait_for 60 kubectl wait --for=jsonpath='{.status.phase}'=Running pod/packed --timeout=1s
check "a pod of the pulled image reaches Running" $? "$(jp pod/packed '{.status.containerStatuses[0].state}')"
check "it is the image xl-pod pulled (already present)" \
	"$(event_msgs packed Pulled | grep -qF 'already present on machine'; echo $?)" "$(event_msgs packed Pulled)"
check_eq "imageID is the packed digest" "$(jp pod/packed '{.status.containerStatuses[0].imageID}')" \
	"$REG/packed@$DIGEST"
guest_log_has packed role=packed
check "the packed command line reaches the guest" $? "$(tail -n 3 "$TMP/xenletd.log")"
out=$(XLP image rm "$REG/packed:1" 2>&1)
check "image rm is refused while the pod uses it, naming the pod" \
	"$([ $? -ne 0 ] && grep -qF "is in use by pod default/packed" <<<"$out"; echo $?)" "$out"
check "the image is still listed" "$(XLP image list | grep -qF "$REG/packed:1"; echo $?)" "$(XLP image list 2>&1)"
kubectl delete pod packed --timeout=60s >/dev/null 2>&1
wait_for 30 sh -c "! '$B/xl-pod' -s '$TMP/ctl.sock' list | grep -qw packed"
check "the pod is gone from the node" $? "$(XLP list 2>&1)"
out=$(XLP image rm "$REG/packed:1" 2>&1)
check "image rm after the pod is deleted" "$(grep -qF "Untagged: $REG/packed:1" <<<"$out"; echo $?)" "$out"
check "the image is no longer listed" "$(! XLP image list | grep -qF "$REG/packed:1"; echo $?)" "$(XLP image list 2>&1)"
check "its manifest blob is gone from the cache" \
	"$([ ! -e "$TMP/root/image-cache/blobs/sha256/${DIGEST#sha256:}" ]; echo $?)" ""

# ---- import offline: a tar of the layout, a registry that does not exist ----
EDGE=edge.invalid:5000/packed:1
tar -C "$TMP/lay" -cf "$TMP/packed.tar" .
out=$(XLP image import "$TMP/packed.tar" "$EDGE" 2>&1)
check "image import of a layout tar" "$(grep -qF "$EDGE: digest $DIGEST" <<<"$out"; echo $?)" "$out"
pod edge "$EDGE" Never
wait_for 60 kubectl wait --for=jsonpath='{.status.phase}'=Running pod/edge --timeout=1s
check "a pod (imagePullPolicy Never) runs from the imported image" $? \
	"$(jp pod/edge '{.status.containerStatuses[0].state}')"
guest_log_has edge role=packed
check "the imported command line reaches the guest" $? ""
out=$(XLP image import "$TMP/lay" "$EDGE-dir" 2>&1)
check "image import of a layout directory" "$(grep -qF "$DIGEST" <<<"$out"; echo $?)" "$out"

# a tampered layout: the kernel blob rewritten (same size); a kernel the
# cache does not hold already (a blob already verified there is not re-read)
kd=$(sha256sum <"$FIX/ticker.sim" | cut -d' ' -f1)
"$B/xl-pod" image pack "$FIX/ticker.sim" --tag 1 -o "$TMP/tampered" >/dev/null
python3 -c "import sys; p=sys.argv[1]; n=len(open(p,'rb').read()); open(p,'wb').write(b'X'*n)" \
	"$TMP/tampered/blobs/sha256/$kd"
out=$(XLP image import "$TMP/tampered" edge.invalid:5000/tampered:1 2>&1)
check "a tampered layout is refused: digest mismatch" \
	"$([ $? -ne 0 ] && grep -qF 'digest mismatch' <<<"$out"; echo $?)" "$out"
check "and is not listed" "$(! XLP image list | grep -qF tampered; echo $?)" "$(XLP image list 2>&1)"

kubectl delete pod --all --wait=false >/dev/null 2>&1
xn_it_kill "$RPID"
RPID=
summary image-cli
