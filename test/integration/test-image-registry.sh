#!/bin/bash
# test-image-registry.sh BUILD_DIR - registry images end to end (issue 11):
# Debian's docker-registry on a free loopback port with its own config and
# storage, filled by the test itself (a small OCI push in python3), xenletd
# (hv_sim) against the real control plane pulling from it: a pod whose
# image is 127.0.0.1:PORT/hello:1 reaches Running with the digest in its
# imageID and the kubelet's Pulling/Pulled Events; a real test unikernel
# kernel cached byte for byte; bad inputs: unknown tag, a corrupted blob
# (written into the registry's storage: wrong digest), a blob cut
# mid-transfer then resumed with Range, a manifest that is not JSON, an
# index with no matching platform, an invalid name, Never without the image.
# Prints "image-registry: N passed, N failed, N skipped".
set -u
B=$(cd "${1:-build}" && pwd)
SRC=$(cd "$(dirname "$0")/../.." && pwd)
FIX=$SRC/test/fixtures/sim
NODE=xen-img-1

# shellcheck source=test/lib/tap.sh
. "$SRC/test/lib/tap.sh"
# shellcheck source=test/integration/lib-xenletd.sh
. "$SRC/test/integration/lib-xenletd.sh"

for tool in kubectl docker-registry python3; do
	if ! command -v $tool >/dev/null; then
		skip "registry image checks" "$tool not installed"
		summary image-registry
		exit
	fi
done

RPID= FPID= TPID=
cleanup_registry() { xn_it_kill "$RPID"; xn_it_kill "$FPID"; xn_it_kill "$TPID"; RPID= FPID= TPID=; }

xn_it_cluster_up test-image-registry || { summary image-registry; exit; }
# the registries stop before the cluster trap removes TMP
trap 'cleanup_registry; _xn_it_cleanup' EXIT

jp() { kubectl get "$1" -o jsonpath="$2" 2>/dev/null; }
waiting_reason() { jp "pod/$1" '{.status.containerStatuses[0].state.waiting.reason}'; }
waiting_message() { jp "pod/$1" '{.status.containerStatuses[0].state.waiting.message}'; }
event_msgs() { # event_msgs POD REASON: the messages, one a line
	kubectl get events --field-selector "involvedObject.name=$1,reason=$2" \
		-o jsonpath='{range .items[*]}{.message}{"\n"}{end}' 2>/dev/null
}
pod() { # pod NAME IMAGE [POLICY]
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
    imagePullPolicy: ${3:-IfNotPresent}
    resources: {limits: {memory: 32Mi, cpu: 100m}}
YAML
}

# ---- the registry ----
RPORT=$(_cluster_free_port)
FPORT=$(_cluster_free_port)
REG=127.0.0.1:$RPORT
FAKE=127.0.0.1:$FPORT
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

# the same storage over HTTPS with a certificate from a test CA
TPORT=$(_cluster_free_port)
TLSREG=127.0.0.1:$TPORT
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=xenlet test registry CA" \
	-keyout "$TMP/ca.key" -out "$TMP/ca.pem" >/dev/null 2>&1
openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
	-keyout "$TMP/reg.key" -out "$TMP/reg.csr" >/dev/null 2>&1
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >"$TMP/reg.ext"
openssl x509 -req -in "$TMP/reg.csr" -CA "$TMP/ca.pem" -CAkey "$TMP/ca.key" -CAcreateserial \
	-days 2 -extfile "$TMP/reg.ext" -out "$TMP/reg.pem" >/dev/null 2>&1
sed -e "s|addr: $REG|addr: $TLSREG|" -e "s|secret: xenlet-test|secret: xenlet-test\n  tls: {certificate: $TMP/reg.pem, key: $TMP/reg.key}|" \
	"$TMP/registry.yml" >"$TMP/registry-tls.yml"
docker-registry serve "$TMP/registry-tls.yml" >"$TMP/registry-tls.log" 2>&1 &
TPID=$!
wait_for 20 curl -fsS --cacert "$TMP/ca.pem" "https://$TLSREG/v2/" -o /dev/null
check "docker-registry serves HTTPS on $TLSREG (test CA)" $? "$(tail -n 5 "$TMP/registry-tls.log")"

# push.py REGISTRY REPO TAG KERNEL [CMDLINE] [--index ARCH]: an image of
# our format (docs/images.md); prints the manifest's digest (or the index's)
cat >"$TMP/push.py" <<'EOF'
import hashlib, json, sys, urllib.request

