#!/usr/bin/env bash
# Cluster mode: the adapter with a kubeconfig for the test apiserver
# (test/lib/kube_apiserver.py, a test double of kube-apiserver) and a real
# Prometheus backfilled with the GPU trace; the user's side is the real
# kubectl. The seed's CRD, Deployment and fib-gpu AHPA are applied; the
# status columns of `kubectl get ahpa` fill; kubectl patch (target,
# bounds) is followed; an invalid object gets a condition and an Event;
# pods come from the pod informer (the usage query names them; the custom
# metrics API's pods/*?labelSelector= lists them) and survive an apiserver
# restart with changes made while it was down;
# a forced 410 Gone and dropped watch streams are survived; a deleted AHPA
# leaves the external metrics and the observer at once.
set -u
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
. "$here/../lib/common.sh"
. "$here/../lib/kubeapi.sh" || { echo "FAIL: test/lib/kubeapi.sh does not load"; exit 1; }
. "$here/../lib/prometheus.sh"
AHPA_TMP=$(mktemp -d)
cleanup() { ahpa_prom_stop; ahpa_cleanup; }
trap cleanup EXIT
T=$AHPA_TMP
export PYTHONDONTWRITEBYTECODE=1
INTERVAL=2
now_ms() { date +%s%3N; }
PY=$AHPA_PY # see common.sh
json() { "$PY" -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

ahpa_launch_kubeapi "$T" --request-log "$T/requests.log" --state-file "$T/kube-state.json"
# A StatefulSet's pods are llm-0, llm-1 (--pod-names ordinal).
{ ahpa_gpu_openmetrics "$T/gpu.om" --days 2 --pods 4 &&
    ahpa_gpu_openmetrics "$T/sts.om" --days 2 --pods 2 --deployment llm --pod-names ordinal &&
    ahpa_prom_start_backfilled "$T" "$T/gpu.om" "$T/sts.om"; } ||
    { ahpa_fail "prometheus starts"; ahpa_finish; }
ahpa_wait_kubeapi || { ahpa_fail "test apiserver starts"; ahpa_finish; }
k() { HOME="$T" KUBECONFIG="$KUBEAPI_KUBECONFIG" kubectl --request-timeout=10s "$@" </dev/null; }
kin() { HOME="$T" KUBECONFIG="$KUBEAPI_KUBECONFIG" kubectl --request-timeout=10s "$@"; }
admin() { curl -s -m 10 --cacert "$KUBEAPI_CA" --cert "$T/kubeapi-tls/admin.crt" --key "$T/kubeapi-tls/admin.key" "$@"; }

# --- the seed's objects, applied as the user applies them ----------------------
ahpa_kube_apply_seed "$T" || { ahpa_fail "the seed's objects are applied (see above)"; ahpa_finish; }
# Valid for the CRD's schema, not for the adapter: minReplicas > maxReplicas.
sed -e 's/name: fib-gpu/name: broken/' -e 's/minReplicas: 0/minReplicas: 30/' \
    -e 's/maxReplicas: 100/maxReplicas: 5/' "$src/manifests/examples/fib-gpu.yaml" >"$T/broken.yaml"
ahpa_contains "kubectl apply an AHPA with minReplicas > maxReplicas" \
    "$(k apply -f "$T/broken.yaml" 2>&1)" "broken created"

sed -e 's/name: fib-gpu/name: orphan/' -e 's/name: bert-intent-detection/name: nothing-here/' \
    "$src/manifests/examples/fib-gpu.yaml" >"$T/orphan.yaml"
ahpa_contains "kubectl apply an AHPA whose target has no data" "$(k apply -f "$T/orphan.yaml" 2>&1)" \
    "orphan created"

# The pods the Deployment and the StatefulSet would have (no controllers in the
# test apiserver): the names Prometheus has, the workloads' labels, and one more
# label that kube-state-metrics' kube_pod_labels does not have.
ahpa_kubeapi_pods_yaml "$AHPA_PROM_URL" default 'bert-intent-detection-.*' app=bert,tier=gpu >"$T/pods.json" &&
    ahpa_kubeapi_pods_yaml "$AHPA_PROM_URL" default 'llm-[0-9]+' app=llm >"$T/llm-pods.json" ||
    { ahpa_fail "the pods' list is made from Prometheus' series"; ahpa_finish; }
ahpa_equals "kubectl apply the Deployment's 4 pods" "$(k apply --validate=false -f "$T/pods.json" 2>&1 | grep -c created)" 4
ahpa_equals "and the StatefulSet's 2" "$(k apply --validate=false -f "$T/llm-pods.json" 2>&1 | grep -c created)" 2

# A ReplicaSet (a kind without a pod naming pattern: its usage query names the
# pods its selector selects) without pods: its AHPA is not planned, PodsUnknown.
kin apply -f - >/dev/null 2>&1 <<'YAML'
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: idle, namespace: default}
spec:
  replicas: 1
  selector: {matchLabels: {app: idle}}
  template:
    metadata: {labels: {app: idle}}
    spec: {containers: [{name: idle, image: "registry.example/idle:1"}]}
