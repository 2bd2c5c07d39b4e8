#!/usr/bin/env bash
# The real binary driven by the real kubectl: every discovery and health
# path through `get --raw`, api-versions, api-resources, and the error
# Status for paths that do not exist. Then, with the AHPA controller on:
# `kubectl explain predictionsobserver`, `kubectl get predictionsobserver
# -w` (a clear MethodNotAllowed, not an undecodable stream) and ETags on
# /apis.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/common.sh"
AHPA_TMP=$(mktemp -d)
trap ahpa_cleanup EXIT
ahpa_client_cert "$AHPA_TMP"
ahpa_start_adapter "$AHPA_TMP" -v=3 || { ahpa_fail "adapter starts"; ahpa_finish; }

json_field() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

out=$(ahpa_kubectl get --raw /apis/custom.metrics.k8s.io/v1beta2)
ahpa_equals "custom v1beta2 is an APIResourceList" \
    "$(echo "$out" | json_field 'd["kind"], d["groupVersion"], d["resources"]')" \
    "APIResourceList custom.metrics.k8s.io/v1beta2 []"

for gv in custom.metrics.k8s.io/v1beta1 external.metrics.k8s.io/v1beta1 \
          metrics.alibabacloud.com/v1beta1; do
    out=$(ahpa_kubectl get --raw "/apis/$gv")
    ahpa_equals "$gv discovery" "$(echo "$out" | json_field 'd["kind"], d["groupVersion"]')" \
        "APIResourceList $gv"
done

out=$(ahpa_kubectl get --raw /apis)
ahpa_equals "APIGroupList groups and preferred versions" \
    "$(echo "$out" | json_field '",".join(g["name"]+"="+g["preferredVersion"]["version"] for g in d["groups"])')" \
    "custom.metrics.k8s.io=v1beta2,external.metrics.k8s.io=v1beta1,metrics.alibabacloud.com=v1beta1"

out=$(ahpa_kubectl get --raw /apis/custom.metrics.k8s.io)
ahpa_equals "APIGroup document" "$(echo "$out" | json_field 'd["kind"], d["name"], len(d["versions"])')" \
    "APIGroup custom.metrics.k8s.io 2"

for p in /healthz /livez /readyz; do
    ahpa_equals "$p" "$(ahpa_kubectl get --raw "$p")" "ok"
    out=$(ahpa_kubectl get --raw "$p?verbose")
    ahpa_contains "$p?verbose lists ping" "$out" "[+]ping ok"
    ahpa_contains "$p?verbose closing line" "$out" "${p#/} check passed"
    ahpa_equals "$p/ping" "$(ahpa_kubectl get --raw "$p/ping")" "ok"
done
ahpa_contains "readyz has the shutdown check" "$(ahpa_kubectl get --raw '/readyz?verbose')" \
    "[+]shutdown ok"
ahpa_contains "exclude a check" "$(ahpa_kubectl get --raw '/readyz?verbose&exclude=shutdown')" \
    "[+]shutdown excluded: ok"

out=$(ahpa_kubectl get --raw /version)
ahpa_contains "/version has gitVersion" "$out" '"gitVersion":"v'

out=$(ahpa_kubectl get --raw /metrics)
ahpa_contains "/metrics counts requests by route" "$out" \
    'apiserver_request_total{verb="GET",route="/apis/{group}/{version}",code="200"}'
ahpa_contains "/metrics has a latency histogram" "$out" 'apiserver_request_duration_seconds_bucket'
ahpa_contains "/metrics has process metrics" "$out" 'process_resident_memory_bytes'
ahpa_contains "/metrics has build info" "$out" 'ahpa_build_info{version='

out=$(ahpa_kubectl get --raw /openapi/v2)
ahpa_equals "/openapi/v2 defines the metric lists" \
    "$(echo "$out" | json_field 'd["swagger"], "io.k8s.metrics.pkg.apis.custom_metrics.v1beta2.MetricValueList" in d["definitions"], "com.alibabacloud.metrics.v1beta1.PredictionsObserver" in d["definitions"]')" \
    "2.0 True True"
out=$(ahpa_kubectl get --raw /openapi/v3)
url=$(echo "$out" | json_field 'd["paths"]["apis/external.metrics.k8s.io/v1beta1"]["serverRelativeURL"]')
ahpa_contains "/openapi/v3 index links group-versions with a hash" "$url" "?hash="
out=$(ahpa_kubectl get --raw "$url")
ahpa_equals "/openapi/v3 group-version document" \
    "$(echo "$out" | json_field 'd["openapi"], "io.k8s.metrics.pkg.apis.external_metrics.v1beta1.ExternalMetricValueList" in d["components"]["schemas"]')" \
    "3.0.0 True"

vers=$(ahpa_kubectl api-versions 2>&1)
for gv in custom.metrics.k8s.io/v1beta1 custom.metrics.k8s.io/v1beta2 \
          external.metrics.k8s.io/v1beta1 metrics.alibabacloud.com/v1beta1; do
    ahpa_contains "api-versions lists $gv" "$vers" "$gv"
done
ahpa_check "api-resources succeeds" ahpa_kubectl api-resources

# kubectl asks /apis for aggregated discovery first (with this Accept); answer in kind.
agg=$(curl -s --cacert "$AHPA_CA" -H 'Accept: application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json' \
      -D "$AHPA_TMP/h" "https://127.0.0.1:$AHPA_PORT/apis")
ahpa_equals "aggregated discovery document" \
    "$(echo "$agg" | json_field 'd["kind"], d["apiVersion"], len(d["items"])')" \
    "APIGroupDiscoveryList apidiscovery.k8s.io/v2 3"
ahpa_check "aggregated discovery content type" \
    grep -qi 'content-type: application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList' "$AHPA_TMP/h"

