#!/usr/bin/env bash
# custom.metrics.k8s.io and external.metrics.k8s.io against a real
# Prometheus (Debian's package) backfilled with the real per-pod GPU trace,
# through the real kubectl; values checked against the same PromQL sent to
# Prometheus directly. Then failures through a fault-injecting proxy:
# Prometheus down, slow, 500, garbage, huge; recovery afterwards.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
. "$here/../lib/common.sh"
AHPA_TMP=$(mktemp -d)
cleanup() { ahpa_prom_stop; ahpa_cleanup; }
trap cleanup EXIT
ahpa_client_cert "$AHPA_TMP"
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
prom_value() { # PROMQL -> "label=value ..." sorted, values to 3 decimals
    curl -s "$AHPA_PROM_URL/api/v1/query" --data-urlencode "query=$1" |
        python3 -c "import json,sys; r=json.load(sys.stdin)['data']['result']; print(' '.join(sorted('%s=%.3f' % (list(x['metric'].values())[0] if x['metric'] else '', float(x['value'][1])) for x in r)))"
}
items_value() { # MetricValueList -> "name=value ..." sorted
    python3 -c "
import json,sys
def q(v):
    return float(v[:-1])/1000 if v.endswith('m') else float(v)
d=json.load(sys.stdin)
print(' '.join(sorted('%s=%.3f' % (i['describedObject']['name'], q(i['value'])) for i in d['items'])))"
}

# --- Prometheus with one day of the trace for a 3-pod Deployment ---
python3 "$root/test/lib/gen_gpu_openmetrics.py" --days 1 --pods 3 --output "$AHPA_TMP/gpu.om" ||
    { ahpa_fail "fixture generation"; ahpa_finish; }
ahpa_prom_backfill "$AHPA_TMP/gpu.om" "$AHPA_TMP/tsdb" && ahpa_prom_start "$AHPA_TMP/tsdb" "$(ahpa_free_port)" ||
    { ahpa_fail "prometheus starts"; ahpa_finish; }
prom_port=$AHPA_PROM_PORT
prom_url=$AHPA_PROM_URL

# The adapter talks to Prometheus through the fault proxy (pass-through
# until told otherwise).
proxy_port=$(ahpa_free_port)
echo pass >"$AHPA_TMP/mode"
python3 "$here/faultproxy.py" "$proxy_port" "$prom_url" "$AHPA_TMP/mode" &
ahpa_track $!
ahpa_wait_for 10 curl -sf "http://127.0.0.1:$proxy_port/-/ready"

cat >"$AHPA_TMP/rules.yaml" <<'YAML'
# prometheus-adapter format, as users bring it
rules:
- seriesQuery: 'DCGM_FI_DEV_GPU_UTIL{namespace!="",pod!=""}'
  resources:
    overrides:
      namespace: {resource: namespace}
      pod: {resource: pod}
  name: {matches: "^DCGM_FI_DEV_GPU_UTIL$", as: "gpu_peak_utilization"}
  metricsQuery: 'max(max_over_time(<<.Series>>{<<.LabelMatchers>>}[1d])) by (<<.GroupBy>>)'
externalRules:
- seriesQuery: 'DCGM_FI_DEV_GPU_UTIL{namespace!=""}'
  resources: {namespaced: false}
  name: {matches: "^DCGM_FI_DEV_GPU_UTIL$", as: "gpu_peak_total"}
  metricsQuery: 'sum(max_over_time(<<.Series>>{<<.LabelMatchers>>}[1d]))'
YAML

start_with() { # extra flags...
    ahpa_start_adapter "$AHPA_TMP/a$1" --prometheus-url="http://127.0.0.1:$proxy_port" \
        --metrics-relist-interval=2s --metrics-cache-ttl=2s --prometheus-timeout=1500ms -v=2 "${@:2}"
}
wait_listed() { # METRIC
    ahpa_wait_for 15 sh -c "curl -sf --cacert '$AHPA_CA' https://127.0.0.1:$AHPA_PORT/apis/custom.metrics.k8s.io/v1beta2 | grep -q 'pods/$1'"
}
ns=default
sel='app=bert-intent-detection'
pods=$(grep -o 'pod="[^"]*"' "$AHPA_TMP/gpu.om" | sort -u | cut -d'"' -f2)
pod1=$(echo "$pods" | head -1)

