#!/usr/bin/env bash
# The managed HPA drives the workload along the plan, up AND down (issue 12):
# an EMULATOR of the HPA controller (hpa_emulator.py, not the real one: it
# does what kube-controller-manager's HPA controller does with this HPA,
# see its header) syncs the managed HPA ahpa-fib-gpu every period: reads
# the HPA and the Deployment's scale subresource from the test apiserver
# (test/lib/kube_apiserver.py, a test double of kube-apiserver), reads
# ahpa_desired_replicas through the adapter's external metrics API (HTTPS,
# a client certificate), applies the HPA formula (External AverageValue
# 1: ceil(usage / 1) unless usage / (1 x status replicas) is within the
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
# The day starts at trace minute DAY_OFFSET (12): the history ends in the
# trace's first burst after midnight (minute 11: 4 pods' worth of load)
# and the live part goes on 9 -> 6 -> 1 -> 1 -> 6, one trace minute (one
# plan step) after another, so the plan rises at once and then falls. The
# AHPA plans at quantile QUANTILE (50: the median forecast follows the
# day's profile; at the seed's 95 the band of this bursty trace kept the
# plan at 10 pods for 45 s: from minute 11, 92 s of syncs at 95, 53 to 72 s
# at 50) with stabilizationWindowSeconds WINDOW_S (30 s, two plan steps:
# the planner holds a scale-down for one step, then lets it go), so the
# fall reaches the plan within the run; the managed HPA scales
# down with no window of its own (behavior.scaleDown
# stabilizationWindowSeconds 0), so the emulated HPA follows at once.
# Measured (plan at each 3 s sync): 4 4 4 4 9 9 9 9 9 9 9 9 9 9 6; from
# minute 11 the plan sat at 1 pod for up to 27 s first. Should the set-up
# be slow enough that the first sync already sees 9, the later 1 -> 6
# gives the scale-up (the run is then longer, still within MAX_SYNCS).
#
# Asserted at every sync: with the managed HPA's tolerance 0 (the
# adapter's --managed-hpa-tolerance default) the replicas the emulator
# sets are the published plan (the metric value it read), within the
# HPA's bounds, and the next sync finds them on the Deployment. After
# the first sync (which moves the Deployment's initial 4 replicas to the
# plan) at least one scale-up AND one scale-down, each following the
# plan. The emulator stops once it has seen both (--until-up-and-down),
# at most MAX_SYNCS syncs. Printed: the plan at each sync, and how many
# syncs the HPA's default 10 % tolerance would have left at the old count.
#
# Knobs (for exploring; the defaults are the test): AHPA_EMULATOR_WINDOW_S,
# AHPA_EMULATOR_DAY_OFFSET, AHPA_EMULATOR_QUANTILE, AHPA_EMULATOR_MAX_SYNCS.
# With AHPA_EMULATOR_WINDOW_S=300 the plan does not come down within the
# run, and the test fails.
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
STEP_S=15 PERIOD_S=3
WINDOW_S=${AHPA_EMULATOR_WINDOW_S:-30}
DAY_OFFSET=${AHPA_EMULATOR_DAY_OFFSET:-12}
QUANTILE=${AHPA_EMULATOR_QUANTILE:-50}
MAX_SYNCS=${AHPA_EMULATOR_MAX_SYNCS:-40}
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
GEN=(--step-s "$STEP_S" --day-offset-min "$DAY_OFFSET" --pods 4 --deployment bert-intent-detection)
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
ahpa_contains "kubectl apply the Deployment and an auto AHPA" "$(kin apply -f - 2>&1 <<YAML
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
  stabilizationWindowSeconds: $WINDOW_S
  prediction: {quantile: $QUANTILE, scaleUpForward: 10}
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
ahpa_equals "the managed HPA: tolerance 0 both ways, scale-down window 0" \
    "$(k get hpa ahpa-fib-gpu -o jsonpath='{.spec.behavior.scaleUp.tolerance} {.spec.behavior.scaleDown.tolerance} {.spec.behavior.scaleDown.stabilizationWindowSeconds}')" \
    "0 0 0"

