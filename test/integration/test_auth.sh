#!/usr/bin/env bash
# Delegated authentication and authorization against the test apiserver
# (test/lib/kube_apiserver.py, a test double of kube-apiserver: TokenReview
# from --token, SubjectAccessReview from --policy, request counts): the
# front proxy through curl as the aggregator would call (and as an attacker
# would, without the proxy's certificate), users through the real kubectl
# (client certificates, tokens), the CAs from the
# kube-system/extension-apiserver-authentication ConfigMap and their
# rotation, caches and their expiry, coalesced reviews, the kube-apiserver
# down and back, hostile headers, and the standalone refusal.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/common.sh"
. "$here/../lib/kubeapi.sh"
AHPA_TMP=$(mktemp -d)
trap ahpa_cleanup EXIT
T=$AHPA_TMP
PY=$AHPA_PY
export PYTHONDONTWRITEBYTECODE=1

# --- PKI: a client CA, two front-proxy CAs (for the rotation), another CA ---
mkca() { ahpa_pki_ca "$T" "$1"; }
# mkleaf CA NAME CN [O]: a client certificate NAME.crt/NAME.key.
mkleaf() {
    local subj="/CN=$3"
    [[ -n "${4:-}" ]] && subj="/O=$4$subj"
    ahpa_pki_leaf "$T" "$1" "$2" "$subj" "extendedKeyUsage=clientAuth"
}
mkca client-ca
mkca proxy-ca
mkca proxy-ca2
mkca other-ca
mkleaf proxy-ca proxy front-proxy-client
mkleaf proxy-ca2 proxy2 front-proxy-client
mkleaf proxy-ca intruder intruder
mkleaf other-ca forged front-proxy-client
mkleaf client-ca as-proxy front-proxy-client
mkleaf client-ca alice alice ops

cat >"$T/policy.json" <<'JSON'
{"rules": [
  {"group": "ops", "verbs": ["get"], "apiGroups": ["custom.metrics.k8s.io"],
   "resources": ["pods/*"]},
  {"user": "alice", "nonResourceURLs": ["/metrics"], "allow": false,
   "reason": "metrics are for monitoring"},
  {"user": "alice", "nonResourceURLs": ["/apis*", "/openapi/*", "/version"]},
  {"user": "bob", "verbs": ["list"], "apiGroups": ["external.metrics.k8s.io"]},
  {"user": "bob", "nonResourceURLs": ["/apis*"]},
  {"user": "bob", "verbs": ["get"], "apiGroups": ["metrics.alibabacloud.com"],
   "resources": ["predictionsobserver"], "namespaces": ["default"]},
  {"user": "crowd", "nonResourceURLs": ["/apis*"]}
]}
JSON
ahpa_start_kubeapi "$T" --policy "$T/policy.json" --token bob-token=bob \
    --token root-token=root:system:masters --token alice-token=alice:ops ||
    { ahpa_fail "test apiserver starts"; ahpa_finish; }
KA=(curl -s --cacert "$KUBEAPI_CA" --cert "$T/kubeapi-tls/admin.crt" --key "$T/kubeapi-tls/admin.key")
k() { HOME="$T" KUBECONFIG="$KUBEAPI_KUBECONFIG" kubectl --request-timeout=10s "$@" </dev/null; }
reviews() { # TokenReviews and SubjectAccessReviews received so far: "T S"
    "${KA[@]}" "$KUBEAPI_URL/-/test/requests" | "$PY" -c '
import json, sys
c = json.load(sys.stdin)["counts"]
print(c.get("create /apis/authentication.k8s.io/v1/tokenreviews", 0),
      c.get("create /apis/authorization.k8s.io/v1/subjectaccessreviews", 0))'
}

