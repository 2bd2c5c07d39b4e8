#!/usr/bin/env bash
# The managed HPA drives the workload along the plan (issue 12): an
# EMULATOR of the HPA controller (hpa_emulator.py, not the real one: it
# does what kube-controller-manager's HPA controller does with this HPA,
# see its header) syncs the managed HPA ahpa-fib-gpu every period: reads
# the HPA and the Deployment's scale subresource from the test apiserver
# (test/lib/kube_apiserver.py, a test double of kube-apiserver), reads
# ahpa_desired_replicas through the adapter's external metrics API (HTTPS,
# a client certificate), applies the HPA formula (External AverageValue
# 1: ceil(usage / 1) unless usage / (1 x current) is within the
# tolerance), the HPA's behavior (stabilisation windows, rate policies)
# and min/max, and writes the scale subresource.
#
# Time is compressed: the GPU history is the real daily-cycle trace with
# one trace minute every STEP_S seconds (gen_gpu_openmetrics.py --step-s,
# backfilled into a real Prometheus, continued live by the generator's
# exporter scraped every second), the adapter plans with
# --prediction-step=${STEP_S}s and --prediction-interval=${STEP_S}s, and
# the emulator syncs every PERIOD_S seconds instead of 15.
#
# Asserted at every sync: with the managed HPA's tolerance 0 (the
# adapter's --managed-hpa-tolerance default) the replicas the emulator
# sets are the published plan (the metric value it read), within the
# HPA's bounds; the Deployment ends at the last plan; the plan moved
# during the run (several values). Printed: how many of those syncs the
# HPA's default 10 % tolerance would have left at the old count.
set -u
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
. "$here/../lib/common.sh"
. "$here/../lib/kubeapi.sh"
. "$here/../lib/prometheus.sh"
AHPA_TMP=$(mktemp -d)
EXPORTER=""
cleanup() { [[ -n "$EXPORTER" ]] && ahpa_stop_pid "$EXPORTER"; ahpa_prom_stop; ahpa_cleanup; }
trap cleanup EXIT
T=$AHPA_TMP
export PYTHONDONTWRITEBYTECODE=1
STEP_S=15 PERIOD_S=3 SYNCS=${AHPA_EMULATOR_SYNCS:-15}
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
wait_s() { # SECONDS CMD...: bounded in time, 0.2 s apart
    local end=$((SECONDS + $1))
    shift
    while ((SECONDS < end)); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.2
    done
    "$@" >/dev/null 2>&1
}

# --- a compressed daily cycle: 2 "days" of history, then live -------------------
END=$(date +%s)
# The day starts at trace minute 11: the live part (what the run sees) is
# the trace's busiest minutes after midnight, where the plan moves most.
GEN=(--step-s "$STEP_S" --day-offset-min 11 --pods 4 --deployment bert-intent-detection)
python3 "$src/test/lib/gen_gpu_openmetrics.py" "${GEN[@]}" --days 2 --end "$END" \
    --output "$T/gpu.om" && ahpa_prom_backfill "$T/gpu.om" "$T/tsdb" ||
    { ahpa_fail "history generated and backfilled"; ahpa_finish; }
EXPORTER_PORT=$(ahpa_free_port)
ahpa_gpu_exporter_start "$END" "$EXPORTER_PORT" "${GEN[@]}" ||
    { ahpa_fail "live exporter starts"; ahpa_finish; }
EXPORTER=$AHPA_GPU_EXPORTER_PID
AHPA_PROM_SCRAPE_INTERVAL=1s AHPA_PROM_DROP_TARGET_LABELS=1 \
    ahpa_prom_start "$T/tsdb" "$(ahpa_free_port)" "127.0.0.1:$EXPORTER_PORT" ||
    { ahpa_fail "prometheus starts"; ahpa_finish; }

ahpa_start_kubeapi "$T" || { ahpa_fail "test apiserver starts"; ahpa_finish; }
k() { HOME="$T" KUBECONFIG="$KUBEAPI_KUBECONFIG" kubectl --request-timeout=10s "$@" </dev/null; }
kin() { HOME="$T" KUBECONFIG="$KUBEAPI_KUBECONFIG" kubectl --request-timeout=10s "$@"; }
ahpa_contains "kubectl apply the CRD" "$(k apply -f "$src/manifests/crd/" 2>&1)" "created"
ahpa_contains "kubectl apply the Deployment and an auto AHPA" "$(kin apply -f - 2>&1 <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata: {name: bert-intent-detection, namespace: default, labels: {app: bert}}
spec:
  replicas: 4
  selector: {matchLabels: {app: bert}}
  template:
    metadata: {labels: {app: bert}}
    spec: {containers: [{name: bert, image: "registry.example/bert:1"}]}