# --- the emulated HPA controller ----------------------------------------------------
t0=$SECONDS
timeout $((MAX_SYNCS * PERIOD_S + 30)) python3 "$here/hpa_emulator.py" \
    --kube-url "$KUBEAPI_URL" --kube-ca "$KUBEAPI_CA" \
    --kube-cert "$T/kubeapi-tls/admin.crt" --kube-key "$T/kubeapi-tls/admin.key" \
    --adapter-url "https://127.0.0.1:$AHPA_PORT" --adapter-ca "$AHPA_CA" \
    --adapter-cert "$AHPA_CLIENT_CERT" --adapter-key "$AHPA_CLIENT_KEY" \
    --hpa ahpa-fib-gpu --period "$PERIOD_S" --steps "$MAX_SYNCS" --until-up-and-down \
    >"$T/emulator.jsonl" 2>"$T/emulator.err"
echo "measured: the emulated HPA synced every ${PERIOD_S} s for $((SECONDS - t0)) s" \
    "(at most $MAX_SYNCS syncs)"

# The verdict, in one jq run over the emulator's lines. plan = the metric
# read, rounded up and clamped to the HPA's bounds; "lost": a sync that did
# not find on the Deployment what the sync before it set.
verdict=$(jq -rs '
    def plan: [([(.metric | ceil), .min] | max), .max] | min;
    [.[] | select(has("current") and (has("error") | not))] as $s
    | [.[] | select(has("error"))] as $e
    | [$s[] | select(.metric != null)] as $r
    | [$r[] | select(.desired != plan or .metric != plan)] as $bad
    | [range(1; $s | length) as $i | select($s[$i].current != $s[$i - 1].desired) | $i] as $lost
    | [$r[] | select(.metric != .current and .current > 0
                     and ((1 - .metric / .current) | fabs) <= 0.1)] as $held
    | "syncs=\($s | length) read=\($r | length) errors=\($e | length)" +
      " mismatches=\($bad | length) lost=\($lost | length)" +
      " ups=\([$s[1:][] | select(.direction == "up")] | length)" +
      " downs=\([$s[1:][] | select(.direction == "down")] | length)" +
      " default_tolerance_holds=\($held | length)",
      "PLANS \([$s[] | (.metric // "-") | tostring] | join(" "))",
      (if ($bad | length) > 0 then "BAD \($bad[:3] | tojson)" else "OK" end),
      "LAST \(if ($r | length) > 0 then ($r[-1] | plan) else "-" end)"
' "$T/emulator.jsonl" 2>&1)
echo "$verdict"
field() { echo "$verdict" | head -1 | tr ' ' '\n' | sed -n "s/^$1=//p"; }
syncs=$(field syncs)
ahpa_equals "every sync read the plan and no sync failed" "$(field read) $(field errors)" "${syncs:-?} 0"
ahpa_check "the emulator synced ($syncs syncs)" test "${syncs:-0}" -ge 3
ahpa_equals "at every sync the replicas set equal the published plan (tolerance 0)" \
    "$(field mismatches)" 0
ahpa_equals "every sync found on the Deployment what the one before set" "$(field lost)" 0
ahpa_check "after the first sync the plan moved up and the HPA scaled up ($(field ups) times)" \
    test "$(field ups)" -ge 1
ahpa_check "after the first sync the plan moved down and the HPA scaled down ($(field downs) times)" \
    test "$(field downs)" -ge 1
ahpa_equals "the Deployment ends at the last plan" \
    "$(k get deployment bert-intent-detection -o jsonpath='{.spec.replicas}')" \
    "$(echo "$verdict" | sed -n 's/^LAST //p')"

if ((AHPA_FAILED > 0)); then
    echo "--- emulator"; tail -20 "$T/emulator.jsonl"; cat "$T/emulator.err"
    echo "--- adapter (last 30 lines)"; tail -30 "$T/a/adapter.log"
fi
ahpa_finish