reg, repo, tag, kernel = sys.argv[1:5]
cmdline = sys.argv[5] if len(sys.argv) > 5 and sys.argv[5] != "-" else None
index_arch = sys.argv[7] if len(sys.argv) > 7 and sys.argv[6] == "--index" else None
base = "http://%s/v2/%s" % (reg, repo)

def req(method, url, data=None, ctype=None):
    r = urllib.request.Request(url, data=data, method=method)
    if ctype:
        r.add_header("Content-Type", ctype)
    return urllib.request.urlopen(r)

def blob(data):
    d = "sha256:" + hashlib.sha256(data).hexdigest()
    loc = req("POST", base + "/blobs/uploads/").headers["Location"]
    if loc.startswith("/"):
        loc = "http://%s%s" % (reg, loc)
    req("PUT", loc + ("&" if "?" in loc else "?") + "digest=" + d, data,
        "application/octet-stream")
    return {"digest": d, "size": len(data)}

def manifest(ref, body, mt):
    data = json.dumps(body).encode()
    req("PUT", base + "/manifests/" + ref, data, mt)
    return "sha256:" + hashlib.sha256(data).hexdigest(), len(data)

cfg = {"guestType": "pvh", "netConfig": "none"}
if cmdline:
    cfg["cmdline"] = cmdline
c = blob(json.dumps(cfg).encode())
k = blob(open(kernel, "rb").read())
m = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
     "config": dict(c, mediaType="application/vnd.xenlet.unikernel.config.v1+json"),
     "layers": [dict(k, mediaType="application/vnd.xenlet.unikernel.kernel.v1")]}
if index_arch is None:
    print(manifest(tag, m, m["mediaType"])[0])
else:
    md, ms = manifest(tag + "-" + index_arch, m, m["mediaType"])
    ix = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
          "manifests": [{"mediaType": m["mediaType"], "digest": md, "size": ms,
                         "platform": {"os": "linux", "architecture": index_arch}}]}
    print(manifest(tag, ix, ix["mediaType"])[0])
    print(k["digest"], file=sys.stderr)
EOF
push() { python3 "$TMP/push.py" "$@" 2>"$TMP/push.err"; }

HELLO=$(push "$REG" hello 1 "$FIX/server.sim" "role=hello")
check "push hello:1 (a sim guest in our format)" "$([ -n "$HELLO" ]; echo $?)" "$(cat "$TMP/push.err")"
ARCH=$(uname -m | sed 's/x86_64/amd64/; s/aarch64/arm64/')
MULTI=$(push "$REG" multi 1 "$FIX/server.sim" - --index "$ARCH")
check "push multi:1 (an index with linux/$ARCH)" "$([ -n "$MULTI" ]; echo $?)" "$(cat "$TMP/push.err")"
push "$REG" s390 1 "$FIX/server.sim" - --index s390x >/dev/null
# kernels of their own (blobs shared with hello:1 would be in the cache)
push "$REG" corrupt 1 "$FIX/ticker.sim" - >/dev/null
{ cat "$FIX/server.sim"; for i in $(seq 200); do echo "# padding line $i to make a blob worth cutting"; done; } >"$TMP/cut.sim"
CUT=$(push "$REG" cutme 1 "$TMP/cut.sim" "role=cut")
GUEST=
if [ -f "$B/guests/xn-test-pvh" ]; then
	GUEST=$(push "$REG" guest 1 "$B/guests/xn-test-pvh")
fi

