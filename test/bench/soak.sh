#!/usr/bin/env bash
# Soak benchmark (issue 9): the adapter under steady load while its
# surroundings misbehave, for any duration; not part of ./test.sh.
#
# Scenario, all on 127.0.0.1:
#  - Prometheus (Debian's) with 2 days of the GPU trace for 3 pods of
#    bert-intent-detection and its live continuation scraped every 15 s;
#  - the adapter with the seed's fib-gpu AHPA (--ahpa-dir), planning every 30 s;
#  - wrk, 16 keep-alive connections, on one custom metric (the HPA's path);
#  - a cold-request client: unique metricLabelSelector values at a fixed
#    rate (misses the value cache every time);
#  - two Prometheus outages of OUTAGE seconds (at 1/3 and 2/3 of the run);
#  - the AHPA file rewritten every minute (target toggles 20 <-> 25);
#  - the serving certificate replaced once, at half time.
# Every 10 s it prints the adapter's RSS and log size. At the end: RSS slope
# after warm-up (least squares, MiB per minute), log bytes in total and
# during the outages, non-2xx answers (wrk and the cold client), Prometheus
# queries per adapter request, and whether the adapter stayed up.
# Then a burst: BURST unique selectors as fast as the client goes (bounded
# by BURST_S seconds), 60 s idle, and the RSS before, at the peak and after.
#
#   test/bench/soak.sh [MINUTES] [OUTAGE_S] [BURST] [BURST_S]   (10 20 60000 300)
#
# SOAK_KEEP_LOG=FILE copies the adapter's log to FILE at the end (the
# scratch directory is removed), for a look at what it wrote.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
. "$root/test/lib/deps.sh"
ahpa_ensure_packages $AHPA_BUILD_PACKAGES $AHPA_RUN_PACKAGES wrk bc
. "$root/test/lib/common.sh"
. "$here/lib/bench.sh"

minutes=${1:-10}
outage_s=${2:-20}
burst=${3:-60000}
burst_s=${4:-300}
duration_s=$((minutes * 60))
warmup_s=$((duration_s / 5 > 120 ? 120 : duration_s / 5))

bench_build "$root"
AHPA_TMP=$(mktemp -d)
# The cleanup runs to its end whatever fails in it (no errexit), and also
# on SIGTERM/SIGINT (bash runs no EXIT trap when a signal kills it).
soak_cleanup() {
    local status=$?
    set +e
    trap - EXIT TERM INT
    if [[ -n "${SOAK_KEEP_LOG:-}" && -n "${AHPA_LOG:-}" && -f "$AHPA_LOG" ]]; then
        cp "$AHPA_LOG" "$SOAK_KEEP_LOG" && echo "adapter log kept in $SOAK_KEEP_LOG"
    fi
    ahpa_prom_stop; ahpa_gpu_exporter_stop; ahpa_cleanup
    exit "$status"
}
trap soak_cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

# --- Prometheus with history and a live continuation ------------------------
end=$(date +%s)
/usr/bin/python3 "$root/test/lib/gen_gpu_openmetrics.py" --days 2 --pods 3 --end "$end" \
    --output "$AHPA_TMP/gpu.om"
ahpa_prom_backfill "$AHPA_TMP/gpu.om" "$AHPA_TMP/tsdb"
rm -f "$AHPA_TMP/gpu.om"
exporter_port=$(ahpa_free_port)
ahpa_gpu_exporter_start "$end" "$exporter_port" --days 2 --pods 3
prom_port=$(ahpa_free_port)
prom_start() {
    AHPA_PROM_SCRAPE_INTERVAL=15s AHPA_PROM_DROP_TARGET_LABELS=1 \
        ahpa_prom_start "$AHPA_TMP/tsdb" "$prom_port" "127.0.0.1:$exporter_port"
}
prom_start
pod=$(curl -sf "$AHPA_PROM_URL/api/v1/query" --data-urlencode 'query=DCGM_FI_DEV_GPU_UTIL' |
      jq -r '[.data.result[].metric.pod] | sort | .[0]')
[ -n "$pod" ] && [ "$pod" != null ] || { echo "no GPU series in Prometheus" >&2; exit 1; }

# --- the adapter --------------------------------------------------------------
mkdir -p "$AHPA_TMP/ahpa"
ahpa_file=$AHPA_TMP/ahpa/fib-gpu.yaml
cp "$root/manifests/examples/fib-gpu.yaml" "$ahpa_file"
ahpa_start_adapter "$AHPA_TMP" --prometheus-url="$AHPA_PROM_URL" --ahpa-dir="$AHPA_TMP/ahpa" \
    --prediction-interval=30s
base=https://127.0.0.1:$AHPA_PORT

