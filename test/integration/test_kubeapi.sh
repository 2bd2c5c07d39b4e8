#!/usr/bin/env bash
# The test apiserver (test/lib/kube_apiserver.py, a test double of
# kube-apiserver) driven by the real kubectl as a user drives a cluster:
# the CRD and the seed's AHPA applied, `kubectl get ahpa` with the CRD's
# columns, the status subresource filling them, `kubectl scale`, a stale
# update refused with 409, paging, watch; then through curl what a client
# library meets: forced 410 Gone, dropped streams, bookmarks, expired
# continue tokens, bearer tokens, TokenReview and SubjectAccessReview per
# policy, a partition, owner-reference garbage collection and request counts.
set -u
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
. "$here/../lib/common.sh"
. "$here/../lib/kubeapi.sh" || { echo "FAIL: test/lib/kubeapi.sh does not load"; exit 1; }
AHPA_TMP=$(mktemp -d)
trap ahpa_cleanup EXIT
T=$AHPA_TMP
PY=$AHPA_PY # see common.sh
export PYTHONDONTWRITEBYTECODE=1   # keep the source tree clean

ahpa_check "unit tests of the test apiserver's pieces" \
    "$PY" -m unittest discover -s "$src/test/lib/kubeapi" -t "$src/test/lib"

cat >"$T/policy.json" <<'JSON'
{"rules": [
  {"user": "alice", "verbs": ["get", "list"], "apiGroups": ["custom.metrics.k8s.io"],
   "resources": ["pods/*"], "reason": "alice reads pod metrics"},
  {"group": "ops", "nonResourceURLs": ["/metrics"], "verbs": ["get"]},
  {"user": "mallory", "allow": false, "reason": "mallory is banned"}
]}
JSON
cat >"$T/preload.yaml" <<'YAML'
apiVersion: v1
kind: Namespace
metadata: {name: preloaded}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: preloaded}
data: {answer: "42"}
YAML
ahpa_start_kubeapi "$T" --preload "$T/preload.yaml" --state-file "$T/state.json" \
    --request-log "$T/requests.log" --policy "$T/policy.json" \
    --token alice-token=alice:ops,dev --token bob-token=bob
ahpa_check "the test apiserver starts and writes its port" test -n "${KUBEAPI_PORT:-}"
spid=$KUBEAPI_PID
PORT=$KUBEAPI_PORT
URL=$KUBEAPI_URL
ln -s kubeapi-tls "$T/tls"
ahpa_check "it serves /readyz" ahpa_wait_for 5 curl -sf -m 2 --cacert "$T/tls/ca.crt" \
    -H "Authorization: Bearer bob-token" "$URL/readyz"

