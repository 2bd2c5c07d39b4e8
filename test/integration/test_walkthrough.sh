#!/usr/bin/env bash
# The seed's walkthrough on one machine: real Prometheus backfilled with
# the real GPU trace for the bert-intent-detection Deployment, the adapter
# with the seed's fib-gpu AHPA (plus an auto-mode one and a broken file),
# the seed's own command for the predictionsobserver page opened in
# headless Chromium, and the external metric a stock HPA follows put
# through the HPA's AverageValue formula.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
. "$here/../lib/common.sh"
AHPA_TMP=$(mktemp -d)
cleanup() { ahpa_prom_stop; ahpa_cleanup; }
trap cleanup EXIT
ahpa_client_cert "$AHPA_TMP"
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

python3 "$root/test/lib/gen_gpu_openmetrics.py" --days 2 --pods 4 --output "$AHPA_TMP/gpu.om" ||
    { ahpa_fail "fixture generation"; ahpa_finish; }
ahpa_prom_backfill "$AHPA_TMP/gpu.om" "$AHPA_TMP/tsdb" && ahpa_prom_start "$AHPA_TMP/tsdb" "$(ahpa_free_port)" ||
    { ahpa_fail "prometheus starts"; ahpa_finish; }

ahpas=$AHPA_TMP/ahpa
mkdir -p "$ahpas"
cp "$root/manifests/examples/fib-gpu.yaml" "$ahpas/fib-gpu.yaml"
sed -e 's/name: fib-gpu/name: bert-auto/' -e 's/scaleStrategy: observer/scaleStrategy: auto/' \
    "$root/manifests/examples/fib-gpu.yaml" >"$ahpas/bert-auto.yaml"
sed -e 's/name: fib-gpu/name: broken/' -e 's/maxReplicas: 100/maxReplicas: -3/' \
    "$root/manifests/examples/fib-gpu.yaml" >"$ahpas/broken.yaml"

ahpa_start_adapter "$AHPA_TMP/a" --prometheus-url="$AHPA_PROM_URL" --ahpa-dir="$ahpas" \
    --prediction-interval=2s --history-window=48h -v=2 || { ahpa_fail "adapter starts"; ahpa_finish; }

ext() { ahpa_kubectl get --raw "/apis/external.metrics.k8s.io/v1beta1/namespaces/default/$1?labelSelector=ahpa%3D$2"; }
ahpa_check "the plan is published as ahpa_desired_replicas" \
    ahpa_wait_for 60 sh -c "HOME='$AHPA_TMP' KUBECONFIG=/dev/null kubectl --server=https://127.0.0.1:$AHPA_PORT --certificate-authority='$AHPA_CA' --client-certificate='$AHPA_CLIENT_CERT' --client-key='$AHPA_CLIENT_KEY' get --raw '/apis/external.metrics.k8s.io/v1beta1/namespaces/default/ahpa_desired_replicas?labelSelector=ahpa%3Dfib-gpu' </dev/null | grep -q '\"ahpa\":\"fib-gpu\"'"

disc=$(ahpa_kubectl get --raw /apis/external.metrics.k8s.io/v1beta1)
for m in ahpa_desired_replicas ahpa_predicted_utilization ahpa_proactive_replicas ahpa_reactive_replicas; do
    ahpa_contains "external discovery lists $m" "$disc" "\"name\":\"$m\""
done
ahpa_contains "predictionsobserver is discovered" "$(ahpa_kubectl get --raw /apis/metrics.alibabacloud.com/v1beta1)" \
    '"name":"predictionsobserver","singularName":"predictionsobserver","namespaced":true,"kind":"PredictionsObserver","verbs":["get","list"]'

# The seed's own command.
(cd "$AHPA_TMP" && HOME="$AHPA_TMP" KUBECONFIG=/dev/null kubectl --server="https://127.0.0.1:$AHPA_PORT" \
    --certificate-authority="$AHPA_CA" --client-certificate="$AHPA_CLIENT_CERT" --client-key="$AHPA_CLIENT_KEY" \
    get --raw '/apis/metrics.alibabacloud.com/v1beta1/namespaces/default/predictionsobserver/fib-gpu' </dev/null |
    jq -r '.content' | base64 -d > observer.html)
