#!/usr/bin/env bash
# Benchmark (issue 3, registry): relist time and adapter memory with 10,000
# GPU series in a real Prometheus (Debian's package): 2,500 pods x 4 GPUs of
# DCGM_FI_DEV_GPU_UTIL over the last hour at 60 s, plus kube_pod_labels and
# kube_deployment_* (625 Deployments x 4 pods). The adapter relists every
# 5 s with -v=2; we read the "relist: ... in Xms" lines and
# ahpa_metrics_relist_duration_seconds, the RSS after the first relist and
# after RELISTS more, and time the discovery document
# /apis/custom.metrics.k8s.io/v1beta2 over keep-alive while relists run
# (it must stay instant). For reference: Prometheus' own time for the
# biggest /api/v1/series call, and the adapter's RSS with no Prometheus.
#
#   test/bench/relist.sh [PODS] [GPUS_PER_POD] [RELISTS]      (2500 4 12)
#   EXTRA=1 test/bench/relist.sh   also FB_USED, FB_FREE, POWER_USAGE per GPU
#                                  (4x the GPU series)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
. "$root/test/lib/deps.sh"
ahpa_ensure_packages $AHPA_BUILD_PACKAGES $AHPA_RUN_PACKAGES bc
. "$root/test/lib/common.sh"
. "$here/lib/bench.sh"

pods=${1:-2500}
gpus=${2:-4}
relists=${3:-12}
pods_per_dep=4
deps=$(( (pods + pods_per_dep - 1) / pods_per_dep ))
extra=()
[ "${EXTRA:-0}" = 1 ] && extra=(--extra)

bench_build "$root"
AHPA_TMP=$(mktemp -d)
trap 'ahpa_prom_stop; ahpa_cleanup' EXIT

# --- baseline: the adapter with no Prometheus ------------------------------------
ahpa_start_adapter "$AHPA_TMP/base"
sleep 1
rss_base=$(bench_rss_mib "$AHPA_PID")
disc=/apis/custom.metrics.k8s.io/v1beta2
/usr/bin/python3 "$here/lib/timed_get.py" get "https://127.0.0.1:$AHPA_PORT$disc" --ca "$AHPA_CA" \
    -n 10000000 --seconds 10 >"$AHPA_TMP/disc0.txt"
ahpa_stop_pid "$AHPA_PID"

# --- data -------------------------------------------------------------------------
bench_timed t_gen /usr/bin/python3 "$here/lib/gen_fleet_om.py" --deployments "$deps" \
    --pods "$pods_per_dep" --gpus "$gpus" --minutes 60 "${extra[@]}" --output "$AHPA_TMP/fleet.om"
lines=$(wc -l <"$AHPA_TMP/fleet.om"); mb=$(( $(stat -c %s "$AHPA_TMP/fleet.om") / 1048576 ))
bench_timed t_fill ahpa_prom_backfill "$AHPA_TMP/fleet.om" "$AHPA_TMP/tsdb"
rm -f "$AHPA_TMP/fleet.om"
ahpa_prom_start "$AHPA_TMP/tsdb" "$(ahpa_free_port)"
nser=$(curl -sf "$AHPA_PROM_URL/api/v1/query" --data-urlencode 'query=count(DCGM_FI_DEV_GPU_UTIL)' |
       jq -r '.data.result[0].value[1]')
echo "data: $deps Deployments x $pods_per_dep pods x $gpus GPUs = $nser DCGM_FI_DEV_GPU_UTIL series" \
     "${extra:+(and FB_USED, FB_FREE, POWER_USAGE per GPU) }$lines lines, $mb MB;" \
     "generated in ${t_gen}s, backfilled in ${t_fill}s"

# Prometheus' own answer to the biggest series call (the built-in DCGM rule's seriesQuery).
now=$(date +%s)
sq='DCGM_FI_DEV_GPU_UTIL{pod!="",namespace!="",exported_pod=""}'
for i in 1 2 3; do
    curl -sf -o "$AHPA_TMP/series.json" -w '%{time_total} %{size_download}\n' "$AHPA_PROM_URL/api/v1/series" \
        --data-urlencode "match[]=$sq" --data-urlencode "start=$((now - 300))" --data-urlencode "end=$now"
done >"$AHPA_TMP/series.t"
read -r st ssize < <(sort -g "$AHPA_TMP/series.t" | sed -n 2p)
echo "Prometheus /api/v1/series for $sq over 5 min: median of 3 $(printf '%.0f' "$(echo "$st * 1000" | bc -l)") ms, $((ssize / 1024)) KiB"

# --- the adapter ---------------------------------------------------------------------
ahpa_start_adapter "$AHPA_TMP/a" --prometheus-url="$AHPA_PROM_URL" --metrics-relist-interval=5s -v=2
rss_ready=$(bench_rss_mib "$AHPA_PID")
bench_wait_log 'relist: ' 1 120
rss_first=$(bench_rss_mib "$AHPA_PID")
# Discovery timed over keep-alive while the next relists run.
/usr/bin/python3 "$here/lib/timed_get.py" get "https://127.0.0.1:$AHPA_PORT$disc" --ca "$AHPA_CA" \
    -n 10000000 --seconds $((relists * 5)) >"$AHPA_TMP/disc.txt" &
disc_pid=$!
ahpa_track "$disc_pid"
bench_wait_log 'relist: ' $((relists + 1)) $((relists * 5 + 120))
rss_after=$(bench_rss_mib "$AHPA_PID")
wait "$disc_pid" || { echo "discovery timing failed" >&2; exit 1; }
dur=$(bench_metric ahpa_metrics_relist_duration_seconds || true)
nres=$(curl -sf --cacert "$AHPA_CA" "https://127.0.0.1:$AHPA_PORT$disc" | jq '.resources | length')

grep -E 'relist: ' "$AHPA_LOG" | sed -n 's/.* in \([0-9]*\)ms.*/\1/p' >"$AHPA_TMP/relist.ms"
echo
echo "relists (every 5 s): $(wc -l <"$AHPA_TMP/relist.ms") logged; last log line:"
grep -E 'relist: ' "$AHPA_LOG" | tail -n 1 | sed 's/^/  /'
sort -n "$AHPA_TMP/relist.ms" | awk '{ v[NR] = $1 } END {
    printf "relist time ms: first %d, min %d, median %d, max %d\n", f, v[1], v[int((NR + 1) / 2)], v[NR] }' \
    f="$(head -n 1 "$AHPA_TMP/relist.ms")"
echo "ahpa_metrics_relist_duration_seconds (last): $dur"
echo
printf '%-40s %10s\n' "adapter RSS" "MiB"
printf '%-40s %10s\n' "no Prometheus (baseline)" "$rss_base" "at readiness" "$rss_ready" \
    "after the first relist" "$rss_first" "after $relists more relists" "$rss_after"
echo
echo "discovery $disc over keep-alive (python3 http.client), 10 s without Prometheus (empty list),"
echo "then during the relists ($nres resources):"
sed 's/^get /  no relists:     /' "$AHPA_TMP/disc0.txt"
sed 's/^get /  during relists: /' "$AHPA_TMP/disc.txt"