# configmap PROXY_CA: the ConfigMap as kube-apiserver keeps it.
configmap() {
    k create configmap extension-apiserver-authentication -n kube-system \
        --from-file=client-ca-file="$T/client-ca.crt" \
        --from-file=requestheader-client-ca-file="$T/$1.crt" \
        --from-literal=requestheader-allowed-names='["front-proxy-client"]' \
        --from-literal=requestheader-username-headers='["X-Remote-User"]' \
        --from-literal=requestheader-group-headers='["X-Remote-Group"]' \
        --from-literal=requestheader-extra-headers-prefix='["X-Remote-Extra-"]' \
        --dry-run=client -o yaml >"$T/cm.yaml"
    HOME="$T" KUBECONFIG="$KUBEAPI_KUBECONFIG" kubectl apply -f "$T/cm.yaml" >/dev/null 2>&1
}
k create namespace kube-system >/dev/null 2>&1
ahpa_check "the ConfigMap is created" configmap proxy-ca

# --- standalone: refused without a Kubernetes configuration ---
out=$(env -u KUBERNETES_SERVICE_HOST "$AHPA_ADAPTER" --bind-address=127.0.0.1 --secure-port=0 \
      --cert-dir="$T/standalone" 2>&1)
ahpa_contains "without Kubernetes configuration the server refuses to start" "$out" \
    "--authorization-mode=AlwaysAllow"

ahpa_start_adapter "$T/a" --authorization-mode=Webhook --kubeconfig="$KUBEAPI_KUBECONFIG" \
    --authorization-webhook-cache-authorized-ttl=3s \
    --authorization-webhook-cache-unauthorized-ttl=3s \
    --authentication-token-webhook-cache-ttl=3s -v=2 ||
    { ahpa_fail "adapter starts"; ahpa_finish; }
