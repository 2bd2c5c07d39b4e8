#!/usr/bin/env bash
# The real binary driven by the real kubectl: every discovery and health
# path through `get --raw`, api-versions, api-resources, and the error
# Status for paths that do not exist.
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

ahpa_finish