k() { HOME="$T" KUBECONFIG="$T/kubeconfig" kubectl --request-timeout=10s "$@" </dev/null; }
kin() { HOME="$T" KUBECONFIG="$T/kubeconfig" kubectl --request-timeout=10s "$@"; }
# -m 30: the longest watch below asks for timeoutSeconds=20.
admin_curl() { curl -s -m 30 --cacert "$T/tls/ca.crt" --cert "$T/tls/admin.crt" --key "$T/tls/admin.key" "$@"; }
json_field() { "$PY" -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

ahpa_equals "--preload objects are there" "$(k get cm settings -n preloaded -o jsonpath='{.data.answer}')" 42
out=$(admin_curl "$URL/apis")
ahpa_equals "legacy discovery without the aggregated Accept" \
    "$(echo "$out" | json_field 'd["kind"], "apps" in [g["name"] for g in d["groups"]]')" "APIGroupList True"
out=$(admin_curl -H 'Accept: application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json' "$URL/apis")
ahpa_equals "aggregated discovery when asked" \
    "$(echo "$out" | json_field 'd["kind"], d["apiVersion"]')" "APIGroupDiscoveryList apidiscovery.k8s.io/v2"
out=$(admin_curl "$URL/apis/apps/v1")
ahpa_equals "deployments/scale is an autoscaling/v1 Scale" \
    "$(echo "$out" | json_field '[(r["group"], r["version"], r["kind"]) for r in d["resources"] if r["name"] == "deployments/scale"][0]')" \
    "('autoscaling', 'v1', 'Scale')"

# --- the seed's objects, applied as a user applies them ----------------------
out=$(k apply -f "$src/manifests/crd/" 2>&1)
ahpa_contains "kubectl apply the CRD" "$out" "advancedhorizontalpodautoscalers.autoscaling.alibabacloud.com created"
out=$(kin apply -f - 2>&1 <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata: {name: bert-intent-detection, namespace: default, labels: {app: bert}}
spec:
  replicas: 2
  selector: {matchLabels: {app: bert}}
  template:
    metadata: {labels: {app: bert}}
    spec: {containers: [{name: bert, image: "registry.example/bert:1"}]}
YAML
)
ahpa_contains "kubectl apply a Deployment" "$out" "deployment.apps/bert-intent-detection created"
out=$(k apply -f "$src/manifests/examples/fib-gpu.yaml" 2>&1)
ahpa_contains "kubectl apply fib-gpu.yaml" "$out" "fib-gpu created"
out=$(k apply -f "$src/manifests/examples/fib-gpu.yaml" 2>&1)
ahpa_contains "applying it again changes nothing" "$out" "fib-gpu unchanged"

out=$(k get ahpa 2>&1)
ahpa_equals "kubectl get ahpa prints the CRD's columns" "$(echo "$out" | head -1 | tr -s ' ')" \
    "NAME STRATEGY REFERENCE METRIC TARGET(%) CURRENT(%) DESIREDPODS REPLICAS MINPODS MAXPODS AGE"
ahpa_equals "the spec columns are filled, the status ones empty" \
    "$(echo "$out" | sed -n 2p | awk '{print $1, $2, $3, $4, $5, NF}')" \
    "fib-gpu observer bert-intent-detection gpu 20 6"
ahpa_equals "schema defaults are applied" \
    "$(k get ahpa fib-gpu -o jsonpath='{.spec.stabilizationWindowSeconds} {.spec.scaleTargetRef.apiVersion} {.metadata.generation}')" \
    "300 apps/v1 1"

out=$(k patch ahpa fib-gpu --subresource=status --type=merge \
      -p '{"status":{"currentMetric":17,"desiredReplicas":4,"currentReplicas":2,"minPods":4,"maxPods":50}}' 2>&1)
ahpa_contains "kubectl patch --subresource=status" "$out" "fib-gpu patched"
ahpa_equals "the status columns fill" "$(k get ahpa --no-headers | awk '{print $6, $7, $8, $9, $10}')" \
    "17 4 2 4 50"
ahpa_equals "a status write leaves the generation" \
    "$(k get ahpa fib-gpu -o jsonpath='{.metadata.generation}')" "1"
k patch ahpa fib-gpu --type=merge -p '{"spec":{"scaleStrategy":"auto"},"status":{"currentMetric":99}}' >/dev/null 2>&1
ahpa_equals "a spec patch bumps the generation and cannot write the status" \
    "$(k get ahpa fib-gpu -o jsonpath='{.metadata.generation} {.spec.scaleStrategy} {.status.currentMetric}')" \
    "2 auto 17"

k patch ahpa fib-gpu --type=json -p '[{"op":"replace","path":"/spec/maxReplicas","value":60}]' >/dev/null 2>&1
ahpa_equals "kubectl patch --type=json" "$(k get ahpa fib-gpu -o jsonpath='{.spec.maxReplicas}')" 60

ahpa_contains "kubectl wait for the CRD to be Established" \
    "$(k wait --for=condition=Established crd/advancedhorizontalpodautoscalers.autoscaling.alibabacloud.com --timeout=5s 2>&1)" \
    "condition met"
uid=$(k get ahpa fib-gpu -o jsonpath='{.metadata.uid}')
kin create -f - >/dev/null <<YAML
apiVersion: v1
kind: Event
metadata: {name: fib-gpu.1, namespace: default}
involvedObject: {apiVersion: autoscaling.alibabacloud.com/v1beta1, kind: AdvancedHorizontalPodAutoscaler, name: fib-gpu, namespace: default, uid: "$uid"}
reason: NoSeason
message: no season found yet
type: Normal
source: {component: ahpa-metrics-adapter}
count: 1
YAML
ahpa_equals "events by involvedObject field selector" \
    "$(k get events --field-selector involvedObject.name=fib-gpu,involvedObject.kind=AdvancedHorizontalPodAutoscaler --no-headers | awk '{print $1}')" \
    "fib-gpu.1"
ahpa_contains "kubectl describe ahpa shows its events" "$(k describe ahpa fib-gpu 2>&1)" "no season found yet"

# --- scale subresource, optimistic concurrency -------------------------------
ahpa_equals "kubectl get deploy prints READY UP-TO-DATE AVAILABLE" \
    "$(k get deploy bert-intent-detection --no-headers | awk '{print $2, $3, $4}')" "2/2 2 2"
ahpa_contains "kubectl rollout status (the status follows spec at once)" \
    "$(k rollout status deploy/bert-intent-detection --timeout=5s 2>&1)" "successfully rolled out"
k get deploy bert-intent-detection -o json >"$T/deploy-old.json"
out=$(k scale deploy bert-intent-detection --replicas=5 2>&1)
ahpa_contains "kubectl scale" "$out" "scaled"
scale=$(admin_curl "$URL/apis/apps/v1/namespaces/default/deployments/bert-intent-detection/scale")
ahpa_equals "the scale subresource" \
    "$(echo "$scale" | json_field 'd["kind"], d["apiVersion"], d["spec"]["replicas"], d["status"]["replicas"], d["status"]["selector"]')" \
    "Scale autoscaling/v1 5 5 app=bert"
out=$(HOME="$T" KUBECONFIG="$T/kubeconfig" kubectl replace -f "$T/deploy-old.json" 2>&1)
ahpa_contains "a stale update is a 409 Conflict" "$out" "the object has been modified"
ahpa_equals "and changed nothing" "$(k get deploy bert-intent-detection -o jsonpath='{.spec.replicas}')" 5

# --- paging and watch through kubectl ---------------------------------------
for i in 1 2 3 4 5; do
    printf '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p%d","labels":{"app":"bert","i":"%d"}},"spec":{"containers":[{"name":"c","image":"x"}]}}\n' \
        "$i" "$i"
done | kin create -f - >/dev/null
: >"$T/requests.log"
ahpa_equals "kubectl get pods --chunk-size=2 lists every pod" \
    "$(k get pods --chunk-size=2 --no-headers | awk '{print $1}' | tr '\n' ' ')" "p1 p2 p3 p4 p5 "
ahpa_equals "in three pages" "$(grep -c '"path": "/api/v1/namespaces/default/pods".*limit=2' "$T/requests.log")" 3
ahpa_equals "label selector in/=" "$(k get pods -l 'i in (1,4),app=bert' --no-headers | awk '{print $1}' | tr '\n' ' ')" "p1 p4 "
ahpa_equals "label selector notin/!=" "$(k get pods -l 'i notin (1,4),i!=2' --no-headers | awk '{print $1}' | tr '\n' ' ')" "p3 p5 "
out=$(admin_curl -H 'Accept: application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json' \
      "$URL/api/v1/namespaces/default/pods?limit=1")
ahpa_equals "metadata-only lists" "$(echo "$out" | json_field 'd["kind"], d["items"][0]["kind"], "spec" in d["items"][0]')" \
    "PartialObjectMetadataList PartialObjectMetadata False"
ahpa_equals "field selector" "$(k get pods --field-selector metadata.name=p3 --no-headers | awk '{print $1}')" "p3"

HOME="$T" KUBECONFIG="$T/kubeconfig" timeout 8 kubectl get pods -w --request-timeout=4s \
    </dev/null >"$T/watch.out" 2>&1 &
wpid=$!
ahpa_wait_for 5 grep -q p5 "$T/watch.out"
printf '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"late"},"spec":{"containers":[{"name":"c","image":"x"}]}}' |
    kin create -f - >/dev/null
ahpa_check "kubectl get pods -w sees the new pod" ahpa_wait_for 5 grep -q '^late ' "$T/watch.out"
ahpa_stop_pid "$wpid"

# --- watch edge cases through curl --------------------------------------------
rv=$(admin_curl "$URL/api/v1/namespaces/default/pods?limit=1" | json_field 'd["metadata"]["resourceVersion"]')
first=$(admin_curl "$URL/api/v1/namespaces/default/pods?limit=2" | json_field 'd["metadata"]["continue"]')
out=$(admin_curl "$URL/api/v1/namespaces/default/pods?watch=1&resourceVersion=$rv&timeoutSeconds=1")
ahpa_equals "a watch from a retained resourceVersion ends cleanly after timeoutSeconds" "$out" ""
admin_curl -X POST "$URL/-/test/compact" >/dev/null
out=$(admin_curl "$URL/api/v1/namespaces/default/pods?watch=1&resourceVersion=$((rv - 1))&timeoutSeconds=5")
ahpa_equals "a watch from a compacted resourceVersion gets ERROR 410" \
    "$(echo "$out" | head -1 | json_field 'd["type"], d["object"]["code"], d["object"]["reason"]')" "ERROR 410 Expired"
out=$(admin_curl "$URL/api/v1/namespaces/default/pods?limit=2&continue=$first")
ahpa_equals "an expired continue token is 410 Expired" \
    "$(echo "$out" | json_field 'd["kind"], d["code"], d["reason"]')" "Status 410 Expired"

admin_curl -N "$URL/api/v1/namespaces/default/pods?watch=1&resourceVersion=$rv&timeoutSeconds=20" >"$T/w1" &
w1=$!
sleep 0.5
admin_curl -X POST "$URL/-/test/expire-watches" >/dev/null
wait "$w1"
ahpa_equals "a forced 410 on an open watch" \
    "$(tail -1 "$T/w1" | json_field 'd["type"], d["object"]["code"]')" "ERROR 410"

admin_curl -N "$URL/api/v1/namespaces/default/pods?watch=1&timeoutSeconds=20" >"$T/w2" &
w2=$!
sleep 0.5
admin_curl -X POST "$URL/-/test/drop-watches" >/dev/null
wait "$w2"
rc=$?
ahpa_check "a dropped watch is cut mid-stream (curl status $rc)" test "$rc" -eq 18
ahpa_equals "after the initial ADDED events" "$(grep -c '"type":"ADDED"' "$T/w2")" 6

now=$(admin_curl "$URL/api/v1/namespaces/default/pods" | json_field 'd["metadata"]["resourceVersion"]')
out=$(admin_curl -N "$URL/api/v1/namespaces/default/pods?watch=1&resourceVersion=$now&allowWatchBookmarks=true&timeoutSeconds=1.5")
ahpa_equals "bookmarks carry the current resourceVersion" \
    "$(echo "$out" | head -1 | json_field 'd["type"], d["object"]["metadata"]["resourceVersion"]')" "BOOKMARK $now"
admin_curl -N "$URL/api/v1/namespaces/default/pods?watch=1&resourceVersion=$now&labelSelector=app%3Dbert&timeoutSeconds=1.5" >"$T/w3" &
w3=$!
sleep 0.5
k label pod p1 app=other --overwrite >/dev/null
wait "$w3"
ahpa_equals "an object leaving a watch's selector is DELETED for it" \
    "$(json_field 'd["type"], d["object"]["metadata"]["name"]' <"$T/w3")" "DELETED p1"

# --- authentication and reviews -------------------------------------------------
code=$(curl -s -m 10 -o /dev/null -w '%{http_code}' --cacert "$T/tls/ca.crt" -H "Authorization: Bearer alice-token" \
       "$URL/api/v1/namespaces/default/pods")
ahpa_equals "a known bearer token lists" "$code" 200
out=$(curl -s -m 10 --cacert "$T/tls/ca.crt" -H "Authorization: Bearer nope" "$URL/api/v1/namespaces/default/pods")
ahpa_equals "an unknown token is a 401 Status" "$(echo "$out" | json_field 'd["code"], d["reason"]')" "401 Unauthorized"

# Reviews have no PATCH, so kubectl validates them client-side with OpenAPI v2
# (protobuf), which this server does not serve: hence --validate=false.
tr_json() { printf '{"apiVersion":"authentication.k8s.io/v1","kind":"TokenReview","spec":{"token":"%s"}}' "$1"; }
out=$(tr_json alice-token | kin create --validate=false -f - -o json)
ahpa_equals "TokenReview of a known token" \
    "$(echo "$out" | json_field 'd["status"]["authenticated"], d["status"]["user"]["username"], ",".join(d["status"]["user"]["groups"])')" \
    "True alice ops,dev,system:authenticated"
out=$(tr_json stolen | admin_curl -X POST -H 'Content-Type: application/json' --data-binary @- \
      "$URL/apis/authentication.k8s.io/v1/tokenreviews")
ahpa_equals "TokenReview of an unknown token" "$(echo "$out" | json_field 'd["status"]["authenticated"]')" False

review() { admin_curl -X POST -H 'Content-Type: application/json' --data-binary @- \
               "$URL/apis/authorization.k8s.io/v1/subjectaccessreviews"; }
sar() { printf '{"apiVersion":"authorization.k8s.io/v1","kind":"SubjectAccessReview","spec":{"user":"%s","groups":["%s"],%s}}' "$1" "$2" "$3"; }
attrs='"resourceAttributes":{"group":"custom.metrics.k8s.io","resource":"pods","subresource":"gpu_utilization","name":"*","namespace":"default","verb":"get"}'
ahpa_equals "SAR: alice may get pod metrics" \
    "$(sar alice dev "$attrs" | kin create --validate=false -f - -o json | json_field 'd["status"]["allowed"], d["status"]["reason"]')" \
    "True alice reads pod metrics"
ahpa_equals "SAR: bob has no rule" \
    "$(sar bob x "$attrs" | review | json_field 'd["status"]["allowed"], d["status"].get("denied", False)')" "False False"
ahpa_equals "SAR: mallory is denied" \
    "$(sar mallory ops "$attrs" | review | json_field 'd["status"]["allowed"], d["status"]["denied"]')" "False True"
ahpa_equals "SAR: a non-resource URL by group" \
    "$(sar carol ops '"nonResourceAttributes":{"path":"/metrics","verb":"get"}' | review | json_field 'd["status"]["allowed"]')" True
admin_curl -X PUT --data '{"rules":[{"user":"bob","allow":true}]}' "$URL/-/test/policy" >/dev/null
ahpa_equals "SAR: the policy is replaced at run time" \
    "$(sar bob x "$attrs" | review | json_field 'd["status"]["allowed"]')" True

admin_curl -X DELETE "$URL/-/test/requests" >/dev/null
admin_curl -X POST "$URL/-/test/partition?user=alice" >/dev/null
curl -s -o /dev/null --max-time 5 --cacert "$T/tls/ca.crt" -H "Authorization: Bearer alice-token" "$URL/api/v1/pods"
rc=$?
ahpa_check "a partitioned user gets no answer (curl status $rc)" test "$rc" -eq 52 -o "$rc" -eq 56
ahpa_equals "others still do" "$(curl -s -m 10 -o /dev/null -w '%{http_code}' --cacert "$T/tls/ca.crt" \
    -H "Authorization: Bearer bob-token" "$URL/api/v1/pods")" 200
admin_curl -X POST "$URL/-/test/partition?user=alice&mode=hang" >/dev/null
curl -s -o /dev/null --max-time 1 --cacert "$T/tls/ca.crt" -H "Authorization: Bearer alice-token" "$URL/api/v1/pods"
rc=$?
ahpa_check "a partition in hang mode leaves the request unanswered (curl status $rc)" test "$rc" -eq 28
admin_curl -X POST "$URL/-/test/heal" >/dev/null
ahpa_equals "healed" "$(curl -s -m 10 -o /dev/null -w '%{http_code}' --cacert "$T/tls/ca.crt" \
    -H "Authorization: Bearer alice-token" "$URL/api/v1/pods")" 200
ahpa_equals "requests are counted per verb, path and user" \
    "$(admin_curl "$URL/-/test/requests" | json_field 'd["counts"]["list /api/v1/pods"], d["byUser"]["alice"]["list /api/v1/pods"], d["byUser"]["alice"]["refused /api/v1/pods"]')" "2 1 2"

# --- garbage collection of owned objects ------------------------------------------
uid=$(k get ahpa fib-gpu -o jsonpath='{.metadata.uid}')
out=$(kin apply -f - 2>&1 <<YAML
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: fib-gpu-ahpa
  namespace: default
  ownerReferences:
  - {apiVersion: autoscaling.alibabacloud.com/v1beta1, kind: AdvancedHorizontalPodAutoscaler, name: fib-gpu, uid: "$uid", controller: true}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: bert-intent-detection}
  minReplicas: 1
  maxReplicas: 10
  metrics:
  - type: External
    external:
      metric: {name: ahpa_desired_replicas, selector: {matchLabels: {ahpa: fib-gpu}}}
      target: {type: AverageValue, averageValue: "1"}
YAML
)
ahpa_contains "an owned HPA is created" "$out" "created"
ahpa_equals "kubectl get hpa prints the usual columns" "$(k get hpa --no-headers | awk '{print $2, $3, $4, $5, $6, $7}')" \
    "Deployment/bert-intent-detection <unknown>/1 (avg) 1 10 0"