# corrupt the kernel blob of corrupt:1 in the registry's storage (same size)
ck=$(curl -fsS -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
	"http://$REG/v2/corrupt/manifests/1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["layers"][0]["digest"][7:])')
cdata=$TMP/registry/docker/registry/v2/blobs/sha256/${ck:0:2}/$ck/data
if [ -f "$cdata" ]; then
	python3 -c "import sys; p=sys.argv[1]; n=len(open(p,'rb').read()); open(p,'wb').write(b'X'*n)" "$cdata"
fi
check "the corrupt:1 kernel blob is overwritten in the registry's storage" "$([ -f "$cdata" ]; echo $?)" "$cdata"

# ---- a registry that misbehaves: a forwarding proxy that cuts the first
# transfer of each blob in half and serves a manifest that is not JSON ----
cat >"$TMP/fake.py" <<'EOF'
import base64, http.server, json, sys, urllib.request

upstream, port, log = sys.argv[1], int(sys.argv[2]), open(sys.argv[3], "a", buffering=1)
cut = set()
BASIC = "Basic " + base64.b64encode(b"robot:s3cret").decode()
TOKEN = "tok-" + "x" * 40

class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a):
        pass
    def do_GET(self):
        rng = self.headers.get("Range")
        log.write("GET %s range=%s\n" % (self.path, rng))
        auth = self.headers.get("Authorization", "")
        if self.path.startswith("/token?"):
            # the token endpoint: basic credentials in, a bearer token out
            if auth != BASIC:
                return self.answer(401, b'{"errors":[{"code":"UNAUTHORIZED"}]}',
                                   [("WWW-Authenticate", 'Basic realm="token"')])
            return self.answer(200, json.dumps({"token": TOKEN}).encode())
        if self.path.startswith("/v2/private/"):
            # bearer: the challenge names the token endpoint on this server
            if auth != "Bearer " + TOKEN:
                ch = ('Bearer realm="http://127.0.0.1:%d/token",service="fake",'
                      'scope="repository:private/hello:pull"' % port)
                return self.answer(401, b'{"errors":[{"code":"UNAUTHORIZED"}]}',
                                   [("WWW-Authenticate", ch)])
            self.path = "/v2/" + self.path[len("/v2/private/"):]
        if self.path.startswith("/v2/basic/"):
            if auth != BASIC:
                return self.answer(401, b'{"errors":[{"code":"UNAUTHORIZED"}]}',
                                   [("WWW-Authenticate", 'Basic realm="fake"')])
            self.path = "/v2/" + self.path[len("/v2/basic/"):]
        if self.path.startswith("/v2/notjson/manifests/"):
            body = b"this is not json {"
            self.send_response(200)
            self.send_header("Content-Type", "application/vnd.oci.image.manifest.v1+json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        r = urllib.request.Request("http://" + upstream + self.path)
        for h in ("Accept", "Range"):
            if self.headers.get(h):
                r.add_header(h, self.headers[h])
        try:
            resp = urllib.request.urlopen(r)
        except urllib.error.HTTPError as e:
            resp = e
        body = resp.read()
        self.send_response(resp.status if hasattr(resp, "status") else resp.code)
        for h in ("Content-Type", "Docker-Content-Digest", "Content-Range", "WWW-Authenticate"):
            if resp.headers.get(h):
                self.send_header(h, resp.headers[h])
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if "/blobs/" in self.path and self.path not in cut and len(body) > 1024:
            cut.add(self.path)
            log.write("CUT %s after %d of %d\n" % (self.path, len(body) // 2, len(body)))
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)

    def answer(self, code, body, headers=()):
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

http.server.ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
EOF
python3 "$TMP/fake.py" "$REG" "$FPORT" "$TMP/fake.log" >"$TMP/fake.err" 2>&1 &
FPID=$!
wait_for 20 curl -fsS "http://$FAKE/v2/" -o /dev/null
check "the cutting proxy serves on $FAKE" $? "$(cat "$TMP/fake.err")"

# ---- the node ----
printf 's3cret\n' >"$TMP/registry.password"
cat >"$TMP/xenletd.yaml" <<EOF
registries:
  "$REG": {plainHTTP: true}
  "$FAKE": {plainHTTP: true, username: robot, passwordFile: "$TMP/registry.password"}
  "localhost:$FPORT": {plainHTTP: true}
  "$TLSREG": {ca: "$TMP/ca.pem"}
EOF
xn_it_start_xenletd -v --node-ip 127.0.0.1 --config "$TMP/xenletd.yaml"
wait_for 30 kubectl wait --for=condition=Ready "node/$NODE" --timeout=1s
check "node is Ready" $? "$(tail -n 5 "$TMP/xenletd.log")"

# ---- a registry image reaches Running ----
pod hello "$REG/hello:1"
wait_for 60 kubectl wait --for=jsonpath='{.status.phase}'=Running pod/hello --timeout=1s
check "pod with image $REG/hello:1 reaches Running" $? \
	"$(jp pod/hello '{.status.containerStatuses[0].state}')"
check_eq "imageID is the manifest digest" "$(jp pod/hello '{.status.containerStatuses[0].imageID}')" \
	"$REG/hello@$HELLO"
check "Event Pulling" "$(event_msgs hello Pulling | grep -qF "Pulling image \"$REG/hello:1\""; echo $?)" \
	"$(event_msgs hello Pulling)"
check "Event Pulled with duration and size" \
	"$(event_msgs hello Pulled | grep -qE "^Successfully pulled image \"$REG/hello:1\" in [0-9.]+s .*Image size: [0-9]+ bytes"; echo $?)" \
	"$(event_msgs hello Pulled)"
