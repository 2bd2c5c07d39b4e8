#!/usr/bin/env bash
# The managed HPA (issue 12, item 1) end to end: the adapter with a
# kubeconfig for the test apiserver (test/lib/kube_apiserver.py, a test
# double of kube-apiserver, which also collects garbage through owner
# references) and a real Prometheus; the user is the real kubectl.
# fib-gpu as the seed applies it (observer): no HPA, condition ManagedHPA
# False/ObserverStrategy. `kubectl patch ... scaleStrategy auto`: the HPA
# ahpa-fib-gpu appears with the External metric ahpa_desired_replicas
# (selector ahpa=fib-gpu, AverageValue 1), the bounds in force, the owner
# reference, and no further write in steady state; reactive and proactive
# publish their own term; back to observer: gone; auto again, then the AHPA
# deleted: gone with it. Events (issue 12, item 3): ManagedHPACreated,
# StrategyChanged, UserHPAConflict (a user's HPA on the target), the same
# Event counted again rather than repeated, PredictionUnavailable and
# PredictionAvailable (a missing target and back), ManagedHPADeleted; none
# in steady state. Prints the steady-state writes per hour
# (AHPA_STEADY_S=600 for a longer window).
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
PY=$AHPA_PY # see common.sh
json() { "$PY" -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
# Bounded in time (each try runs kubectl, slow on a loaded machine), 0.2 s apart.
wait_s() {
    local end=$((SECONDS + $1))
    shift
    while ((SECONDS < end)); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.2
    done
    "$@" >/dev/null 2>&1
}

ahpa_launch_kubeapi "$T"
ahpa_prom_start_gpu "$T" || { ahpa_fail "prometheus starts"; ahpa_finish; }
ahpa_wait_kubeapi || { ahpa_fail "test apiserver starts"; ahpa_finish; }
k() { HOME="$T" KUBECONFIG="$KUBEAPI_KUBECONFIG" kubectl --request-timeout=10s "$@" </dev/null; }
kin() { HOME="$T" KUBECONFIG="$KUBEAPI_KUBECONFIG" kubectl --request-timeout=10s "$@"; }
admin() { curl -s -m 10 --cacert "$KUBEAPI_CA" --cert "$T/kubeapi-tls/admin.crt" --key "$T/kubeapi-tls/admin.key" "$@"; }

ahpa_kube_apply_seed "$T" || { ahpa_fail "the seed's objects are applied (see above)"; ahpa_finish; }
# Its pods (the adapter reads them from the API; the double runs no controllers).
{ ahpa_kubeapi_pods_yaml "$AHPA_PROM_URL" default 'bert-intent-detection-.*' app=bert >"$T/pods.json" &&
    k apply --validate=false -f "$T/pods.json" >/dev/null 2>&1; } ||
    { ahpa_fail "kubectl apply the pods"; ahpa_finish; }
ahpa_client_cert "$T"
ahpa_start_adapter "$T/a" --prometheus-url="$AHPA_PROM_URL" --kubeconfig="$KUBEAPI_KUBECONFIG" \
    --leader-elect-resource-namespace=default --prediction-interval=${INTERVAL}s \
    --history-window=48h -v=2 || { ahpa_fail "adapter starts"; ahpa_finish; }

cond() { # -> "status reason" of the ManagedHPA condition of fib-gpu
    k get ahpa fib-gpu -o json 2>/dev/null |
        json '" ".join([c["status"] + " " + c["reason"] for c in d.get("status", {}).get("conditions", []) if c["type"] == "ManagedHPA"])'
}
cond_is() { [[ "$(cond)" == "$1" ]]; }
hpa_count() { k get hpa -o json | json 'len(d["items"])'; }
wait_s 30 cond_is "False ObserverStrategy"
ahpa_equals "observer: condition ManagedHPA False/ObserverStrategy" "$(cond)" "False ObserverStrategy"
ahpa_equals "observer: no HPA" "$(hpa_count)" 0

# --- auto: the managed HPA appears ------------------------------------------------
t0=$(date +%s%3N)
k patch ahpa fib-gpu --type=merge -p '{"spec":{"scaleStrategy":"auto"}}' >/dev/null
have_hpa() { k get hpa ahpa-fib-gpu >/dev/null 2>&1; }
wait_s 10 have_hpa
echo "measured: managed HPA created $(($(date +%s%3N) - t0)) ms after kubectl patch (auto)"
ahpa_check "auto: the HPA ahpa-fib-gpu exists" have_hpa
k get hpa
hpa=$(k get hpa ahpa-fib-gpu -o json)
ahpa_equals "its External metric ahpa_desired_replicas, selector ahpa=fib-gpu, AverageValue 1" \
    "$(echo "$hpa" | json '[(m["type"], m["external"]["metric"]["name"], m["external"]["metric"]["selector"], sorted(m["external"]["target"].items())) for m in d["spec"]["metrics"]]')" \
    "[('External', 'ahpa_desired_replicas', {'matchLabels': {'ahpa': 'fib-gpu'}}, [('averageValue', '1'), ('type', 'AverageValue')])]"
ahpa_equals "its scaleTargetRef is the AHPA's" \
    "$(echo "$hpa" | json 'd["spec"]["scaleTargetRef"]["kind"] + "/" + d["spec"]["scaleTargetRef"]["name"]')" \
    "Deployment/bert-intent-detection"
uid=$(k get ahpa fib-gpu -o jsonpath='{.metadata.uid}')
ahpa_equals "its ownerReference is the AHPA (controller: true)" \
    "$(echo "$hpa" | json '[(o["kind"], o["name"], o["uid"], o["controller"]) for o in d["metadata"]["ownerReferences"]]')" \
    "[('AdvancedHorizontalPodAutoscaler', 'fib-gpu', '$uid', True)]"
st=$(k get ahpa fib-gpu -o json)
minp=$(echo "$st" | json 'max(1, d["status"]["minPods"])') maxp=$(echo "$st" | json 'd["status"]["maxPods"]')
ahpa_equals "min/maxReplicas are the bounds in force (MINPODS 0 sent as 1)" \
    "$(echo "$hpa" | json '(d["spec"]["minReplicas"], d["spec"]["maxReplicas"])')" "($minp, $maxp)"
ahpa_equals "behavior: no stabilisation window either way" \
    "$(echo "$hpa" | json '(d["spec"]["behavior"]["scaleUp"]["stabilizationWindowSeconds"], d["spec"]["behavior"]["scaleDown"]["stabilizationWindowSeconds"])')" "(0, 0)"
up() { [[ "$(cond)" == "True ManagedHPAUpToDate" ]]; }
wait_s 10 up
ahpa_check "condition ManagedHPA True (Created, then UpToDate: $(cond))" up

# Events (one per decision; "reason count" of each, sorted).
events() { k get events --field-selector involvedObject.name=fib-gpu -o json |
    json '" ".join(sorted("%s:%s:%d" % (e["type"], e["reason"], e["count"]) for e in d["items"]))'; }
has_event() { events | grep -q "$1"; }
wait_s 6 has_event Normal:ManagedHPACreated:1
ahpa_contains "Events: the managed HPA created, the strategy changed ($(events))" "$(events)" \
    "Normal:ManagedHPACreated:1"
ahpa_contains "the StrategyChanged Event says from what to what" \
    "$(k get events --field-selector involvedObject.name=fib-gpu,reason=StrategyChanged -o jsonpath='{.items[*].message}')" \
    "scaleStrategy changed from observer to auto"

# Steady state: no HPA write and no Event over STEADY_S seconds
# (AHPA_STEADY_S; the status changes when the plan does, at most once a
# step of 60 s). Writes per hour = writes x 3600 / STEADY_S.
STEADY_S=${AHPA_STEADY_S:-$((3 * INTERVAL))}
rv=$(k get hpa ahpa-fib-gpu -o jsonpath='{.metadata.resourceVersion}')
admin -X DELETE "$KUBEAPI_URL/-/test/requests" >/dev/null
sleep "$STEADY_S"
counts=$(admin "$KUBEAPI_URL/-/test/requests")
count() { echo "$counts" | json "sum(v for k, v in d['counts'].items() if $1)"; }
hw=$(count '"/horizontalpodautoscalers" in k and k.split()[0] not in ("get", "list", "watch")')
hl=$(count '"/horizontalpodautoscalers" in k and k.split()[0] in ("get", "list")')
sw=$(count 'k.split()[0] == "patch" and k.endswith("/status")')
ew=$(count '"/events" in k and k.split()[0] in ("create", "patch", "update")')
all=$(count 'True')
echo "measured: steady state over $STEADY_S s ($((STEADY_S / INTERVAL)) cycles of ${INTERVAL} s): $hw HPA writes, $hl HPA reads, $sw status patches, $ew Event writes, $all requests in all;" \
    "per hour: $((hw * 3600 / STEADY_S)) HPA writes, $((sw * 3600 / STEADY_S)) status patches, $((ew * 3600 / STEADY_S)) Event writes"
ahpa_equals "steady state: no HPA write" "$hw" 0
ahpa_equals "steady state: no Event written" "$ew" 0
ahpa_equals "and the HPA's resourceVersion is unchanged" \
    "$(k get hpa ahpa-fib-gpu -o jsonpath='{.metadata.resourceVersion}')" "$rv"

# --- a user's HPA on the same target: reported, ours removed; then ours back --------
kin apply -f - >/dev/null 2>&1 <<'YAML'
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: users-own, namespace: default}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: bert-intent-detection}
  minReplicas: 1
  maxReplicas: 3
  metrics: [{type: Resource, resource: {name: cpu, target: {type: Utilization, averageUtilization: 50}}}]