k delete ahpa fib-gpu >/dev/null 2>&1
out=$(k get hpa 2>&1)
ahpa_contains "deleting the AHPA deletes the HPA it owns" "$out" "No resources found"

# --- the project's manifests are accepted -----------------------------------------
# (the base and the APIServices; test_manifests.sh applies every overlay)
out=$({ k kustomize "$src/manifests/base"; echo ---; k kustomize "$src/apiservice"; } | kin apply -f - 2>&1)
rc=$?
ahpa_check "kubectl kustomize manifests/base apiservice | kubectl apply -f - ($(echo "$out" | grep -c created) created)" test "$rc" -eq 0
ahpa_contains "including the APIServices" "$out" "apiservice.apiregistration.k8s.io/v1beta1.custom.metrics.k8s.io created"

# --- fault injection for client tests ---------------------------------------------
admin_curl -X POST --data-binary 'not json' -H 'Content-Type: application/json' \
    "$URL/-/test/inject?path=/api/v1/namespaces/default/configmaps&code=500&times=1" >/dev/null
ahpa_equals "an injected answer, once" \
    "$(admin_curl -w ' %{http_code}' "$URL/api/v1/namespaces/default/configmaps")" "not json 500"
ahpa_equals "then the real one" \
    "$(admin_curl -o /dev/null -w '%{http_code}' "$URL/api/v1/namespaces/default/configmaps")" 200