kblob=$(find "$TMP/root/image-cache/blobs/sha256" -type f ! -name '*.partial*' -size -10k \
	-exec cmp -s "$FIX/server.sim" {} \; -print | head -n 1)
check "the kernel is in the cache under its digest" \
	"$([ -n "$kblob" ] && [ "$(sha256sum <"$kblob" | cut -d' ' -f1)" = "$(basename "$kblob")" ]; echo $?)" "$kblob"
huid=$(jp pod/hello '{.metadata.uid}')
check "the image's default command line reaches the guest" \
	"$(wait_for 20 sh -c "cat '$TMP/logs/default_hello_$huid/main/'*.log 2>/dev/null | grep -q 'role=hello'"; echo $?)" \
	"$(cat "$TMP/logs/default_hello_$huid/main/"*.log 2>&1 | head -n 5)"

# IfNotPresent with the image cached: no pull
pod hello2 "$REG/hello:1"
wait_for 60 kubectl wait --for=jsonpath='{.status.phase}'=Running pod/hello2 --timeout=1s
check "a second pod of the same image runs" $? "$(jp pod/hello2 '{.status}')"
check "IfNotPresent: \"already present on machine\"" \
	"$(event_msgs hello2 Pulled | grep -qF 'already present on machine'; echo $?)" "$(event_msgs hello2 Pulled)"

# an index: the entry for this node's architecture
pod multi "$REG/multi:1" Always
wait_for 60 kubectl wait --for=jsonpath='{.status.phase}'=Running pod/multi --timeout=1s
check "an index with linux/$ARCH: the pod runs" $? "$(jp pod/multi '{.status.containerStatuses[0].state}')"
check_eq "imageID of an index is the index digest" \
	"$(jp pod/multi '{.status.containerStatuses[0].imageID}')" "$REG/multi@$MULTI"

# a real test unikernel: cached byte for byte (hv_sim cannot boot an ELF)
if [ -n "$GUEST" ]; then
	pod guest "$REG/guest:1"
	wait_for 60 sh -c "kubectl get events --field-selector involvedObject.name=guest,reason=Pulled -o name | grep -q ."
	check "the test unikernel image is pulled" $? "$(waiting_message guest)"
	gblob=$TMP/root/image-cache/blobs/sha256/$(sha256sum <"$B/guests/xn-test-pvh" | cut -d' ' -f1)
	check "its kernel is in the cache byte for byte" "$(cmp -s "$gblob" "$B/guests/xn-test-pvh"; echo $?)" "$gblob"
else
	skip "test unikernel pulled" "no $B/guests/xn-test-pvh (make guests)"
fi

# ---- bad inputs ----
want_waiting() { # want_waiting NAME "REASON|REASON" MESSAGE-PART WHAT
	wait_for 40 sh -c "kubectl get pod $1 -o jsonpath='{.status.containerStatuses[0].state.waiting.reason}' 2>/dev/null | grep -qE '^($2)\$'"
	local rc=$?
	local m
	m=$(waiting_message "$1")
	check "$4: waiting $2" "$rc" "reason $(waiting_reason "$1"): $m"
	check "$4: the message says why" "$(grep -qF -- "$3" <<<"$m"; echo $?)" "$m"
}

pod unknown "$REG/hello:2"
want_waiting unknown "ErrImagePull|ImagePullBackOff" "manifest unknown" "unknown tag"
wait_for 40 sh -c "[ \"\$(kubectl get pod unknown -o jsonpath='{.status.containerStatuses[0].state.waiting.reason}')\" = ImagePullBackOff ]"
check "unknown tag: then ImagePullBackOff" $? "$(waiting_reason unknown)"
check "unknown tag: Event Failed \"Failed to pull image\"" \
	"$(event_msgs unknown Failed | grep -qF "Failed to pull image \"$REG/hello:2\""; echo $?)" "$(event_msgs unknown Failed)"
check "unknown tag: Event BackOff" \
	"$(event_msgs unknown BackOff | grep -qF "Back-off pulling image"; echo $?)" "$(event_msgs unknown BackOff)"

pod corrupt "$REG/corrupt:1"
want_waiting corrupt "ErrImagePull|ImagePullBackOff" "digest mismatch" "a corrupted blob"
check "a corrupted blob never lands under its digest" \
	"$([ ! -e "$TMP/root/image-cache/blobs/sha256/$ck" ]; echo $?)" "$(ls "$TMP/root/image-cache/blobs/sha256")"