---
apiVersion: autoscaling.alibabacloud.com/v1beta1
kind: AdvancedHorizontalPodAutoscaler
metadata: {name: fib-gpu, namespace: default}
spec:
  scaleStrategy: auto
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: bert-intent-detection}
  minReplicas: 1
  maxReplicas: 60
  prediction: {quantile: 95, scaleUpForward: 10}
  metrics:
  - type: Resource
    resource: {name: gpu, target: {type: Utilization, averageUtilization: 20}}
YAML
)" "fib-gpu created"

ahpa_client_cert "$T"
ahpa_start_adapter "$T/a" --prometheus-url="$AHPA_PROM_URL" --kubeconfig="$KUBEAPI_KUBECONFIG" \
    --leader-elect=false --prediction-interval=${STEP_S}s --prediction-step=${STEP_S}s \
    --history-window=12h -v=1 || { ahpa_fail "adapter starts"; ahpa_finish; }

have_hpa() { k get hpa ahpa-fib-gpu >/dev/null 2>&1; }
planned() { [[ "$(k get ahpa fib-gpu -o jsonpath='{.status.conditions[0].status}')" == True ]]; }
wait_s 40 have_hpa
ahpa_check "the managed HPA exists" have_hpa
wait_s 40 planned
ahpa_check "fib-gpu is planned ($(k get ahpa fib-gpu -o jsonpath='{.status.conditions[0].message}'))" planned
ahpa_equals "the managed HPA asks for tolerance 0 both ways" \
    "$(k get hpa ahpa-fib-gpu -o json | json '(d["spec"]["behavior"]["scaleUp"].get("tolerance"), d["spec"]["behavior"]["scaleDown"].get("tolerance"))')" \
    "('0', '0')"

# --- the emulated HPA controller ----------------------------------------------------
t0=$SECONDS
timeout $((SYNCS * PERIOD_S + 30)) python3 "$here/hpa_emulator.py" \
    --kube-url "$KUBEAPI_URL" --kube-ca "$KUBEAPI_CA" \
    --kube-cert "$T/kubeapi-tls/admin.crt" --kube-key "$T/kubeapi-tls/admin.key" \
    --adapter-url "https://127.0.0.1:$AHPA_PORT" --adapter-ca "$AHPA_CA" \
    --adapter-cert "$AHPA_CLIENT_CERT" --adapter-key "$AHPA_CLIENT_KEY" \
    --hpa ahpa-fib-gpu --period "$PERIOD_S" --steps "$SYNCS" >"$T/emulator.jsonl" 2>"$T/emulator.err"
echo "measured: $SYNCS syncs of the emulated HPA every ${PERIOD_S} s took $((SECONDS - t0)) s"

# One line per sync: the plan read, the count before, the count set.
verdict=$(python3 - "$T/emulator.jsonl" <<'PY'
import json, math, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
syncs = [l for l in lines if "current" in l]
errors = [l for l in lines if "error" in l]
read = [l for l in syncs if l["metric"] is not None]
bad = []
for l in read:
    plan = min(max(math.ceil(l["metric"]), l["min"]), l["max"])
    if l["desired"] != plan or l["metric"] != plan:
        bad.append((l["t"], l["current"], l["metric"], l["desired"]))
# What the default 10 % tolerance would have done at those syncs.
held = sum(1 for l in read if l["metric"] != l["current"]
           and abs(1 - l["metric"] / l["current"]) <= 0.1)
plans = sorted({l["metric"] for l in read})
print("syncs=%d read=%d errors=%d mismatches=%d scaled=%d plans=%s default_tolerance_holds=%d"
      % (len(syncs), len(read), len(errors), len(bad), sum(l["scaled"] for l in read),
         ",".join("%g" % p for p in plans), held))
print("BAD %s" % bad[:5] if bad else "OK")
print("LAST %s" % (read[-1]["desired"] if read else "-"))
PY
)
echo "$verdict"
ahpa_contains "every sync read the plan and no sync failed" "$verdict" "errors=0"
ahpa_equals "syncs that read the metric" "$(echo "$verdict" | sed -n 's/.* read=\([0-9]*\) .*/\1/p')" "$SYNCS"
ahpa_contains "at every sync the replicas set equal the published plan (tolerance 0)" "$verdict" "mismatches=0"
nplans=$(echo "$verdict" | sed -n 's/.* plans=\([^ ]*\) .*/\1/p' | tr ',' '\n' | grep -c .)
ahpa_check "the plan moved during the run ($nplans values)" test "$nplans" -ge 2
ahpa_equals "the Deployment ends at the last plan" \
    "$(k get deployment bert-intent-detection -o jsonpath='{.spec.replicas}')" \
    "$(echo "$verdict" | sed -n 's/^LAST //p')"

if ((AHPA_FAILED > 0)); then
    echo "--- emulator"; tail -20 "$T/emulator.jsonl"; cat "$T/emulator.err"
    echo "--- adapter (last 30 lines)"; tail -30 "$T/a/adapter.log"
fi
ahpa_finish
