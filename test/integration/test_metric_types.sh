#!/usr/bin/env bash
# Metric types against a real Prometheus: cpu, memory and External AHPAs,
# and a two-metric one, planned from backfilled cAdvisor, kube-state-metrics
# and external series (test/lib/gen_resource_openmetrics.py: flat newest
# hour, so the HPA's answer is computed here by hand). Reactive strategy,
# no stabilisation window: the plan is the HPA's formula on the current
# values. Also: the sandbox and pod-cgroup series and a second queue are
# left out, the page and the log say which metric drove the plan.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
. "$here/../lib/common.sh"
AHPA_TMP=$(mktemp -d)
cleanup() { ahpa_prom_stop; ahpa_cleanup; }
trap cleanup EXIT
ahpa_client_cert "$AHPA_TMP"

python3 "$root/test/lib/gen_resource_openmetrics.py" --hours 3 --pods 4 \
    --output "$AHPA_TMP/res.om" --summary "$AHPA_TMP/summary.json" ||
    { ahpa_fail "fixture generation"; ahpa_finish; }
ahpa_prom_backfill "$AHPA_TMP/res.om" "$AHPA_TMP/tsdb" && ahpa_prom_start "$AHPA_TMP/tsdb" "$(ahpa_free_port)" ||
    { ahpa_fail "prometheus starts"; ahpa_finish; }

ahpas=$AHPA_TMP/ahpa
mkdir -p "$ahpas"
doc() { # name strategy metrics-yaml
    cat <<EOF
---
apiVersion: autoscaling.alibabacloud.com/v1beta1
kind: AdvancedHorizontalPodAutoscaler
metadata: {name: $1, namespace: default}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  metrics:
$3
  minReplicas: 1
  maxReplicas: 50
  stabilizationWindowSeconds: 0
  prediction: {quantile: 95, scaleUpForward: 180}
  scaleStrategy: $2
EOF
}
cpu='  - {type: Resource, resource: {name: cpu, target: {type: Utilization, averageUtilization: 50}}}'
mem_util='  - {type: Resource, resource: {name: memory, target: {type: Utilization, averageUtilization: 80}}}'
mem_avg='  - {type: Resource, resource: {name: memory, target: {type: AverageValue, averageValue: 256Mi}}}'
q_avg='  - {type: External, external: {metric: {name: queue_depth, selector: {matchLabels: {queue: jobs}}}, target: {type: AverageValue, averageValue: "10"}}}'
q_val='  - {type: External, external: {metric: {name: queue_depth, selector: {matchLabels: {queue: jobs}}}, target: {type: Value, value: "20"}}}'
{
    doc cpu reactive "$cpu"
    doc memory reactive "$mem_util"
    doc queue-avg reactive "$q_avg"
    doc queue-value reactive "$q_val"
    doc cpu-memory reactive "$cpu
$mem_avg"
} >"$ahpas/ahpas.yaml"
doc twice reactive "$cpu
$cpu" >"$ahpas/twice.yaml"
cat >"$AHPA_TMP/rules.yaml" <<'EOF'
externalRules:
- seriesQuery: 'queue_depth{namespace!=""}'
  resources:
    overrides:
      namespace: {resource: namespace}
  name: {matches: "^queue_depth$", as: queue_depth}
  metricsQuery: 'sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)'
EOF

ahpa_start_adapter "$AHPA_TMP/a" --prometheus-url="$AHPA_PROM_URL" --ahpa-dir="$ahpas" \
    --config="$AHPA_TMP/rules.yaml" --prediction-interval=2s --history-window=2h -v=2 ||
    { ahpa_fail "adapter starts"; ahpa_finish; }

# The HPA's answers, by hand, from the newest hour's values (4 pods).
want=$(python3 - "$AHPA_TMP/summary.json" <<'EOF'
import json, math, sys
s = json.load(open(sys.argv[1]))
n = s["pods"]
def hpa(u, target):  # U / target with the HPA's 10 % tolerance around n pods
    r = u / (target * n)
    return n if abs(r - 1) <= 0.1 else max(1, min(50, math.ceil(u / target)))
cpu = hpa(100 * n * s["cpu_per_pod"] / s["cpu_request"], 50)
mem = hpa(100 * n * s["memory_per_pod"] / s["memory_request"], 80)
qa = hpa(s["queue_jobs"], 10)
qv = hpa(n * s["queue_jobs"], 20)
mavg = hpa(n * s["memory_per_pod"], 256 * 2**20)
print("cpu=%d memory=%d queue-avg=%d queue-value=%d cpu-memory=%d mavg=%d"
      % (cpu, mem, qa, qv, max(cpu, mavg), mavg))
EOF
)
echo "by hand: $want"
planned() { ahpa_kubectl get --raw /metrics | awk -v a="$1" '$1 ~ "^ahpa_requested_pods[{]namespace=\"default\",ahpa=\"" a "\"" {print $2}'; }
all_planned() {
    for n in cpu memory queue-avg queue-value cpu-memory; do
        [ -n "$(planned "$n")" ] || return 1
    done
}
ahpa_check "every AHPA is planned" ahpa_wait_for 30 all_planned
for n in cpu memory queue-avg queue-value cpu-memory; do
    w=$(echo "$want" | tr ' ' '\n' | sed -n "s/^$n=//p")
    ahpa_equals "$n: the plan is the HPA's count" "$(planned "$n")" "$w"
done
mavg=$(echo "$want" | tr ' ' '\n' | sed -n 's/^mavg=//p')
cpuw=$(echo "$want" | tr ' ' '\n' | sed -n 's/^cpu=//p')
# The fixture makes memory (AverageValue) the larger of the two.
ahpa_check "the fixture has memory above cpu ($mavg > $cpuw)" test "$mavg" -gt "$cpuw"
page=$(ahpa_kubectl get --raw /apis/metrics.alibabacloud.com/v1beta1/namespaces/default/predictionsobserver/cpu-memory |
    python3 -c "import json,sys,base64; print(base64.b64decode(json.load(sys.stdin)['content']).decode())")
ahpa_contains "the page names the driving metric and both counts" "$page" \
    "memory (cpu: $cpuw pods; memory: $mavg pods (drove the plan))"
ahpa_check "a metric listed twice is refused with the field" \
    grep -q "twice.yaml: default/twice: spec.metrics\[1\]: the same Resource metric cpu as spec.metrics\[0\]" "$AHPA_LOG"
ahpa_check "and not planned" test -z "$(planned twice)"
ahpa_finish