YAML
sed -e 's/name: fib-gpu/name: idle-gpu/' -e 's/name: bert-intent-detection/name: idle/' \
    -e 's/kind: Deployment/kind: ReplicaSet/' \
    "$src/manifests/examples/fib-gpu.yaml" >"$T/idle.yaml"
k apply -f "$T/idle.yaml" >/dev/null

ahpa_client_cert "$T"
t0=$(now_ms)
ahpa_start_adapter "$T/a" --prometheus-url="$AHPA_PROM_URL" --kubeconfig="$KUBEAPI_KUBECONFIG" \
    --prediction-interval=${INTERVAL}s --history-window=48h -v=2 ||
    { ahpa_fail "adapter starts"; ahpa_finish; }
ahpa_contains "the adapter says where the objects come from" "$(cat "$AHPA_LOG")" \
    "AdvancedHorizontalPodAutoscaler objects from the cluster (all namespaces)"

# --- the status columns fill -------------------------------------------------------
filled() {
    local line
    line=$(k get ahpa fib-gpu --no-headers 2>/dev/null)
    [ "$(echo "$line" | awk '{print NF}')" = 11 ] && ! echo "$line" | grep -q '<none>'
}
ahpa_wait_for 30 filled
t1=$(now_ms)
ahpa_check "every column of kubectl get ahpa fib-gpu is filled ($((t1 - t0)) ms after start)" filled
ahpa_check "within two prediction intervals of readiness plus the first fit" \
    test $((t1 - t0)) -lt $((2 * INTERVAL * 1000 + 4000))
out=$(k get ahpa)
ahpa_equals "kubectl get ahpa prints the seed's header" "$(echo "$out" | head -1 | tr -s ' ')" \
    "NAME STRATEGY REFERENCE METRIC TARGET(%) CURRENT(%) DESIREDPODS REPLICAS MINPODS MAXPODS AGE"
echo "$out"
row=$(k get ahpa fib-gpu --no-headers | awk '{print $2, $3, $4, $5, $8, $9, $10}')
ahpa_equals "strategy, reference, metric, target, replicas, min and max pods" "$row" \
    "observer bert-intent-detection gpu 20 4 0 100"
st=$(k get ahpa fib-gpu -o json)
ahpa_equals "observedGeneration, Ready=True/Planned, AbleToPredict=True" \
    "$(echo "$st" | json 'd["status"]["observedGeneration"], [(c["type"], c["status"], c["reason"] in ("Planned", "SeasonFound", "NoSeasonFound")) for c in d["status"]["conditions"] if c["type"] != "ManagedHPA"]')" \
    "1 [('Ready', 'True', True), ('AbleToPredict', 'True', True)]"