out=$(ahpa_kubectl get --raw /apis/no.such.group/v1 2>&1)
ahpa_contains "unknown group is NotFound" "$out" "NotFound"
out=$(curl -s --cacert "$AHPA_CA" "https://127.0.0.1:$AHPA_PORT/apis/custom.metrics.k8s.io/v1beta2/namespaces/default/pods/x/gpu_utilization")
ahpa_equals "unknown metric is a 404 Status" "$(echo "$out" | json_field 'd["kind"], d["code"], d["reason"]')" \
    "Status 404 NotFound"

# /apis carries an ETag per representation, and If-None-Match gets a 304.
etag_of() { tr -d '\r' <"$1" | sed -n 's/^[Ee][Tt][Aa][Gg]: //p'; }
curl -s -o /dev/null -D "$AHPA_TMP/h1" --cacert "$AHPA_CA" "https://127.0.0.1:$AHPA_PORT/apis"
tag=$(etag_of "$AHPA_TMP/h1")
ahpa_check "/apis has an ETag" test -n "$tag"
ahpa_equals "/apis answers 304 to If-None-Match" "$(curl -s -o /dev/null -w '%{http_code}' \
    --cacert "$AHPA_CA" -H "If-None-Match: $tag" "https://127.0.0.1:$AHPA_PORT/apis")" 304
curl -s -o /dev/null -D "$AHPA_TMP/h2" --cacert "$AHPA_CA" -H 'Accept: application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList' \
    "https://127.0.0.1:$AHPA_PORT/apis"
agg_tag=$(etag_of "$AHPA_TMP/h2")
ahpa_check "the aggregated /apis has its own ETag" test -n "$agg_tag" -a "$agg_tag" != "$tag"
ahpa_equals "a stale ETag gets the document" "$(curl -s -o /dev/null -w '%{http_code}' \
    --cacert "$AHPA_CA" -H 'If-None-Match: "0"' "https://127.0.0.1:$AHPA_PORT/apis")" 200

# --- with the AHPA controller: the predictionsobserver resource ----------
# Prometheus is a closed port here: the controller reports its errors, and
# the resource is served and discovered all the same.
ahpa_stop_pid "$AHPA_PID"
mkdir -p "$AHPA_TMP/ahpas"
cp "$here/../../manifests/examples/fib-gpu.yaml" "$AHPA_TMP/ahpas/"
ahpa_start_adapter "$AHPA_TMP/b" --prometheus-url="http://127.0.0.1:$(ahpa_free_port)" \
    --prometheus-timeout=1s --ahpa-dir="$AHPA_TMP/ahpas" -v=2 ||
    { ahpa_fail "adapter with the controller starts"; ahpa_finish; }
ahpa_check "predictionsobserver is listed" \
    ahpa_wait_for 10 sh -c "HOME='$AHPA_TMP' KUBECONFIG=/dev/null kubectl --server=https://127.0.0.1:$AHPA_PORT --certificate-authority='$AHPA_CA' --client-certificate='$AHPA_CLIENT_CERT' --client-key='$AHPA_CLIENT_KEY' get predictionsobserver </dev/null | grep -q fib-gpu"

out=$(ahpa_kubectl explain predictionsobserver 2>&1)
ahpa_contains "kubectl explain predictionsobserver: kind" "$out" "KIND:       PredictionsObserver"
ahpa_contains "kubectl explain predictionsobserver: group" "$out" "GROUP:      metrics.alibabacloud.com"
ahpa_contains "kubectl explain predictionsobserver: fields" "$out" "currentReplicas"
out=$(ahpa_kubectl explain predictionsobserver.metadata 2>&1)
ahpa_contains "kubectl explain predictionsobserver.metadata" "$out" "FIELD: metadata <ObjectMeta>"
# The OpenAPI v2 reader of kubectl wants protobuf, which is not served: it
# is told so (406) instead of failing to parse JSON as protobuf.
out=$(ahpa_kubectl explain predictionsobserver --output=plaintext-openapiv2 2>&1)
ahpa_contains "explain from OpenAPI v2: protobuf is NotAcceptable" "$out" "(NotAcceptable)"

# A watch gets a 405 Status that kubectl prints, after the list it printed.
t0=$(date +%s)
out=$(timeout 20 bash -c 'HOME="$1" KUBECONFIG=/dev/null kubectl --server="https://127.0.0.1:$2" \
        --certificate-authority="$3" --client-certificate="$4" --client-key="$5" \
        --request-timeout=10s get predictionsobserver -w </dev/null' _ \
        "$AHPA_TMP" "$AHPA_PORT" "$AHPA_CA" "$AHPA_CLIENT_CERT" "$AHPA_CLIENT_KEY" 2>&1)
rc=$?
ahpa_contains "kubectl get -w prints the list" "$out" "fib-gpu"
ahpa_contains "kubectl get -w says watch is not allowed" "$out" \
    'Error from server (MethodNotAllowed): watch is not supported on resources of kind "predictionsobserver.metrics.alibabacloud.com"'
ahpa_check "kubectl get -w fails (status $rc) at once, not after a timeout" \
    test "$rc" -ne 0 -a "$rc" -ne 124 -a $(($(date +%s) - t0)) -lt 10
for q in 'watch=true' 'watch=1' 'watch'; do
    out=$(curl -s --cacert "$AHPA_CA" "https://127.0.0.1:$AHPA_PORT/apis/custom.metrics.k8s.io/v1beta2/namespaces/default/pods/*/gpu_utilization?$q")
    ahpa_equals "?$q on a custom metric list is a 405 Status" \
        "$(echo "$out" | json_field 'd["kind"], d["code"], d["reason"]')" "Status 405 MethodNotAllowed"
done

ahpa_finish