admin_curl -N "$URL/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=$now&timeoutSeconds=3" >"$T/w4" &
w4=$!
sleep 0.5
admin_curl -X POST --data-binary '{"type":"ADDED","object":{"kind":"Wrong"' "$URL/-/test/watch-inject" >/dev/null
wait "$w4"
ahpa_equals "raw bytes injected into a watch stream" "$(cat "$T/w4")" '{"type":"ADDED","object":{"kind":"Wrong"'

# --- a restart with --state-file keeps objects and resourceVersions ----------------
before=$(admin_curl "$URL/api/v1/namespaces/default/pods" | json_field 'd["metadata"]["resourceVersion"], [i["metadata"]["uid"] for i in d["items"]]')
ahpa_stop_pid "$spid"
"$PY" "$src/test/lib/kube_apiserver.py" --tls-dir "$T/tls" --port "$PORT" --state-file "$T/state.json" \
    --kubeconfig "$T/kubeconfig" >>"$KUBEAPI_LOG" 2>&1 &
ahpa_track $!
ahpa_wait_for 10 admin_curl -f "$URL/readyz"
ahpa_equals "after a restart: the same objects at the same resourceVersion" \
    "$(admin_curl "$URL/api/v1/namespaces/default/pods" | json_field 'd["metadata"]["resourceVersion"], [i["metadata"]["uid"] for i in d["items"]]')" \
    "$before"
ahpa_contains "and the CRD's resources served" "$(k get --raw /apis/autoscaling.alibabacloud.com/v1beta1 2>&1)" "advancedhorizontalpodautoscalers/status"

ahpa_finish