pod notjson "$FAKE/notjson:1"
want_waiting notjson "ErrImagePull|ImagePullBackOff" "manifest: not JSON" "a manifest that is not JSON"

pod s390 "$REG/s390:1"
want_waiting s390 "ErrImagePull|ImagePullBackOff" "no manifest for linux/$ARCH in the index (it has: linux/s390x)" "an index with no matching platform"

pod never "$REG/hello:3" Never
want_waiting never "ErrImageNeverPull" "is not present with pull policy of Never" "Never, not cached"

pod badname "$REG/Hello:1"
wait_for 30 sh -c "[ \"\$(kubectl get pod badname -o jsonpath='{.status.phase}')\" = Failed ]"
check "an invalid name: Failed" $? "$(jp pod/badname '{.status}')"
check "an invalid name: InvalidImageName, what is wrong" \
	"$(jp pod/badname '{.status.reason}: {.status.message}' | grep -qF 'InvalidImageName: image "'"$REG"'/Hello:1": repository name "Hello" must be lowercase'; echo $?)" \
	"$(jp pod/badname '{.status.reason}: {.status.message}')"

# ---- two pods of one image at once: one transfer ----
TWINS=$(push "$REG" twins 1 "$FIX/heartbeat.sim" "role=twin")
pod twin1 "$FAKE/twins:1" Always
pod twin2 "$FAKE/twins:1" Always
wait_for 60 sh -c "[ \"\$(kubectl get pod twin1 twin2 -o jsonpath='{.items[*].status.phase}')\" = 'Running Running' ]"
check "two pods of one image both run" $? "$(kubectl get pod twin1 twin2 2>&1)"
tk=$(sha256sum <"$FIX/heartbeat.sim" | cut -d' ' -f1)
check_eq "the kernel blob crossed the wire once" \
	"$(grep -c "^GET /v2/twins/blobs/sha256:$tk " "$TMP/fake.log")" 1
check_eq "twin imageID" "$(jp pod/twin2 '{.status.containerStatuses[0].imageID}')" "$FAKE/twins@$TWINS"

# ---- authentication and TLS ----
pod bearer "$FAKE/private/hello:1" Always
wait_for 60 kubectl wait --for=jsonpath='{.status.phase}'=Running pod/bearer --timeout=1s
check "bearer: the challenge, a token for basic credentials, the pull" $? "$(waiting_message bearer)"
pod basic "$FAKE/basic/hello:1" Always
wait_for 60 kubectl wait --for=jsonpath='{.status.phase}'=Running pod/basic --timeout=1s
check "basic: credentials from the registry's passwordFile" $? "$(waiting_message basic)"
pod nocreds "localhost:$FPORT/basic/hello:1" Always
want_waiting nocreds "ErrImagePull|ImagePullBackOff" "wants basic credentials" "basic without credentials"
pod tls "$TLSREG/hello:1" Always
wait_for 60 kubectl wait --for=jsonpath='{.status.phase}'=Running pod/tls --timeout=1s
check "HTTPS with the registry's CA from the config" $? "$(waiting_message tls)"
pod tlsnoca "localhost:$TPORT/hello:1" Always
want_waiting tlsnoca "ErrImagePull|ImagePullBackOff" "certificate" "HTTPS without the CA"

# ---- a transfer cut in half, then resumed with Range after the back-off ----
pod cut "$FAKE/cutme:1"
want_waiting cut "ErrImagePull|ImagePullBackOff" "transfer cut after" "a blob cut mid-transfer"
wait_for 60 kubectl wait --for=jsonpath='{.status.phase}'=Running pod/cut --timeout=1s
check "after the back-off the pull resumes and the pod runs" $? "$(waiting_message cut); $(tail -n 5 "$TMP/fake.log")"
check "the second request asked for the rest (Range: bytes=N-)" \
	"$(grep -qE '^GET /v2/cutme/blobs/sha256:[0-9a-f]+ range=bytes=[1-9][0-9]*-$' "$TMP/fake.log"; echo $?)" \
	"$(cat "$TMP/fake.log")"
check_eq "imageID through the proxy" "$(jp pod/cut '{.status.containerStatuses[0].imageID}')" "$FAKE/cutme@$CUT"

kubectl delete pod --all --wait=false >/dev/null 2>&1
cleanup_registry
summary image-registry