# The replacement serving certificate, from a CA of its own; clients trust
# both CAs, so the swap itself causes no failures.
new=$AHPA_TMP/newcert
mkdir -p "$new"
ahpa_pki_ca "$new" ca && ahpa_pki_serving "$new" ca tls
cat "$AHPA_CA" "$new/ca.crt" >"$AHPA_TMP/ca-bundle.crt"
AHPA_CA=$AHPA_TMP/ca-bundle.crt
mpath=/apis/custom.metrics.k8s.io/v1beta2/namespaces/default/pods/$pod/gpu_utilization
ahpa_wait_for 30 curl -sf --cacert "$AHPA_CA" "$base$mpath" ||
    { echo "the custom metric never answered; log:" >&2; tail -n 20 "$AHPA_LOG" >&2; exit 1; }
echo "pod $pod; adapter pid $AHPA_PID; Prometheus $AHPA_PROM_URL; ${minutes} min, outages ${outage_s}s"

# bench_metric prints 0 for a missing metric: say so instead.
metric_or_na() {
    local name=$1 text
    text=$(curl -sf --cacert "$AHPA_CA" "$base/metrics") || { echo "n/a"; return; }
    grep -qE "^$name(\{| )" <<<"$text" || { echo "not-exported"; return; }
    bench_metric "$name"
}

# The caches' size and evictions, on one line.
cache_figures() {
    local m out=""
    for m in ahpa_metrics_cache_entries ahpa_metrics_cache_bytes ahpa_metrics_cache_evictions_total \
             ahpa_metrics_cache_expirations_total ahpa_metrics_cache_malloc_trims_total \
             ahpa_api_response_cache_entries ahpa_api_response_cache_bytes \
             ahpa_api_response_cache_evictions_total ahpa_malloc_in_use_bytes \
             ahpa_malloc_free_bytes ahpa_malloc_arena_bytes; do
        out="$out ${m#ahpa_}=$(metric_or_na "$m")"
    done
    echo "${out# }"
}

# Where the resident memory is: the main heap, other anonymous mappings
# (thread arenas, stacks, mmapped blocks) and files, in MiB.
rss_breakdown() {
    awk '/^[0-9a-f]+-[0-9a-f]+ / { kind = ($6 == "[heap]") ? "heap" : ($6 == "" ? "anon" : ($6 ~ /^\[/ ? "other" : "file")) }
         /^Rss:/ { r[kind] += $2 }
         END { printf "heap %.1f, anonymous %.1f, files %.1f, other %.1f MiB\n", r["heap"]/1024, r["anon"]/1024, r["file"]/1024, r["other"]/1024 }' \
        "/proc/$1/smaps"
}

queries0=$(metric_or_na ahpa_prometheus_request_duration_seconds_count)
requests0=$(metric_or_na apiserver_request_total)

# --- load ---------------------------------------------------------------------
wrk -t2 -c16 -d"${duration_s}s" --timeout 10s --latency \
    "$base$mpath" >"$AHPA_TMP/wrk.txt" 2>&1 &
wrk_pid=$!
ahpa_track $wrk_pid
/usr/bin/python3 "$here/lib/cold_client.py" --adapter "$base" --ca "$AHPA_CA" --pod "$pod" \
    --rate 20 --seconds "$duration_s" >"$AHPA_TMP/cold.txt" 2>&1 &
cold_pid=$!
ahpa_track $cold_pid

# --- the run, sampled every 10 s ------------------------------------------------
t0=$(date +%s)
outage1=$((duration_s / 3)) outage2=$((2 * duration_s / 3)) cert_at=$((duration_s / 2))
outage_log_bytes=0 cert_swapped=0 target=20 next_edit=60 up=1
: >"$AHPA_TMP/rss.txt"
printf '%6s %9s %11s %s\n' "t(s)" "RSS MiB" "log bytes" event
while :; do
    now=$(( $(date +%s) - t0 ))
    [ "$now" -ge "$duration_s" ] && break
    event=""
    for at in $outage1 $outage2; do
        if [ "$now" -ge "$at" ] && [ "$now" -lt $((at + 10)) ] && [ -n "$AHPA_PROM_PID" ]; then
            before=$(stat -c %s "$AHPA_LOG")
            ahpa_prom_stop
            sleep "$outage_s"
            outage_log_bytes=$((outage_log_bytes + $(stat -c %s "$AHPA_LOG") - before))
            prom_start
            event="prometheus down ${outage_s}s, log +$(( $(stat -c %s "$AHPA_LOG") - before )) B"
        fi
    done
    if [ "$cert_swapped" = 0 ] && [ "$now" -ge "$cert_at" ]; then
        cp "$new/tls.key" "$AHPA_TMP/certs/apiserver.key.tmp"
        mv "$AHPA_TMP/certs/apiserver.key.tmp" "$AHPA_TMP/certs/apiserver.key"
        cp "$new/tls.crt" "$AHPA_TMP/certs/apiserver.crt.tmp"
        mv "$AHPA_TMP/certs/apiserver.crt.tmp" "$AHPA_TMP/certs/apiserver.crt"
        cert_swapped=1
        event="$event certificate replaced"
    fi
    if [ "$now" -ge "$next_edit" ]; then
        target=$(( target == 20 ? 25 : 20 ))
        sed -i -E "s/(averageUtilization|utilization): *[0-9]+/\1: $target/" "$ahpa_file"
        next_edit=$((next_edit + 60))
    fi
    if ! kill -0 "$AHPA_PID" 2>/dev/null; then up=0; echo "the adapter exited"; break; fi
    rss=$(bench_rss_mib "$AHPA_PID")
    echo "$now $rss" >>"$AHPA_TMP/rss.txt"
    printf '%6d %9s %11d %s\n' "$now" "$rss" "$(stat -c %s "$AHPA_LOG")" "$event"
    sleep 10