YAML
conflict() { [[ "$(cond)" == "False UserHPAConflict" ]]; }
wait_s 10 conflict
ahpa_check "a user's HPA on the target: condition False UserHPAConflict ($(cond))" conflict
wait_s 6 has_event Warning:UserHPAConflict:1
ahpa_contains "and a Warning Event UserHPAConflict" "$(events)" "Warning:UserHPAConflict:1"
ahpa_check "the user's HPA is left alone" k get hpa users-own
k delete hpa users-own >/dev/null
wait_s 10 have_hpa
ahpa_check "the user's HPA deleted: the managed one is back" have_hpa
# The same decision again is the same Event, counted (not a second one).
wait_s 6 has_event Normal:ManagedHPACreated:2
ahpa_contains "ManagedHPACreated again: one Event, count 2 ($(events))" "$(events)" \
    "Normal:ManagedHPACreated:2"

# --- prediction unavailable and available again ------------------------------------
k patch ahpa fib-gpu --type=merge -p '{"spec":{"scaleTargetRef":{"name":"missing"}}}' >/dev/null
wait_s 10 has_event Warning:PredictionUnavailable
ahpa_contains "a target that does not exist: a Warning Event PredictionUnavailable says why" \
    "$(k get events --field-selector involvedObject.name=fib-gpu,reason=PredictionUnavailable -o jsonpath='{.items[*].message}')" \
    "TargetNotFound"
