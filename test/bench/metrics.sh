#!/usr/bin/env bash
# Benchmark (issue 3): custom metrics through the adapter against a real
# Prometheus (Debian's package) backfilled with the GPU trace fixture.
#
#  (a) Cold cache: N custom-metric requests through the adapter, each with a
#      different metricLabelSelector (gpu!=xI) so that every one misses the
#      value cache, interleaved with the same PromQL sent straight to
#      Prometheus; median and p99 of both and their ratio (target <= 1.1x).
#      Keep-alive on both sides (python3 http.client; TLS for the adapter,
#      plain HTTP for Prometheus), so TLS handshakes are not measured; then
#      the same with one curl process per request (a new TLS handshake per
#      adapter request), as the issue words it.
#  (b) Warm cache: wrk over TLS keep-alive against one custom-metric path,
#      side by side with nginx serving the same bytes from a file with the
#      same certificate (the approach of discovery.sh); target >= 0.8x.
#
#   test/bench/metrics.sh [N] [WRK_SECONDS] [CONNECTIONS...]   (200; 10; 16 128)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
. "$root/test/lib/deps.sh"
ahpa_ensure_packages $AHPA_BUILD_PACKAGES $AHPA_RUN_PACKAGES wrk nginx bc
. "$root/test/lib/common.sh"
. "$here/lib/bench.sh"

n=${1:-200}
duration=${2:-10}
shift 2 || shift $# || true
conns=${*:-16 128}
threads=2

bench_build "$root"
AHPA_TMP=$(mktemp -d)
trap 'ahpa_prom_stop; ahpa_cleanup' EXIT

# --- data: 1 day x 3 pods of the real GPU trace, ending now ----------------
/usr/bin/python3 "$root/test/lib/gen_gpu_openmetrics.py" --days 1 --pods 3 --output "$AHPA_TMP/gpu.om"
ahpa_prom_backfill "$AHPA_TMP/gpu.om" "$AHPA_TMP/tsdb"
ahpa_prom_start "$AHPA_TMP/tsdb" "$(ahpa_free_port)"
pod=$(curl -sf "$AHPA_PROM_URL/api/v1/query" --data-urlencode 'query=DCGM_FI_DEV_GPU_UTIL' |
      jq -r '[.data.result[].metric.pod] | sort | .[0]')
[ -n "$pod" ] && [ "$pod" != null ] || { echo "no GPU series in Prometheus" >&2; exit 1; }

ahpa_start_adapter "$AHPA_TMP" --threads=$threads --prometheus-url="$AHPA_PROM_URL"
ahpa_wait_for 20 sh -c "curl -sf --cacert '$AHPA_CA' https://127.0.0.1:$AHPA_PORT/apis/custom.metrics.k8s.io/v1beta2 | grep -q pods/gpu_utilization" ||
    { echo "gpu_utilization never listed; log:" >&2; tail -n 20 "$AHPA_LOG" >&2; exit 1; }
mpath=/apis/custom.metrics.k8s.io/v1beta2/namespaces/default/pods/$pod/gpu_utilization
echo "pod $pod; adapter pid $AHPA_PID, Prometheus pid $AHPA_PROM_PID"
echo

# --- (a) cold cache -----------------------------------------------------------
field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p"; }
misses0=$(bench_metric ahpa_metrics_cache_misses_total || true)
pq0=$(bench_metric ahpa_prometheus_request_duration_seconds_count || true)
psum0=$(bench_metric ahpa_prometheus_request_duration_seconds_sum || true)
/usr/bin/python3 "$here/lib/timed_get.py" cold --adapter "https://127.0.0.1:$AHPA_PORT" \
    --ca "$AHPA_CA" --prom "$AHPA_PROM_URL" --pod "$pod" -n "$n" >"$AHPA_TMP/cold.txt"
misses1=$(bench_metric ahpa_metrics_cache_misses_total || true)
pq1=$(bench_metric ahpa_prometheus_request_duration_seconds_count || true)
psum1=$(bench_metric ahpa_prometheus_request_duration_seconds_sum || true)
echo "(a) cold cache, $n requests each, interleaved, keep-alive (python3 http.client)"
printf '%-11s %10s %10s %10s %10s\n' side "median ms" "p90 ms" "p99 ms" "max ms"
while read -r side rest; do
    printf '%-11s %10s %10s %10s %10s\n' "$side" "$(field median_ms <<<"$rest")" \
        "$(field p90_ms <<<"$rest")" "$(field p99_ms <<<"$rest")" "$(field max_ms <<<"$rest")"