done
wait "$wrk_pid" 2>/dev/null || true
wait "$cold_pid" 2>/dev/null || true

# --- figures --------------------------------------------------------------------
slope=$(awk -v w="$warmup_s" '$1 >= w { n++; sx += $1; sy += $2; sxx += $1 * $1; sxy += $1 * $2 }
    END { if (n < 3) { print "n/a"; exit } d = n * sxx - sx * sx;
          printf "%.4f\n", d ? (n * sxy - sx * sy) / d * 60 : 0 }' "$AHPA_TMP/rss.txt")
queries1=$(metric_or_na ahpa_prometheus_request_duration_seconds_count)
requests1=$(metric_or_na apiserver_request_total)
wrk_total=$(awk '/requests in/ { print $1 }' "$AHPA_TMP/wrk.txt")
wrk_non2xx=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' "$AHPA_TMP/wrk.txt")
echo
echo "adapter stayed up: $([ $up = 1 ] && kill -0 "$AHPA_PID" 2>/dev/null && echo yes || echo NO)"
echo "RSS slope after ${warmup_s}s warm-up: $slope MiB/min (samples in $AHPA_TMP/rss.txt while running)"
echo "log: $(stat -c %s "$AHPA_LOG") bytes, $(wc -l <"$AHPA_LOG") lines in total; $outage_log_bytes bytes during the two outages"
echo "wrk: ${wrk_total:-?} requests, non-2xx ${wrk_non2xx:-0}; $(grep -E '^Requests/sec' "$AHPA_TMP/wrk.txt")"
echo "cold client: $(tail -n 1 "$AHPA_TMP/cold.txt")"
if [[ $queries0 =~ ^[0-9.]+$ && $queries1 =~ ^[0-9.]+$ && $requests1 =~ ^[0-9.]+$ ]]; then
    echo "Prometheus queries per adapter request: $(printf '%.4f' "$(echo "($queries1 - $queries0) / ($requests1 - $requests0)" | bc -l)")"
else
    echo "Prometheus queries per adapter request: not exported ($queries1 / $requests1)"
fi

# --- burst of unique selectors, then idle ---------------------------------------------
rss_before=$(bench_rss_mib "$AHPA_PID")
rss_before_breakdown=$(rss_breakdown "$AHPA_PID")
bq0=$(metric_or_na ahpa_prometheus_request_duration_seconds_count)
br0=$(metric_or_na apiserver_request_total)
/usr/bin/python3 "$here/lib/cold_client.py" --adapter "$base" --ca "$AHPA_CA" --pod "$pod" \
    --count "$burst" --seconds "$burst_s" --connections 4 >"$AHPA_TMP/burst.txt" 2>&1 &
burst_pid=$!
ahpa_track $burst_pid
rss_peak=$rss_before
while kill -0 "$burst_pid" 2>/dev/null; do
    r=$(bench_rss_mib "$AHPA_PID")
    rss_peak=$(echo "if ($r > $rss_peak) $r else $rss_peak" | bc)
    sleep 2
done
bq1=$(metric_or_na ahpa_prometheus_request_duration_seconds_count)
br1=$(metric_or_na apiserver_request_total)
cache_at_end_of_burst=$(cache_figures)
sleep 60
rss_after=$(bench_rss_mib "$AHPA_PID")
echo "burst: $(tail -n 1 "$AHPA_TMP/burst.txt")"
echo "RSS before the burst $rss_before MiB, peak $rss_peak MiB, after 60 s idle $rss_after MiB"
if [[ $bq0 =~ ^[0-9.]+$ && $bq1 =~ ^[0-9.]+$ && $br1 =~ ^[0-9.]+$ ]]; then
    echo "burst: Prometheus queries per adapter request: $(printf '%.4f' "$(echo "($bq1 - $bq0) / ($br1 - $br0)" | bc -l)")"
fi
echo "caches at the end of the burst: $cache_at_end_of_burst"
echo "caches after 60 s idle:        $(cache_figures)"
echo "RSS before the burst: $rss_before_breakdown"
echo "RSS after 60 s idle:  $(rss_breakdown "$AHPA_PID")"
