#!/usr/bin/env bash
# Log volume during a Prometheus outage under load: cold requests (each
# one a Prometheus query) from keep-alive clients for 10 s while
# Prometheus is stopped. Every request fails, and each failure is counted
# in apiserver_request_total; the log gets each cause once in full and
# then one summary per --log-repeat-interval, so it grows by kilobytes.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
. "$here/../lib/common.sh"
AHPA_TMP=$(mktemp -d)
cleanup() { ahpa_prom_stop; ahpa_cleanup; }
trap cleanup EXIT
outage_s=${AHPA_OUTAGE_SECONDS:-10}
bound=$((64 * 1024))

python3 "$root/test/lib/gen_gpu_openmetrics.py" --days 1 --pods 3 --output "$AHPA_TMP/gpu.om" ||
    { ahpa_fail "fixture generation"; ahpa_finish; }
ahpa_prom_backfill "$AHPA_TMP/gpu.om" "$AHPA_TMP/tsdb" && ahpa_prom_start "$AHPA_TMP/tsdb" "$(ahpa_free_port)" ||
    { ahpa_fail "prometheus starts"; ahpa_finish; }
ns=default
pod1=$(grep -o 'pod="[^"]*"' "$AHPA_TMP/gpu.om" | sort -u | head -1 | cut -d'"' -f2)

# -v=2 as an operator debugging an incident might run it.
ahpa_start_adapter "$AHPA_TMP/a" --prometheus-url="$AHPA_PROM_URL" --metrics-relist-interval=2s \
    --metrics-cache-ttl=2s --prometheus-timeout=1500ms -v=2 || { ahpa_fail "adapter starts"; ahpa_finish; }
url="https://127.0.0.1:$AHPA_PORT"
path="/apis/custom.metrics.k8s.io/v1beta2/namespaces/$ns/pods/$pod1/gpu_utilization"
ahpa_check "metric discovered" ahpa_wait_for 15 sh -c "curl -sf --cacert '$AHPA_CA' '$url$path' >/dev/null"
failed_requests() { # 5xx answers on the custom metrics route, from /metrics
    curl -s --cacert "$AHPA_CA" "$url/metrics" |
        awk '/^apiserver_request_total\{/ && /code="5[0-9][0-9]"/ {s += $NF} END {printf "%d\n", s}'
}

ahpa_prom_stop
f0=$(failed_requests)
b0=$(stat -c %s "$AHPA_LOG")
python3 "$here/coldload.py" "$AHPA_PORT" "$AHPA_CA" "$path" "$outage_s" 4 >"$AHPA_TMP/load.txt"
f1=$(failed_requests)
ahpa_stop_pid "$AHPA_PID" # pending counts are written at exit
b1=$(stat -c %s "$AHPA_LOG")
requests=$(awk '/^requests/ {print $2}' "$AHPA_TMP/load.txt")
ok=$(awk '$1 == "status" && $2 == "200" {print $3}' "$AHPA_TMP/load.txt")
grown=$((b1 - b0))
lines=$(tail -c "$grown" "$AHPA_LOG" | wc -l)
echo "log volume: $grown bytes, $lines lines for $requests cold requests in a ${outage_s}s" \
    "Prometheus outage (${ok:-0} answered 200, $((f1 - f0)) counted as 5xx on /metrics)"
echo "--- what the log got (first 20 lines, cut at 240 characters):"
tail -c "$grown" "$AHPA_LOG" | head -n 20 | cut -c1-240
echo "---"

ahpa_check "load ran (at least 200 requests: $requests)" test "${requests:-0}" -ge 200
ahpa_check "every request failed and was counted on /metrics ($((f1 - f0)) of $requests)" \
    test $((f1 - f0)) -ge "$((requests - ${ok:-0}))"
ahpa_check "the log grew by less than $bound bytes ($grown)" test "$grown" -lt "$bound"
ahpa_check "the failures are summed up with a count" \
    grep -aq 'prometheus query failed ×[0-9,]* in the last' "$AHPA_LOG"
ahpa_finish