cur=$(echo "$st" | json 'd["status"]["currentMetric"]')
metrics() { ahpa_kubectl get --raw /metrics; }
prom_cur=$(metrics | awk '/^ahpa_current_metric\{namespace="default",ahpa="fib-gpu"/ {printf "%.0f", $2}')
ahpa_check "/metrics has fib-gpu's ahpa_current_metric ('$prom_cur')" test -n "$prom_cur"
ahpa_equals "CURRENT(%) is the current per-pod utilisation the controller measured" "$cur" "$prom_cur"
desired=$(echo "$st" | json 'd["status"]["desiredReplicas"]')
planned=$(metrics | awk '/^ahpa_requested_pods\{namespace="default",ahpa="fib-gpu"/ {print $2}')
ahpa_check "/metrics has fib-gpu's ahpa_requested_pods ('$planned')" test -n "$planned"
ahpa_equals "DESIREDPODS is the published plan" "$desired" "$planned"

ext() { ahpa_kubectl get --raw "/apis/external.metrics.k8s.io/v1beta1/namespaces/default/ahpa_desired_replicas?labelSelector=ahpa%3D$1" | json 'len(d["items"])'; }
obs() { curl -s -m 10 -o /dev/null -w '%{http_code}' --cacert "$AHPA_CA" --cert "$AHPA_CLIENT_CERT" --key "$AHPA_CLIENT_KEY" \
        "https://127.0.0.1:$AHPA_PORT/apis/metrics.alibabacloud.com/v1beta1/namespaces/default/predictionsobserver/$1"; }
ahpa_equals "fib-gpu has its external metric item" "$(ext fib-gpu)" 1
ahpa_equals "and its observer page" "$(obs fib-gpu)" 200

idle_ready() { k get ahpa idle-gpu -o json | json '[(c["status"], c["reason"], c["message"]) for c in d.get("status", {}).get("conditions", []) if c["type"] == "Ready"]'; }
ahpa_wait_for 10 sh -c "HOME='$T' KUBECONFIG='$KUBEAPI_KUBECONFIG' kubectl --request-timeout=10s get ahpa idle-gpu -o jsonpath='{.status.conditions}' </dev/null | grep -q PodsUnknown"
ahpa_contains "a target whose selector selects no pod: Ready=False, PodsUnknown, and why" "$(idle_ready)" \
    "('False', 'PodsUnknown', 'pods unknown: no pods of ReplicaSet/idle (selector app=idle) are known')"
ahpa_equals "and no DESIREDPODS or CURRENT(%) (unknown, not zero)" \
    "$(k get ahpa idle-gpu -o json | json '[f for f in ("desiredReplicas", "currentMetric") if f in d["status"]]')" "[]"

# --- pods from the pod informer ----------------------------------------------------------
# pods/*?labelSelector= lists the pods the informer holds (tier=gpu exists only in the
# API, so kube-state-metrics could not have answered), and a deleted pod leaves it.
tp=$(now_ms)
cm() { ahpa_kubectl get --raw "/apis/custom.metrics.k8s.io/v1beta2/namespaces/default/pods/$1"; }
cm_pods() { cm "*/gpu_utilization?labelSelector=app%3Dbert,tier%3Dgpu" | json '" ".join(sorted(i["describedObject"]["name"] for i in d["items"]))'; }
api_pods() { k get pods -l app=bert,tier=gpu -o jsonpath='{.items[*].metadata.name}' | tr ' ' '\n' | sort | tr '\n' ' ' | sed 's/ $//'; }
all4=$(api_pods)
ahpa_equals "kubectl lists the Deployment's 4 pods" "$(wc -w <<<"$all4")" 4
ahpa_equals "pods/*?labelSelector=app=bert,tier=gpu: exactly the API's 4 pods" "$(cm_pods)" "$all4"
read -r p1 p2 _ <<<"$all4"
k delete pod "$p1" >/dev/null
p1_gone() { ! cm_pods | grep -qw "$p1"; }
ahpa_check "a deleted pod leaves the answer" ahpa_wait_for 10 p1_gone
rest=$(api_pods)
ahpa_equals "kubectl lists the other 3" "$(wc -w <<<"$rest")" 3
ahpa_equals "the other 3 stay" "$(cm_pods)" "$rest"
ahpa_contains "and the pod by name is NotFound (its series are still in Prometheus)" \
    "$(cm "$p1/gpu_utilization" 2>&1)" "NotFound"