BASE="https://127.0.0.1:$AHPA_PORT"
CM_PATH=/apis/custom.metrics.k8s.io/v1beta1/namespaces/default/pods/*/gpu_utilization
EM_PATH=/apis/external.metrics.k8s.io/v1beta1/namespaces/default/ahpa_desired_replicas

# as CERT [CURL ARGS...] URL: status code, body in $T/body.
as() {
    local cert=$1
    shift
    local c=()
    [[ $cert != none ]] && c=(--cert "$T/$cert.crt" --key "$T/$cert.key")
    curl -s --cacert "$AHPA_CA" "${c[@]}" -o "$T/body" -w '%{http_code}' "$@"
}
proxy_hdrs=(-H "X-Remote-User: alice" -H "X-Remote-Group: ops")

# --- front proxy ---
ahpa_equals "front proxy + headers: alice lists /apis" "$(as proxy "${proxy_hdrs[@]}" "$BASE/apis")" 200
ahpa_equals "front proxy: alice (group ops) may get pod metrics (the route answers)" \
    "$(as proxy "${proxy_hdrs[@]}" "$BASE$CM_PATH")" 404
ahpa_equals "front proxy: alice may not read /metrics" "$(as proxy "${proxy_hdrs[@]}" "$BASE/metrics")" 403
ahpa_contains "the 403 says who, what and why" "$(cat "$T/body")" \
    'forbidden: User \"alice\" cannot get path \"/metrics\": metrics are for monitoring'
ahpa_equals "spoofed X-Remote-User: admin without a certificate gets no data" \
    "$(as none -H "X-Remote-User: admin" -H "X-Remote-Group: system:masters" "$BASE/apis")" 403
ahpa_contains "... it is system:anonymous" "$(cat "$T/body")" 'User \"system:anonymous\"'
ahpa_equals "the same headers with a certificate of another CA: 401" \
    "$(as forged -H "X-Remote-User: admin" -H "X-Remote-Group: system:masters" "$BASE/apis")" 401
ahpa_equals "the proxy CA but a CN not in the allowed names: 401" \
    "$(as intruder -H "X-Remote-User: admin" -H "X-Remote-Group: system:masters" "$BASE/apis")" 401
ahpa_equals "a client-CA certificate presented as the proxy: headers ignored" \
    "$(as as-proxy -H "X-Remote-User: admin" -H "X-Remote-Group: system:masters" "$BASE/metrics")" 403
ahpa_contains "... it is its own CN" "$(cat "$T/body")" 'User \"front-proxy-client\"'
ahpa_equals "always-allowed path /healthz for anyone" "$(as none "$BASE/healthz")" 200
ahpa_equals "system:masters through the front proxy reads /metrics" \
    "$(as proxy -H "X-Remote-User: ops-admin" -H "X-Remote-Group: system:masters" "$BASE/metrics")" 200
ahpa_contains "/metrics exports authentication outcomes" "$(cat "$T/body")" \
    'authentication_attempts{result="success"}'
ahpa_contains "... and review latencies" "$(cat "$T/body")" \
    'apiserver_delegated_authz_request_duration_seconds_count'
advertised=$(openssl s_client -connect "127.0.0.1:$AHPA_PORT" -CAfile "$AHPA_CA" </dev/null 2>&1 |
             sed -n '/Acceptable client certificate CA names/,/Requested Signature/p')
ahpa_contains "the TLS server advertises the client CA" "$advertised" "CN = client-ca"
ahpa_contains "... and the front-proxy CA" "$advertised" "CN = proxy-ca"

# --- hostile front-proxy headers ---
many=()
for i in $(seq 1 300); do many+=(-H "X-Remote-Group: g$i"); done
ahpa_equals "300 X-Remote-Group values: 400" "$(as proxy -H "X-Remote-User: a" "${many[@]}" "$BASE/apis")" 400
ahpa_contains "... saying why" "$(cat "$T/body")" "more than 256 front-proxy groups"
huge=$(head -c 3000 /dev/zero | tr '\0' k)
ahpa_equals "a huge extra key: 400" "$(as proxy -H "X-Remote-User: a" -H "X-Remote-Extra-$huge: v" "$BASE/apis")" 400
ahpa_equals "a bad escape in an extra key: 400" "$(as proxy -H "X-Remote-User: a" -H "X-Remote-Extra-%zz: v" "$BASE/apis")" 400
ahpa_check "still serving after hostile headers" curl -sf --cacert "$AHPA_CA" "$BASE/readyz" -o /dev/null

# --- kubectl: client certificates and tokens ---
kc() { HOME="$T" KUBECONFIG=/dev/null kubectl --server="$BASE" --certificate-authority="$AHPA_CA" \
           --request-timeout=10s "$@" </dev/null 2>&1; }
ahpa_contains "kubectl with alice's client certificate reads discovery" \
    "$(kc --client-certificate="$T/alice.crt" --client-key="$T/alice.key" get --raw /apis)" APIGroupList
ahpa_contains "kubectl with alice's certificate is refused /metrics" \
    "$(kc --client-certificate="$T/alice.crt" --client-key="$T/alice.key" get --raw /metrics)" Forbidden
ahpa_contains "kubectl with bob's token lists an external metric (the route answers)" \
    "$(kc --token=bob-token get --raw "$EM_PATH")" NotFound
ahpa_contains "bob may not get pod metrics" "$(kc --token=bob-token get --raw "$CM_PATH")" \
    'cannot get resource "pods/gpu_utilization" in API group "custom.metrics.k8s.io" in the namespace "default"'
PO=/apis/metrics.alibabacloud.com/v1beta1/namespaces/default/predictionsobserver
ahpa_contains "bob may get one predictionsobserver (the route answers)" \
    "$(kc --token=bob-token get --raw "$PO/fib-gpu")" NotFound
ahpa_contains "... but not list them" "$(kc --token=bob-token get --raw "$PO")" \
    'User "bob" cannot list resource "predictionsobserver" in API group "metrics.alibabacloud.com" in the namespace "default"'
ahpa_contains "... nor get one in another namespace" \
    "$(kc --token=bob-token get --raw "${PO/default/other}/fib-gpu")" Forbidden
ahpa_contains "a bad token: 401" "$(kc --token=nope get --raw /apis)" Unauthorized
ahpa_contains "system:masters by token reads /metrics" "$(kc --token=root-token get --raw /metrics)" \
    authentication_attempts

# --- caches, expiry, coalescing (count what the test apiserver received) ---
# (curl: kubectl asks /version before each command, one more review.)
sleep 3.2 # what bob asked above has expired
bob=(-H "Authorization: Bearer bob-token")
read -r t0 s0 <<<"$(reviews)"
as none "${bob[@]}" "$BASE/apis" >/dev/null
ahpa_equals "a cached answer is served again" "$(as none "${bob[@]}" "$BASE/apis")" 200
read -r t1 s1 <<<"$(reviews)"
ahpa_equals "two requests within the TTL: one TokenReview, one SubjectAccessReview" \
    "$((t1 - t0)) $((s1 - s0))" "1 1"
sleep 3.2
as none "${bob[@]}" "$BASE/apis" >/dev/null
read -r t2 s2 <<<"$(reviews)"
ahpa_equals "after the TTL both are asked again" "$((t2 - t1)) $((s2 - s1))" "1 1"
"${KA[@]}" -X DELETE -d '{"token": "bob-token"}' "$KUBEAPI_URL/-/test/tokens" >/dev/null
ahpa_equals "a revoked (expired) token still works from the cache within the TTL" \
    "$(as none "${bob[@]}" "$BASE/apis")" 200
sleep 3.2
ahpa_equals "... and gets 401 once the cache entry expired" "$(as none "${bob[@]}" "$BASE/apis")" 401
# From here on, TTLs long enough for a loaded machine: cached answers must
# stay cached across the steps below.
ahpa_stop_pid "$AHPA_PID"
ahpa_start_adapter "$T/b" --authorization-mode=Webhook --kubeconfig="$KUBEAPI_KUBECONFIG" \
    --authorization-webhook-cache-authorized-ttl=5m -v=2 ||
    { ahpa_fail "second adapter starts"; ahpa_finish; }
BASE="https://127.0.0.1:$AHPA_PORT"

# Coalescing, made observable: the kube-apiserver holds the review
# (partition "hang") while 20 identical requests wait parked on it. The
# adapter's own counters tell reviews started from waits joined (on the
# wire, libcurl may resend a review whose reused connection died).
counter() { # the adapter's /metrics value of series $1 (as system:masters)
    curl -s --cacert "$AHPA_CA" -H "Authorization: Bearer root-token" "$BASE/metrics" |
        awk -v s="$1" '$1 == s {print $2}'
}
SENT='ahpa_auth_reviews_total{kind="SubjectAccessReview",result="sent"}'
as proxy "${proxy_hdrs[@]}" "$BASE/apis" >/dev/null # cached for the next seconds
sent0=$(counter "$SENT")
joined0=$(counter ahpa_auth_reviews_coalesced_total)
"${KA[@]}" -X POST "$KUBEAPI_URL/-/test/partition?user=admin&mode=hang" >/dev/null
for i in $(seq 1 20); do
    curl -s --cacert "$AHPA_CA" --cert "$T/proxy.crt" --key "$T/proxy.key" -m 20 \
        -H "X-Remote-User: crowd" -o /dev/null -w '%{http_code}\n' "$BASE/apis" >>"$T/crowd" &
done
sleep 1
ahpa_check "while reviews hang, /readyz answers at once" \
    curl -sf -m 2 --cacert "$AHPA_CA" "$BASE/readyz" -o /dev/null
ahpa_equals "... and so does a cached authorization" "$(as proxy "${proxy_hdrs[@]}" -m 2 "$BASE/apis")" 200
"${KA[@]}" -X POST "$KUBEAPI_URL/-/test/heal" >/dev/null
wait_crowd() { [[ $(wc -l <"$T/crowd") -ge 20 ]]; }
ahpa_check "the 20 parked requests are answered" ahpa_wait_for 15 wait_crowd
ahpa_equals "... all alike" "$(sort -u "$T/crowd" | wc -l)" 1
ahpa_equals "20 concurrent identical requests: one SubjectAccessReview started" \
    "$(($(counter "$SENT") - sent0))" 1
ahpa_equals "... the other 19 joined it" "$(($(counter ahpa_auth_reviews_coalesced_total) - joined0))" 19

# --- the kube-apiserver down and back ---
as proxy "${proxy_hdrs[@]}" "$BASE/apis" >/dev/null          # cached
"${KA[@]}" -X POST "$KUBEAPI_URL/-/test/partition?user=admin&mode=close" >/dev/null
ahpa_equals "kube-apiserver down: a cached answer is still served" \
    "$(as proxy "${proxy_hdrs[@]}" "$BASE/apis")" 200
ahpa_equals "kube-apiserver down: a new authorization is a 500 (as kube-apiserver answers)" \
    "$(as proxy -H "X-Remote-User: carol" "$BASE/apis")" 500
ahpa_contains "a new token is a 401" "$(kc --token=alice-token get --raw /version)" Unauthorized
ahpa_equals "always-allowed paths do not wait on it" "$(as none "$BASE/readyz")" 200
"${KA[@]}" -X POST "$KUBEAPI_URL/-/test/heal" >/dev/null
ahpa_contains "kube-apiserver back: tokens work again" "$(kc --token=alice-token get --raw /version)" gitVersion

# --- CA rotation through the ConfigMap ---
# A proxy connection opened before the rotation stays open across it: its
# requests are judged by the configuration of the moment (200, then 401).
cat >"$T/keepalive.py" <<'PY'
import http.client, ssl, sys, time
port, ca, cert, key = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
ctx = ssl.create_default_context(cafile=ca)
ctx.load_cert_chain(cert, key)
conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=10)
hdrs = {"X-Remote-User": "alice", "X-Remote-Group": "ops"}
codes = []
def get():
    conn.request("GET", "/apis", headers=hdrs)
    r = conn.getresponse()
    r.read()
    codes.append(r.status)
get()
sock = conn.sock
open(sys.argv[5], "w").close()           # opened: the test may rotate now
deadline = time.monotonic() + 20
while codes[-1] == 200 and time.monotonic() < deadline:
    time.sleep(0.3)
    get()
print(codes[0], codes[-1], "same-connection" if conn.sock is sock else "reconnected")
PY
rm -f "$T/opened"
"$PY" "$T/keepalive.py" "$AHPA_PORT" "$AHPA_CA" "$T/proxy.crt" "$T/proxy.key" "$T/opened" \
    >"$T/keepalive.out" 2>&1 &
keepalive=$!
ahpa_wait_for 10 test -e "$T/opened"
ahpa_check "the ConfigMap is rotated to a new front-proxy CA" configmap proxy-ca2
rotated() { [[ $(as proxy2 "${proxy_hdrs[@]}" "$BASE/apis") == 200 ]]; }
ahpa_check "the new proxy CA is trusted without a restart" ahpa_wait_for 10 rotated
ahpa_equals "the old proxy CA is not" "$(as proxy "${proxy_hdrs[@]}" "$BASE/apis")" 401
advertised=$(openssl s_client -connect "127.0.0.1:$AHPA_PORT" -CAfile "$AHPA_CA" </dev/null 2>&1 |
             sed -n '/Acceptable client certificate CA names/,/Requested Signature/p')
ahpa_contains "new handshakes advertise the new CA" "$advertised" "CN = proxy-ca2"
ahpa_check "the adapter logged the new configuration" grep -q "from ConfigMap kube-system" "$AHPA_LOG"
wait "$keepalive"
ahpa_equals "an open proxy connection: 200 before the rotation, 401 after, no reconnect" \
    "$(cat "$T/keepalive.out")" "200 401 same-connection"
ahpa_finish