# --- built-in GPU rules ---
start_with 1 || { ahpa_fail "adapter starts"; ahpa_finish; }
ahpa_check "built-in rules: pods/gpu_utilization discovered" wait_listed gpu_utilization
disc=$(ahpa_kubectl get --raw /apis/custom.metrics.k8s.io/v1beta2)
for m in pods/gpu_utilization namespaces/gpu_utilization pods/gpu_memory_used_bytes \
         pods/gpu_memory_utilization; do
    ahpa_contains "discovery lists $m" "$disc" "\"name\":\"$m\""
done
ahpa_contains "namespaces/ metrics are cluster-scoped" "$disc" \
    '"name":"namespaces/gpu_utilization","singularName":"","namespaced":false'
ext=$(ahpa_kubectl get --raw /apis/external.metrics.k8s.io/v1beta1)
ahpa_contains "external discovery lists gpu_utilization" "$ext" '"name":"gpu_utilization"'

out=$(ahpa_kubectl get --raw "/apis/custom.metrics.k8s.io/v1beta2/namespaces/$ns/pods/*/gpu_utilization?labelSelector=$sel")
ahpa_equals "pods/* by selector: one item per pod, values as Prometheus says" \
    "$(echo "$out" | items_value)" \
    "$(prom_value "avg(DCGM_FI_DEV_GPU_UTIL{namespace=\"$ns\",pod=~\"$(echo $pods | tr ' ' '|')\"}) by (pod)")"
ahpa_equals "v1beta2 item shape" "$(echo "$out" | json 'd["kind"], d["apiVersion"], sorted(d["items"][0].keys()), d["items"][0]["describedObject"]["apiVersion"], d["items"][0]["describedObject"]["kind"]')" \
    "MetricValueList custom.metrics.k8s.io/v1beta2 ['describedObject', 'metric', 'timestamp', 'value'] /v1 Pod"
out=$(ahpa_kubectl get --raw "/apis/custom.metrics.k8s.io/v1beta1/namespaces/$ns/pods/$pod1/gpu_memory_used_bytes")
ahpa_equals "one pod by name, v1beta1 shape" "$(echo "$out" | json 'd["apiVersion"], sorted(d["items"][0].keys()), d["items"][0]["metricName"]')" \
    "custom.metrics.k8s.io/v1beta1 ['describedObject', 'metricName', 'selector', 'timestamp', 'value'] gpu_memory_used_bytes"
ahpa_equals "memory bytes = DCGM MiB x 1048576" "$(echo "$out" | items_value)" \
    "$(prom_value "sum(DCGM_FI_DEV_FB_USED{namespace=\"$ns\",pod=\"$pod1\"}) by (pod) * 1048576")"
out=$(ahpa_kubectl get --raw "/apis/custom.metrics.k8s.io/v1beta2/namespaces/$ns/metrics/gpu_utilization")
ahpa_equals "the namespace object's metric" "$(echo "$out" | json 'd["items"][0]["describedObject"]["kind"], d["items"][0]["describedObject"]["name"], "namespace" in d["items"][0]["describedObject"]')" \
    "Namespace $ns False"
out2=$(ahpa_kubectl get --raw "/apis/custom.metrics.k8s.io/v1beta2/namespaces/*/gpu_utilization" 2>&1)
ahpa_contains "cluster-scoped form namespaces/*/metric" "$out2" '"kind":"Namespace"'
out=$(ahpa_kubectl get --raw "/apis/external.metrics.k8s.io/v1beta1/namespaces/$ns/gpu_utilization")
ahpa_equals "external metric: the HPA's namespace is a matcher" \
    "$(echo "$out" | json 'd["kind"], len(d["items"]), d["items"][0]["metricLabels"]')" "ExternalMetricValueList 1 {}"
v=$(echo "$out" | python3 -c "import json,sys; v=json.load(sys.stdin)['items'][0]['value']; print('%.3f' % (float(v[:-1])/1000 if v.endswith('m') else float(v)))")
ahpa_equals "external value as Prometheus says" "=$v" "$(prom_value "avg(DCGM_FI_DEV_GPU_UTIL{namespace=\"$ns\"})")"
out=$(ahpa_kubectl get --raw "/apis/external.metrics.k8s.io/v1beta1/namespaces/other/gpu_utilization")
ahpa_equals "external metric in a namespace without series: no items" "$(echo "$out" | json 'len(d["items"])')" 0

# Errors.
st() { curl -s --cacert "$AHPA_CA" "https://127.0.0.1:$AHPA_PORT$1" | json 'd.get("code"), d.get("reason"), d.get("message")'; }
ahpa_equals "unknown metric 404" "$(st "/apis/custom.metrics.k8s.io/v1beta2/namespaces/$ns/pods/*/no_such_metric")" \
    "404 NotFound the server could not find the metric no_such_metric for pods"
ahpa_contains "bad selector 400 saying why" "$(st "/apis/custom.metrics.k8s.io/v1beta2/namespaces/$ns/pods/*/gpu_utilization?labelSelector=app%20in%20(a")" \
    "400 BadRequest invalid labelSelector: at offset"
ahpa_equals "short path 400" "$(st "/apis/custom.metrics.k8s.io/v1beta2/pods/x")" "400 BadRequest invalid request path"
ahpa_equals "unknown pod 404" "$(st "/apis/custom.metrics.k8s.io/v1beta2/namespaces/$ns/pods/nope/gpu_utilization")" \
    "404 NotFound the server could not find the metric gpu_utilization for pods nope"
ahpa_contains "injection attempt stays a label value" \
    "$(st "/apis/custom.metrics.k8s.io/v1beta2/namespaces/$ns/pods/*/gpu_utilization?labelSelector=app%3D%22%7D%20or%20vector(1)%20%23")" \
    "400 BadRequest invalid labelSelector"
m=$(ahpa_kubectl get --raw /metrics)
ahpa_contains "cache metrics exported" "$m" "ahpa_metrics_cache_hits_total"
ahpa_contains "prometheus latency exported" "$m" 'ahpa_prometheus_request_duration_seconds_count{endpoint="query"}'
ahpa_contains "healthz has the prometheus check" "$(ahpa_kubectl get --raw '/healthz?verbose')" "[+]prometheus ok"
ahpa_stop_pid "$AHPA_PID"

# --- a prometheus-adapter config file ---
start_with 2 --config="$AHPA_TMP/rules.yaml" || { ahpa_fail "adapter with --config starts"; ahpa_finish; }
ahpa_check "--config: custom metric discovered" wait_listed gpu_peak_utilization
out=$(ahpa_kubectl get --raw "/apis/custom.metrics.k8s.io/v1beta2/namespaces/$ns/pods/*/gpu_peak_utilization?labelSelector=$sel&metricLabelSelector=gpu%3D0")
ahpa_equals "--config values as Prometheus says (non-zero daily peaks)" "$(echo "$out" | items_value)" \
    "$(prom_value "max(max_over_time(DCGM_FI_DEV_GPU_UTIL{gpu=\"0\",namespace=\"$ns\",pod=~\"$(echo $pods | tr ' ' '|')\"}[1d])) by (pod)")"
ahpa_equals "windowSeconds from the query's range; metric selector echoed" \
    "$(echo "$out" | json 'd["items"][0]["windowSeconds"], d["items"][0]["metric"]["selector"]')" \
    "86400 {'matchExpressions': [{'key': 'gpu', 'operator': 'In', 'values': ['0']}]}"
out=$(ahpa_kubectl get --raw "/apis/external.metrics.k8s.io/v1beta1/namespaces/elsewhere/gpu_peak_total")
v=$(echo "$out" | python3 -c "import json,sys; v=json.load(sys.stdin)['items'][0]['value']; print('%.3f' % (float(v[:-1])/1000 if v.endswith('m') else float(v)))")
ahpa_equals "namespaced: false ignores the HPA's namespace" "=$v" \
    "$(prom_value 'sum(max_over_time(DCGM_FI_DEV_GPU_UTIL[1d]))')"

# --- the cache: identical requests within the TTL make one query ---
# Counted as cache misses: the background refresher may query Prometheus
# for other entries meanwhile.
misses() { curl -s --cacert "$AHPA_CA" "https://127.0.0.1:$AHPA_PORT/metrics" | awk '/^ahpa_metrics_cache_misses_total / {print $2}'; }
q0=$(misses)
curls=""
for i in 1 2 3 4 5; do
    curl -s --max-time 10 --cacert "$AHPA_CA" "https://127.0.0.1:$AHPA_PORT/apis/custom.metrics.k8s.io/v1beta2/namespaces/$ns/pods/$pod1/gpu_peak_utilization" >/dev/null &
    curls="$curls $!"
done
wait $curls
q1=$(misses)
ahpa_check "5 concurrent identical requests: at most 1 Prometheus query ($q0 -> $q1 misses)" test $((q1 - q0)) -le 1

# Identical requests within a second reuse the rendered answer.
hits() { curl -s --cacert "$AHPA_CA" "https://127.0.0.1:$AHPA_PORT/metrics" | awk '/^ahpa_api_response_cache_requests_total\{result="hit"\}/ {print $2}'; }
h0=$(hits)
u="https://127.0.0.1:$AHPA_PORT/apis/custom.metrics.k8s.io/v1beta2/namespaces/$ns/pods/$pod1/gpu_peak_utilization?metricLabelSelector=gpu%3D0"
a=$(curl -s --cacert "$AHPA_CA" "$u"); b=$(curl -s --cacert "$AHPA_CA" "$u"); c=$(curl -s --cacert "$AHPA_CA" "$u")
h1=$(hits)
ahpa_check "rendered answers reused within a second ($h0 -> $h1 hits)" test $((h1 - h0)) -ge 1
ahpa_equals "a reused answer is the same answer" "$c" "$a"

# --- failures: every mode fails fast with a 500 Status, then recovers ---
n=0
fresh_query() { # a metric selector nobody asked for yet, so the cache can't answer
    # (called in $(...), a subshell: a counter would not survive the call)
    n=$(date +%s%N)
    curl -s -o "$AHPA_TMP/out" -w '%{http_code} %{time_total}' --max-time 20 --cacert "$AHPA_CA" \
        "https://127.0.0.1:$AHPA_PORT/apis/custom.metrics.k8s.io/v1beta2/namespaces/$ns/pods/$pod1/gpu_peak_utilization?metricLabelSelector=gpu!%3Dx$n"
}
for mode in slow error garbage huge reset; do
    echo "$mode" >"$AHPA_TMP/mode"
    r=$(fresh_query)
    code=${r% *}; secs=${r#* }
    msg=$(json 'd["message"]' <"$AHPA_TMP/out")
    ahpa_equals "prometheus $mode: 500 unable to fetch metrics" "$code $msg" \
        "500 Internal error occurred: unable to fetch metrics"
    ahpa_check "prometheus $mode: answered within the timeout (${secs}s)" \
        python3 -c "import sys; sys.exit(0 if float('$secs') < 4.0 else 1)"
    t=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' --cacert "$AHPA_CA" "https://127.0.0.1:$AHPA_PORT/apis/custom.metrics.k8s.io/v1beta2")
    ahpa_check "prometheus $mode: discovery still instant ($t)" \
        python3 -c "import sys; c,s='$t'.split(); sys.exit(0 if c=='200' and float(s) < 0.5 else 1)"
done
echo pass >"$AHPA_TMP/mode"
ahpa_check "recovers by itself when Prometheus does" \
    ahpa_wait_for 10 sh -c "curl -sf --cacert '$AHPA_CA' 'https://127.0.0.1:$AHPA_PORT/apis/custom.metrics.k8s.io/v1beta2/namespaces/$ns/pods/$pod1/gpu_peak_utilization?metricLabelSelector=gpu!%3Dy' >/dev/null"

# Prometheus stopped, then started again on the same port.
ahpa_prom_stop
r=$(fresh_query)
ahpa_equals "prometheus stopped: 500" "${r% *}" 500
ahpa_check "prometheus stopped: readyz stays ok (the APIService must stay available)" \
    curl -sf -o /dev/null --cacert "$AHPA_CA" "https://127.0.0.1:$AHPA_PORT/readyz"
ahpa_check "prometheus stopped: healthz reports it" \
    ahpa_wait_for 10 sh -c "curl -s --cacert '$AHPA_CA' 'https://127.0.0.1:$AHPA_PORT/healthz?verbose' | grep -q '\[-\]prometheus failed'"
ahpa_prom_start "$AHPA_TMP/tsdb" "$prom_port" || ahpa_fail "prometheus restarts"
ahpa_check "recovers after Prometheus restarts" \
    ahpa_wait_for 15 sh -c "curl -sf --cacert '$AHPA_CA' 'https://127.0.0.1:$AHPA_PORT/apis/custom.metrics.k8s.io/v1beta2/namespaces/$ns/pods/$pod1/gpu_peak_utilization?metricLabelSelector=gpu!%3Dz' >/dev/null"
ahpa_check "healthz recovers" ahpa_wait_for 15 sh -c "curl -s --cacert '$AHPA_CA' 'https://127.0.0.1:$AHPA_PORT/healthz?verbose' | grep -q '\[+\]prometheus ok'"
ahpa_finish