html=$(cat "$AHPA_TMP/observer.html")
ahpa_contains "observer.html has the GPU chart" "$html" "Predict GPU Resource Observer"
ahpa_contains "observer.html has the POD chart" "$html" "Predict POD Observer"
ahpa_check "observer.html is self-contained (no scripts, no network)" \
    sh -c "! grep -qiE '<script|https?://' '$AHPA_TMP/observer.html'"
size=$(stat -c %s "$AHPA_TMP/observer.html")
ahpa_check "observer.html is small ($size bytes)" test "$size" -lt 204800
ahpa_check "both charts are drawn in headless Chromium" \
    bash "$here/report_chromium.sh" "$AHPA_TMP/observer.html" "${AHPA_SCREENSHOT:-$AHPA_TMP/observer.png}"

# The HPA's AverageValue formula on the external metric gives the plan.
planned=$(ahpa_kubectl get --raw /metrics | awk '/^ahpa_requested_pods\{namespace="default",ahpa="bert-auto"/ {print $2}')
sum=$(ext ahpa_desired_replicas bert-auto | python3 -c "
import json,sys
d=json.load(sys.stdin)
print(sum(float(i['value'][:-1])/1000 if i['value'].endswith('m') else float(i['value']) for i in d['items']))")
hpa=$(python3 -c "import math; print(math.ceil($sum / 1.0))")
ahpa_equals "ceil(sum(items) / averageValue 1) = the planned replicas" "$hpa" "$planned"
n=$(ext ahpa_desired_replicas bert-auto | json 'len(d["items"])')
ahpa_equals "one item per AHPA" "$n" 1
out=$(ext ahpa_proactive_replicas fib-gpu)
ahpa_equals "labels ahpa, namespace, strategy" "$(echo "$out" | json 'd["items"][0]["metricLabels"]')" \
    "{'ahpa': 'fib-gpu', 'namespace': 'default', 'strategy': 'observer'}"

obj=$(ahpa_kubectl get --raw /apis/metrics.alibabacloud.com/v1beta1/namespaces/default/predictionsobserver/fib-gpu)
ahpa_equals "the object's fields" "$(echo "$obj" | json 'd["kind"], d["metadata"]["name"], d["strategy"], d["scaleTargetRef"], d["horizonSeconds"]')" \
    "PredictionsObserver fib-gpu observer Deployment/bert-intent-detection 86400"
list=$(ahpa_kubectl get --raw /apis/metrics.alibabacloud.com/v1beta1/namespaces/default/predictionsobserver)
ahpa_equals "the list (pages only by name)" "$(echo "$list" | json 'd["kind"], sorted(i["metadata"]["name"] for i in d["items"]), any("content" in i for i in d["items"])')" \
    "PredictionsObserverList ['bert-auto', 'fib-gpu'] False"
code=$(curl -s --cacert "$AHPA_CA" "https://127.0.0.1:$AHPA_PORT/apis/metrics.alibabacloud.com/v1beta1/namespaces/default/predictionsobserver/nope" | json 'd["kind"], d["code"]')
ahpa_equals "unknown name: 404 Status" "$code" "Status 404"

# The broken file is reported, the others keep working.
ahpa_check "the broken object is reported with its field" \
    grep -q "broken.yaml: default/broken: spec.maxReplicas" "$AHPA_LOG"
echo "this: [is not yaml" >"$ahpas/bert-auto.yaml.tmp" && mv "$ahpas/bert-auto.yaml.tmp" "$ahpas/zz-garbage.yaml"
ahpa_check "a file that is not YAML is reported" ahpa_wait_for 15 grep -q "zz-garbage.yaml" "$AHPA_LOG"
ahpa_check "fib-gpu still planned after bad files" \
    sh -c "[ \"\$(curl -s --cacert '$AHPA_CA' 'https://127.0.0.1:$AHPA_PORT/apis/external.metrics.k8s.io/v1beta1/namespaces/default/ahpa_desired_replicas?labelSelector=ahpa%3Dfib-gpu' | python3 -c 'import json,sys; print(len(json.load(sys.stdin)[\"items\"]))')\" = 1 ]"
m=$(ahpa_kubectl get --raw /metrics)
for g in ahpa_proactive_pods ahpa_reactive_pods ahpa_requested_pods ahpa_max_pods ahpa_min_pods ahpa_target_metric; do
    ahpa_contains "/metrics has $g" "$m" "$g{namespace=\"default\",ahpa=\"fib-gpu\",strategy=\"observer\"}"
done
ahpa_finish