done <"$AHPA_TMP/cold.txt"
am=$(grep ^adapter "$AHPA_TMP/cold.txt" | field median_ms); ap=$(grep ^adapter "$AHPA_TMP/cold.txt" | field p99_ms)
pm=$(grep ^prometheus "$AHPA_TMP/cold.txt" | field median_ms); pp=$(grep ^prometheus "$AHPA_TMP/cold.txt" | field p99_ms)
echo "ratio adapter/prometheus: median $(bench_ratio "$am" "$pm"), p99 $(bench_ratio "$ap" "$pp")  (target <= 1.1);" \
     "the adapter adds $(printf '%.3f' "$(echo "$am - $pm" | bc -l)") ms at the median"
pq=$(bench_delta "$pq1" "$pq0"); psum=$(bench_delta "$psum1" "$psum0")
if [[ $pq =~ ^[0-9.]+$ && $psum =~ ^[0-9.]+$ && $pq != 0 ]]; then
    per="$(bench_ratio "$pq" "$n") per request), mean $(printf '%.3f' "$(echo "$psum * 1000 / $pq" | bc -l)") ms each as the adapter's client timed them"
else
    per="request duration: $psum)"
fi
echo "cache misses during the run: $(bench_delta "$misses1" "$misses0") (want $n);" \
    "Prometheus calls by the adapter: $pq ($per"
echo

# The same with one curl process per request (new TLS handshake each time
# for the adapter, new TCP connection for Prometheus).
ncurl=$(( n < 100 ? n : 100 ))
: >"$AHPA_TMP/curl.a"; : >"$AHPA_TMP/curl.p"
for i in $(seq 1 "$ncurl"); do
    curl -sf -o /dev/null -w '%{time_total}\n' --cacert "$AHPA_CA" \
        "https://127.0.0.1:$AHPA_PORT$mpath?metricLabelSelector=gpu%21%3Dc$i" >>"$AHPA_TMP/curl.a"
    curl -sf -o /dev/null -w '%{time_total}\n' "$AHPA_PROM_URL/api/v1/query" --data-urlencode \
        "query=avg(DCGM_FI_DEV_GPU_UTIL{gpu!=\"c$i\",namespace=\"default\",pod=\"$pod\"}) by (pod)" >>"$AHPA_TMP/curl.p"
done
stats() { sort -g | awk '{ v[NR] = $1 * 1000 } END { m = v[int((NR + 1) / 2)]; p = v[int(NR * 0.99 + 0.5) < 1 ? 1 : int(NR * 0.99 + 0.5)];
                          printf "%.3f %.3f\n", m, p }'; }
read -r cam cap < <(stats <"$AHPA_TMP/curl.a")
read -r cpm cpp < <(stats <"$AHPA_TMP/curl.p")
echo "(a') cold cache, $ncurl requests each, one curl per request (adapter: TLS handshake included)"
printf '%-11s %10s %10s\n' side "median ms" "p99 ms"
printf '%-11s %10s %10s\n' adapter "$cam" "$cap" prometheus "$cpm" "$cpp"
echo "ratio adapter/prometheus: median $(bench_ratio "$cam" "$cpm"), p99 $(bench_ratio "$cap" "$cpp")"
echo

# --- (b) warm cache vs nginx ----------------------------------------------------
curl -sf --cacert "$AHPA_CA" "https://127.0.0.1:$AHPA_PORT$mpath" -o "$AHPA_TMP/doc.json"
bench_nginx_serve "$mpath" "$AHPA_TMP/doc.json"

hits0=$(bench_metric ahpa_metrics_cache_hits_total || true); misses0=$(bench_metric ahpa_metrics_cache_misses_total || true)
echo "(b) warm cache, wrk -t$threads over TLS keep-alive, ${duration}s per run, $(wc -c <"$AHPA_TMP/doc.json") byte answer"
printf '%-8s %-6s %12s %10s\n' server conns "requests/s" "p99 ms"
for c in $conns; do
    for who in adapter nginx; do
        port=$AHPA_PORT
        [ "$who" = nginx ] && port=$NGINX_PORT
        bench_wrk "$AHPA_TMP/$who.$c" -t$threads -c"$c" -d"${duration}s" "https://127.0.0.1:$port$mpath"
        printf '%-8s %-6s %12s %10s\n' "$who" "$c" "$(bench_rps <"$AHPA_TMP/$who.$c")" \
            "$(bench_p99_ms <"$AHPA_TMP/$who.$c")"
    done
    echo "ratio adapter/nginx at $c connections: $(bench_ratio "$(bench_rps <"$AHPA_TMP/adapter.$c")" "$(bench_rps <"$AHPA_TMP/nginx.$c")")  (target >= 0.8)"
done
hits1=$(bench_metric ahpa_metrics_cache_hits_total || true); misses1=$(bench_metric ahpa_metrics_cache_misses_total || true)
echo "cache during (b): $(bench_delta "$hits1" "$hits0") hits, $(bench_delta "$misses1" "$misses0") misses"
echo "adapter RSS at the end: $(bench_rss_mib "$AHPA_PID") MiB"
