#!/usr/bin/env bash
# Benchmark (issue 5): rendering one predictionsobserver page with 7 days of
# 1-minute history. A real Prometheus (Debian's package) backfilled with
# DAYS (8) days of the real GPU trace for the seed's Deployment
# (test/lib/gen_gpu_openmetrics.py, 4 pods), the seed's fib-gpu AHPA
# (manifests/examples/fib-gpu.yaml) in --ahpa-dir, --history-window=168h.
# After the first controller cycle: N (20) GETs of
#   /apis/metrics.alibabacloud.com/v1beta1/namespaces/default/predictionsobserver/fib-gpu
# over one keep-alive TLS connection (python3 http.client); time per request
# (median, p90, max), size of the JSON answer and of the decoded .content
# (target under 200 KB). The page is kept in the temporary directory only
# when KEEP=DIR is given (copied to DIR/observer.html).
#
#   test/bench/observer.sh [N] [DAYS]       (20 8)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
. "$root/test/lib/deps.sh"
ahpa_ensure_packages $AHPA_BUILD_PACKAGES $AHPA_RUN_PACKAGES bc
. "$root/test/lib/common.sh"
. "$here/lib/bench.sh"

n=${1:-20}
days=${2:-8}

bench_build "$root"
AHPA_TMP=$(mktemp -d)
trap 'ahpa_prom_stop; ahpa_cleanup' EXIT

bench_timed t_gen /usr/bin/python3 "$root/test/lib/gen_gpu_openmetrics.py" --days "$days" --pods 4 \
    --output "$AHPA_TMP/gpu.om"
lines=$(wc -l <"$AHPA_TMP/gpu.om")
bench_timed t_fill ahpa_prom_backfill "$AHPA_TMP/gpu.om" "$AHPA_TMP/tsdb"
rm -f "$AHPA_TMP/gpu.om"
echo "data: $days days x 4 pods of the GPU trace, $lines lines; generated in ${t_gen}s, backfilled in ${t_fill}s"
ahpa_prom_start "$AHPA_TMP/tsdb" "$(ahpa_free_port)"
mkdir -p "$AHPA_TMP/ahpa"
cp "$root/manifests/examples/fib-gpu.yaml" "$AHPA_TMP/ahpa/"

ahpa_start_adapter "$AHPA_TMP/a" --prometheus-url="$AHPA_PROM_URL" --ahpa-dir="$AHPA_TMP/ahpa" \
    --history-window=168h --prediction-interval=60s -v=2
bench_wait_log "controller cycle: [0-9]+ AHPAs in" 1 600
echo "first controller cycle: $(grep -E 'controller cycle:' "$AHPA_LOG" | head -n 1 | sed 's/.*cycle: //')"

url="https://127.0.0.1:$AHPA_PORT/apis/metrics.alibabacloud.com/v1beta1/namespaces/default/predictionsobserver/fib-gpu"
# The first request on its own (a fresh connection), then N on one connection.
/usr/bin/python3 "$here/lib/timed_get.py" get "$url" --ca "$AHPA_CA" -n 1 --content >"$AHPA_TMP/first.txt"
/usr/bin/python3 "$here/lib/timed_get.py" get "$url" --ca "$AHPA_CA" -n "$n" --content \
    --save "$AHPA_TMP/observer.html" >"$AHPA_TMP/run.txt"
field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p"; }
echo
printf '%-28s %10s %10s %10s %12s %14s\n' "" "median ms" "p90 ms" "max ms" "JSON bytes" "HTML bytes"
for f in first run; do
    label="first request (new conn.)"; [ "$f" = run ] && label="$n requests, keep-alive"
    r=$(cat "$AHPA_TMP/$f.txt")
    printf '%-28s %10s %10s %10s %12s %14s\n' "$label" "$(field median_ms <<<"$r")" "$(field p90_ms <<<"$r")" \
        "$(field max_ms <<<"$r")" "$(field ' bytes' <<<"$r")" "$(field content_bytes <<<"$r")"
done
html=$AHPA_TMP/observer.html
echo
echo "page: $(grep -o '<svg' "$html" | wc -l) SVG charts, $(grep -o '<path\|<polyline' "$html" | wc -l) paths/polylines;" \
     "titles: $(grep -Eo 'Predict [A-Za-z ]{1,20} Observer' "$html" | sort -u | paste -sd ',' -)"
echo "external scripts or URLs in the page: $(grep -Eo '<script[^>]*src=|https?://[^"'"'"' )]*' "$html" | grep -vc 'www.w3.org' || true)"
echo "adapter RSS: $(bench_rss_mib "$AHPA_PID") MiB"
if [ -n "${KEEP:-}" ]; then
    mkdir -p "$KEEP"
    cp "$html" "$KEEP/observer.html"
    echo "page copied to $KEEP/observer.html"
fi