k patch ahpa fib-gpu --type=merge -p '{"spec":{"scaleTargetRef":{"name":"bert-intent-detection"}}}' >/dev/null
wait_s 10 has_event Normal:PredictionAvailable:1
ahpa_contains "the target back: a Normal Event PredictionAvailable" "$(events)" \
    "Normal:PredictionAvailable:1"

# --- the strategy decides what is published ----------------------------------------
ext() { ahpa_kubectl get --raw "/apis/external.metrics.k8s.io/v1beta1/namespaces/default/ahpa_desired_replicas?labelSelector=ahpa%3Dfib-gpu" | json 'd["items"][0]["value"]'; }
strategy_publishes() { # STRATEGY FIELD: the published value is the plan (status desiredReplicas) of that strategy, at least its term FIELD within the bounds
    local st v want
    st=$(k get ahpa fib-gpu -o json)
    [[ "$(echo "$st" | json 'd["spec"]["scaleStrategy"]')" == "$1" ]] || return 1
    echo "$st" | json 'd["status"]["conditions"][0]["message"]' | grep -q "^$1 plan" || return 1
    want=$(echo "$st" | json "min(max(d['status']['$2'], d['status']['minPods']), d['status']['maxPods'])")
    v=$(ext)
    # The planner's scale-down stabilisation may hold the plan above the
    # term (never below it).
    [[ -n "$v" && "$(echo "$st" | json 'd["status"]["desiredReplicas"]')" == "$v" ]] && ((v >= want))
}
for s in reactive:reactiveReplicas proactive:proactiveReplicas; do
    k patch ahpa fib-gpu --type=merge -p "{\"spec\":{\"scaleStrategy\":\"${s%%:*}\"}}" >/dev/null
    wait_s 10 strategy_publishes "${s%%:*}" "${s#*:}"
    ahpa_check "${s%%:*}: ahpa_desired_replicas follows the ${s#*:} term (published $(ext), status $(k get ahpa fib-gpu -o jsonpath='{.status.proactiveReplicas}/{.status.reactiveReplicas}/{.status.desiredReplicas}'))" \
        strategy_publishes "${s%%:*}" "${s#*:}"
    ahpa_check "${s%%:*}: the managed HPA stays" have_hpa
done

# --- observer: gone; auto again, AHPA deleted: gone ------------------------------
k patch ahpa fib-gpu --type=merge -p '{"spec":{"scaleStrategy":"observer"}}' >/dev/null
no_hpa() { ! have_hpa; }
wait_s 10 no_hpa
ahpa_check "back to observer: the managed HPA is deleted" no_hpa
# ManagedHPADeleted on the cycle that deleted it, ObserverStrategy after.
down() { [[ "$(cond)" == "False ManagedHPADeleted" || "$(cond)" == "False ObserverStrategy" ]]; }
wait_s 6 down
ahpa_check "condition ManagedHPA False (ManagedHPADeleted, then ObserverStrategy: $(cond))" down
wait_s 6 has_event Normal:ManagedHPADeleted:1
ahpa_contains "and an Event ManagedHPADeleted" "$(events)" "Normal:ManagedHPADeleted:1"
k patch ahpa fib-gpu --type=merge -p '{"spec":{"scaleStrategy":"auto"}}' >/dev/null
wait_s 10 have_hpa
ahpa_check "auto again: the managed HPA is back" have_hpa
k delete ahpa fib-gpu >/dev/null
wait_s 10 no_hpa
ahpa_check "the AHPA deleted: its HPA is gone (garbage collection)" no_hpa

if ((AHPA_FAILED > 0)); then
    echo "--- adapter (last 40 lines)"
    tail -40 "$T/a/adapter.log"
fi
ahpa_finish