# --- an apiserver restart: stopped by PID, started on the same port with the same
# objects (resourceVersions kept, history empty: the informers' watches get 410)
# and two changes made while it was down: p2 deleted, p1 back.
kill -TERM "$KUBEAPI_PID"
ahpa_wait_for 10 sh -c "! kill -0 $KUBEAPI_PID 2>/dev/null"
"$PY" - "$T/kube-state.json" "$T/pods.json" "$p1" "$p2" <<'PY'
import json, sys
path, pods, back, gone = sys.argv[1:5]
st = json.load(open(path))
st["objects"] = [o for o in st["objects"] if not (o.get("kind") == "Pod" and o["metadata"]["name"] == gone)]
pod = next(p for p in json.load(open(pods))["items"] if p["metadata"]["name"] == back)
st["resourceVersion"] += 1
pod["metadata"].update(resourceVersion=str(st["resourceVersion"]), uid="restarted-" + back,
                       creationTimestamp="2026-01-01T00:00:00Z")
st["objects"].append(pod)
json.dump(st, open(path, "w"))
PY
old_port=$KUBEAPI_PORT
ahpa_start_kubeapi "$T" --port "$old_port" --request-log "$T/requests.log" --state-file "$T/kube-state.json" ||
    ahpa_fail "the test apiserver restarts"
ahpa_equals "on the same port" "$KUBEAPI_PORT" "$old_port"
want=$(api_pods)
ahpa_equals "kubectl lists 3 of them after the restart" "$(wc -w <<<"$want")" 3
seen_restart() { [ "$(cm_pods)" = "$want" ]; }
ahpa_check "after the restart: the pods deleted and added while it was down are seen" \
    ahpa_wait_for 20 seen_restart
