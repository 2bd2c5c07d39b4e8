#!/usr/bin/env bash
# Benchmark (issue 5): controller cycles for 1,000 AHPA objects against a
# real Prometheus (Debian's package). 1,000 Deployments x 1 pod x 1 GPU of
# synthetic DCGM_FI_DEV_GPU_UTIL (daily cycle + noise) and
# kube_deployment_status_replicas over DAYS days at 60 s (backfill time
# measured), 1,000 AHPA objects in 10 multi-document YAML files, the adapter
# with --ahpa-dir and --prediction-interval=30s -v=2. Measured: the first
# cycle (history load + fit + replay), the steady-state cycles, Prometheus
# queries per cycle (ahpa_controller_prometheus_queries_total delta), CPU
# of the adapter and of Prometheus per cycle, adapter RSS, and how many
# AHPAs got a plan.
#
#   test/bench/controller.sh [AHPAS] [DAYS] [STEADY_CYCLES]     (1000 2 3)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
. "$root/test/lib/deps.sh"
ahpa_ensure_packages $AHPA_BUILD_PACKAGES $AHPA_RUN_PACKAGES bc
. "$root/test/lib/common.sh"
. "$here/lib/bench.sh"

n=${1:-1000}
days=${2:-2}
steady=${3:-3}
interval=30

bench_build "$root"
AHPA_TMP=$(mktemp -d)
trap 'ahpa_prom_stop; ahpa_cleanup' EXIT

bench_timed t_gen /usr/bin/python3 "$here/lib/gen_fleet_om.py" --deployments "$n" --pods 1 --gpus 1 \
    --minutes $((days * 1440)) --meta-minutes 60 --output "$AHPA_TMP/fleet.om"
lines=$(wc -l <"$AHPA_TMP/fleet.om"); mb=$(( $(stat -c %s "$AHPA_TMP/fleet.om") / 1048576 ))
bench_timed t_fill ahpa_prom_backfill "$AHPA_TMP/fleet.om" "$AHPA_TMP/tsdb"
rm -f "$AHPA_TMP/fleet.om"
echo "data: $n Deployments x 1 pod x 1 GPU, $days days at 60 s: $lines lines, $mb MB;" \
     "generated in ${t_gen}s, backfilled (promtool) in ${t_fill}s, blocks $(du -sm "$AHPA_TMP/tsdb" | cut -f1) MB"
ahpa_prom_start "$AHPA_TMP/tsdb" "$(ahpa_free_port)"
/usr/bin/python3 "$here/lib/gen_ahpas.py" "$AHPA_TMP/ahpa" -n "$n" --per-file 100

# One Deployment's usage query straight to Prometheus, for scale.
q='sum(avg by (pod) (DCGM_FI_DEV_GPU_UTIL{namespace="default",pod=~"wl-0000-[a-z0-9]+-[a-z0-9]+"}))'
now=$(date +%s); now=$((now - now % 60))
for i in 1 2 3; do
    curl -sf -o /dev/null -w '%{time_total}\n' "$AHPA_PROM_URL/api/v1/query_range" --data-urlencode "query=$q" \
        --data-urlencode "start=$((now - 7 * 86400))" --data-urlencode "end=$now" --data-urlencode step=60
done >"$AHPA_TMP/q.t"
echo "one usage query_range over 7 d at 60 s straight to Prometheus (curl): median of 3" \
     "$(printf '%.1f' "$(echo "$(sort -g "$AHPA_TMP/q.t" | sed -n 2p) * 1000" | bc -l)") ms"

prom_cpu0=$(bench_cpu_s "$AHPA_PROM_PID")
ahpa_start_adapter "$AHPA_TMP/a" --prometheus-url="$AHPA_PROM_URL" --ahpa-dir="$AHPA_TMP/ahpa" \
    --prediction-interval=${interval}s -v=2
re="controller cycle: [0-9]+ AHPAs in"
printf '\n%-8s %8s %10s %12s %14s %14s %10s\n' cycle AHPAs "time ms" "prom queries" "adapter cpu s" "prom cpu s" "RSS MiB"
prev_q=0; prev_a=$(bench_cpu_s "$AHPA_PID"); prev_p=$prom_cpu0
for k in $(seq 1 $((steady + 1))); do
    if [ "$k" = 1 ]; then limit=1800; else limit=$((interval + 900)); fi
    bench_wait_log "$re" "$k" "$limit"
    line=$(grep -E "$re" "$AHPA_LOG" | sed -n "${k}p")
    ms=$(sed -n 's/.* in \([0-9]*\)ms.*/\1/p' <<<"$line")
    cnt=$(sed -n 's/.*cycle: \([0-9]*\) AHPAs.*/\1/p' <<<"$line")
    qs=$(bench_metric ahpa_controller_prometheus_queries_total || true)
    ac=$(bench_cpu_s "$AHPA_PID"); pc=$(bench_cpu_s "$AHPA_PROM_PID")
    printf '%-8s %8s %10s %12s %14s %14s %10s\n' "$k" "$cnt" "$ms" "$(bench_delta "$qs" "$prev_q")" \
        "$(echo "$ac - $prev_a" | bc)" "$(echo "$pc - $prev_p" | bc)" "$(bench_rss_mib "$AHPA_PID")"
    [ "$k" = 1 ] && first_ms=$ms
    [ "$k" -gt 1 ] && steady_ms="${steady_ms:-} $ms"
    prev_q=$qs; prev_a=$ac; prev_p=$pc
done
echo "(cpu columns: CPU used since the previous row, i.e. the cycle plus any serving in between)"
echo

# Failed queries: only when /metrics exports them (else "not exported").
failures=$(bench_metric ahpa_controller_prometheus_query_failures_total || true)
ext=$(curl -sf --cacert "$AHPA_CA" \
      "https://127.0.0.1:$AHPA_PORT/apis/external.metrics.k8s.io/v1beta1/namespaces/default/ahpa_desired_replicas")
planned=$(jq '.items | length' <<<"$ext")
echo "first cycle: $first_ms ms; steady cycles:$steady_ms ms"
echo "ahpa_desired_replicas items: $planned of $n; controller query failures: $failures;" \
     "warnings in the log: $(grep -c '^W' "$AHPA_LOG" || true)"
echo "ahpa_controller_cycle_duration_seconds (last): $(bench_metric ahpa_controller_cycle_duration_seconds || true)"
grep '^W' "$AHPA_LOG" | head -n 3 | sed 's/^/  /'