ahpa_equals "exactly the API's pods, none missing or twice" "$(cm_pods)" "$want"
ahpa_check "p2 ($p2) is gone, p1 ($p1) back" sh -c "echo '$want' | grep -q '$p1' && ! echo '$want' | grep -q '$p2'"
planned_once() { [ "$(metrics | grep -c '^ahpa_requested_pods{namespace="default",ahpa="fib-gpu"')" = 1 ]; }
ahpa_check "fib-gpu is still planned after the restart, once" ahpa_wait_for 10 planned_once
ahpa_check "/metrics: the pod informer holds the 5 pods (3 + 2), listed again after the restart" sh -c \
    "curl -s -m 10 --cacert '$AHPA_CA' --cert '$AHPA_CLIENT_CERT' --key '$AHPA_CLIENT_KEY' https://127.0.0.1:$AHPA_PORT/metrics | grep -qx 'ahpa_pod_informer_pods 5' &&
     [ \"\$(curl -s -m 10 --cacert '$AHPA_CA' --cert '$AHPA_CLIENT_CERT' --key '$AHPA_CLIENT_KEY' https://127.0.0.1:$AHPA_PORT/metrics | awk '/^ahpa_pod_informer_lists_total/ {print \$2}')\" -ge 2 ]"
echo "pods and restart checks: $(( $(now_ms) - tp )) ms"

# --- the invalid object ------------------------------------------------------------
bad_ready() { k get ahpa broken -o json | json '[(c["status"], c["reason"], c["message"]) for c in d.get("status", {}).get("conditions", []) if c["type"] == "Ready"]'; }
ahpa_wait_for 10 sh -c "HOME='$T' KUBECONFIG='$KUBEAPI_KUBECONFIG' kubectl --request-timeout=10s get ahpa broken -o jsonpath='{.status.conditions}' </dev/null | grep -q InvalidSpec"
out=$(bad_ready)
ahpa_contains "the invalid AHPA has Ready=False, InvalidSpec" "$out" "('False', 'InvalidSpec', 'default/broken: spec."
ahpa_contains "and the message names the field" "$out" "minReplicas"
ahpa_equals "its status has no values (nothing known is not zero)" \
    "$(k get ahpa broken -o json | json 'sorted(d["status"])')" "['conditions', 'observedGeneration']"
ahpa_equals "a Warning Event says why" \
    "$(k get events --field-selector involvedObject.name=broken -o jsonpath='{.items[*].type} {.items[*].reason}' 2>&1)" \
    "Warning InvalidSpec"
ahpa_equals "not planned: no external metric item" "$(ext broken)" 0
ahpa_equals "no observer page" "$(obs broken)" 404
k patch ahpa broken --type=merge -p '{"spec":{"minReplicas":1}}' >/dev/null
ahpa_check "fixing it makes it planned" ahpa_wait_for 10 sh -c \
    "HOME='$T' KUBECONFIG='$KUBEAPI_KUBECONFIG' kubectl --request-timeout=10s get ahpa broken -o jsonpath='{.status.conditions[0].status}' </dev/null | grep -qx True"

# Ready and AbleToPredict (ManagedHPA: test_managed_hpa.sh).
conds() { k get ahpa "$1" -o json | json '[(c["type"], c["status"], c["reason"]) for c in d.get("status", {}).get("conditions", []) if c["type"] != "ManagedHPA"]'; }
ahpa_equals "a target without data: Ready and AbleToPredict False, TargetNotFound" "$(conds orphan)" \
    "[('Ready', 'False', 'TargetNotFound'), ('AbleToPredict', 'False', 'TargetNotFound')]"
ahpa_equals "and no DESIREDPODS, CURRENT(%) or REPLICAS" \
    "$(k get ahpa orphan -o json | json '[f for f in ("desiredReplicas", "currentMetric", "currentReplicas") if f in d["status"]]')" "[]"

# --- edits are followed at once ------------------------------------------------------
writes_before=$(admin "$KUBEAPI_URL/-/test/requests" | json 'sum(v for k, v in d["counts"].items() if k.startswith("patch") and k.endswith("/fib-gpu/status"))')
k patch ahpa fib-gpu --type=merge \
    -p '{"spec":{"metrics":[{"type":"Resource","resource":{"name":"gpu","target":{"type":"Utilization","averageUtilization":40}}}]}}' >/dev/null
target40() { metrics | grep -q '^ahpa_target_metric{namespace="default",ahpa="fib-gpu",strategy="observer"} 40$'; }
ahpa_check "a patched target is planned with at once" ahpa_wait_for 5 target40
ahpa_equals "and TARGET(%) shows it" "$(k get ahpa fib-gpu --no-headers | awk '{print $5}')" 40
ahpa_check "observedGeneration follows" ahpa_wait_for 5 sh -c \
    "HOME='$T' KUBECONFIG='$KUBEAPI_KUBECONFIG' kubectl --request-timeout=10s get ahpa fib-gpu -o jsonpath='{.status.observedGeneration}' </dev/null | grep -qx 2"
# A 409 on the next status write: read again, retried, written.
conflicts0=$(metrics | awk '/^ahpa_controller_status_conflicts_total/ {print $2}')
admin -X POST -H 'Content-Type: application/json' \
    --data-binary '{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"Conflict","message":"injected conflict","code":409}' \
    "$KUBEAPI_URL/-/test/inject?path=/apis/autoscaling.alibabacloud.com/v1beta1/namespaces/default/advancedhorizontalpodautoscalers/fib-gpu/status&method=PATCH&code=409&times=1" >/dev/null
k patch ahpa fib-gpu --type=merge -p '{"spec":{"maxReplicas":90}}' >/dev/null
ahpa_check "after an injected 409 the status is written anyway (MAXPODS 90)" ahpa_wait_for 5 sh -c \
    "[ \"\$(HOME='$T' KUBECONFIG='$KUBEAPI_KUBECONFIG' kubectl --request-timeout=10s get ahpa fib-gpu -o jsonpath='{.status.maxPods}' </dev/null)\" = 90 ]"
ahpa_equals "one conflict counted" \
    "$(metrics | awk '/^ahpa_controller_status_conflicts_total/ {print $2}')" "$((conflicts0 + 1))"
# Bounds in force now: every day of the week, all day.
k patch ahpa fib-gpu --type=merge -p "{\"spec\":{\"instanceBounds\":[{\"startTime\":\"2020-01-01 00:00:00\",\"endTime\":\"2099-01-01 00:00:00\",\"bounds\":[{\"cron\":\"* * ? * *\",\"minReplicas\":3,\"maxReplicas\":7}]}]}}" >/dev/null
bounds() { [ "$(k get ahpa fib-gpu --no-headers | awk '{print $9, $10}')" = "3 7" ]; }
ahpa_check "patched instanceBounds: MINPODS 3, MAXPODS 7" ahpa_wait_for 5 bounds
d=$(k get ahpa fib-gpu -o jsonpath='{.status.desiredReplicas}')
ahpa_check "the plan is within the new bounds (DESIREDPODS $d)" test "$d" -ge 3 -a "$d" -le 7
k patch ahpa fib-gpu --type=merge -p '{"spec":{"scaleStrategy":"auto"}}' >/dev/null
ahpa_check "a patched strategy is planned with" ahpa_wait_for 5 sh -c \
    "curl -s -m 10 --cacert '$AHPA_CA' --cert '$AHPA_CLIENT_CERT' --key '$AHPA_CLIENT_KEY' https://127.0.0.1:$AHPA_PORT/metrics | grep -q 'ahpa=\"fib-gpu\",strategy=\"auto\"'"

# Status writes only when something changed: steady usage, a few per cycle at most.
sleep "$INTERVAL"
writes=$(admin "$KUBEAPI_URL/-/test/requests" | json 'sum(v for k, v in d["counts"].items() if k.startswith("patch") and k.endswith("/fib-gpu/status"))')
cycles=$(metrics | awk '/^ahpa_controller_cycles_total/ {print $2}')
ahpa_check "status patches of fib-gpu ($((writes - writes_before)) since the edits) stay bounded" \
    test $((writes - writes_before)) -le 12

# --- watch failures -------------------------------------------------------------------
lists0=$(grep -c '"path": "/apis/autoscaling.alibabacloud.com/v1beta1/advancedhorizontalpodautoscalers".*limit=' "$T/requests.log")
admin -X POST "$KUBEAPI_URL/-/test/expire-watches" >/dev/null
sed -e 's/name: fib-gpu/name: after-gone/' "$src/manifests/examples/fib-gpu.yaml" >"$T/after-gone.yaml"
k apply -f "$T/after-gone.yaml" >/dev/null
ahpa_check "after a forced 410 Gone a new AHPA is planned" ahpa_wait_for 10 sh -c "[ \"\$(HOME='$T' KUBECONFIG=/dev/null kubectl --request-timeout=10s --server=https://127.0.0.1:$AHPA_PORT --certificate-authority='$AHPA_CA' --client-certificate='$AHPA_CLIENT_CERT' --client-key='$AHPA_CLIENT_KEY' get --raw '/apis/external.metrics.k8s.io/v1beta1/namespaces/default/ahpa_desired_replicas?labelSelector=ahpa%3Dafter-gone' </dev/null | grep -c after-gone)\" = 1 ]"
lists1=$(grep -c '"path": "/apis/autoscaling.alibabacloud.com/v1beta1/advancedhorizontalpodautoscalers".*limit=' "$T/requests.log")
ahpa_check "by a relist ($((lists1 - lists0)) more list requests)" test "$lists1" -gt "$lists0"
admin -X POST "$KUBEAPI_URL/-/test/drop-watches" >/dev/null
k delete ahpa after-gone >/dev/null
ahpa_check "after a dropped watch a deletion is seen" ahpa_wait_for 10 sh -c "[ \"\$(curl -s -m 10 -o /dev/null -w '%{http_code}' --cacert '$AHPA_CA' --cert '$AHPA_CLIENT_CERT' --key '$AHPA_CLIENT_KEY' https://127.0.0.1:$AHPA_PORT/apis/metrics.alibabacloud.com/v1beta1/namespaces/default/predictionsobserver/after-gone)\" = 404 ]"
ahpa_equals "no duplicate: one fib-gpu plan" \
    "$(metrics | grep -c '^ahpa_requested_pods{namespace="default",ahpa="fib-gpu"')" 1

# --- deletion ------------------------------------------------------------------------
k delete ahpa fib-gpu >/dev/null
td=$(now_ms)
gone() { [ "$(ext fib-gpu)" = 0 ] && [ "$(obs fib-gpu)" = 404 ]; }
ahpa_wait_for 5 gone
ahpa_check "a deleted AHPA leaves the external metrics and the observer ($(( $(now_ms) - td )) ms, kubectl included)" gone
# At once: the informer's callback woke the loop for a partial refresh,
# not the next cycle (-v=2 logs which one each publication was).
after=$(awk '/default\/fib-gpu deleted/ {seen = 1; next} seen && /controller (cycle|refresh):/ {print ($0 ~ /refresh:/) ? "refresh" : "cycle"; exit}' "$AHPA_LOG")
ahpa_equals "by a refresh woken by the deletion, not by the next cycle" "$after" "refresh"
# --- replicas from the scale subresource; a StatefulSet target -------------------------
k scale deploy bert-intent-detection --replicas=5 >/dev/null
ahpa_check "REPLICAS follows kubectl scale (the scale subresource, not kube-state-metrics' 4)" \
    ahpa_wait_for 10 sh -c "[ \"\$(HOME='$T' KUBECONFIG='$KUBEAPI_KUBECONFIG' kubectl --request-timeout=10s get ahpa broken -o jsonpath='{.status.currentReplicas}' </dev/null)\" = 5 ]"
kin apply -f - >/dev/null 2>&1 <<'YAML'
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: llm, namespace: default}
spec:
  replicas: 2
  serviceName: llm
  selector: {matchLabels: {app: llm}}
  template:
    metadata: {labels: {app: llm}}
    spec: {containers: [{name: llm, image: "registry.example/llm:1"}]}
YAML
sed -e 's/name: fib-gpu/name: llm-gpu/' -e 's/kind: Deployment/kind: StatefulSet/' \
    -e 's/name: bert-intent-detection/name: llm/' "$src/manifests/examples/fib-gpu.yaml" >"$T/llm.yaml"
k apply -f "$T/llm.yaml" >/dev/null
sts() { [ "$(k get ahpa llm-gpu --no-headers | awk '{print $3, $8, NF}')" = "llm 2 11" ]; }
ahpa_check "a StatefulSet target: planned, REPLICAS 2 from its scale subresource" ahpa_wait_for 10 sts
ahpa_equals "its Ready condition" "$(conds llm-gpu | "$PY" -c 'import sys; print(eval(sys.stdin.read())[0])')" \
    "('Ready', 'True', 'Planned')"
k scale sts llm --replicas=3 >/dev/null
ahpa_check "kubectl scale sts is seen" ahpa_wait_for 10 sh -c \
    "[ \"\$(HOME='$T' KUBECONFIG='$KUBEAPI_KUBECONFIG' kubectl --request-timeout=10s get ahpa llm-gpu -o jsonpath='{.status.currentReplicas}' </dev/null)\" = 3 ]"

ahpa_equals "one InvalidSpec Event for broken, however many cycles ($(metrics | awk '/^ahpa_controller_cycles_total/ {print $2}'))" \
    "$(k get events --field-selector involvedObject.name=broken,reason=InvalidSpec --no-headers | wc -l)" 1

ahpa_prom_stop
down() { [ "$(conds broken)" = "[('Ready', 'False', 'PrometheusUnreachable'), ('AbleToPredict', 'False', 'PrometheusUnreachable')]" ]; }
ahpa_check "Prometheus down: Ready and AbleToPredict False, PrometheusUnreachable" ahpa_wait_for 10 down
ahpa_equals "and DESIREDPODS is removed, not zero" \
    "$(k get ahpa broken -o jsonpath='{.status.desiredReplicas}')" ""
ahpa_check "the adapter logged no crash" sh -c "! grep -qiE 'segfault|abort|assert' '$AHPA_LOG'"
ahpa_check "and is still ready" curl -sf -m 10 -o /dev/null --cacert "$AHPA_CA" "https://127.0.0.1:$AHPA_PORT/readyz"
echo "status writes: $(metrics | awk '/^ahpa_controller_status_writes_total/ {print $2}'), cycles: $cycles"
ahpa_finish
