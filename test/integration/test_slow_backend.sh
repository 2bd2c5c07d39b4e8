#!/usr/bin/env bash
# Request threads never wait on Prometheus: a real Prometheus behind the
# fault proxy answers every query 2 s late; while cold metric requests
# wait on it, /readyz, discovery and cached answers stay fast, the excess
# past --max-metric-queries-inflight gets a quick 503 Status, and /metrics
# shows the in-flight and dropped counts. Timing bounds are generous (a
# loaded CI machine), the run is short.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
. "$here/../lib/common.sh"
AHPA_TMP=$(mktemp -d)
cleanup() { ahpa_chaos_stop; ahpa_prom_stop; ahpa_cleanup; }
trap cleanup EXIT
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
below() { python3 -c "import sys; sys.exit(0 if float('$1') < float('$2') else 1)"; }

python3 "$root/test/lib/gen_gpu_openmetrics.py" --days 1 --pods 3 --output "$AHPA_TMP/gpu.om" ||
    { ahpa_fail "fixture generation"; ahpa_finish; }
ahpa_prom_backfill "$AHPA_TMP/gpu.om" "$AHPA_TMP/tsdb" && ahpa_prom_start "$AHPA_TMP/tsdb" "$(ahpa_free_port)" ||
    { ahpa_fail "prometheus starts"; ahpa_finish; }
ahpa_chaos_start "$AHPA_PROM_URL" "$(ahpa_free_port)" || { ahpa_fail "chaos proxy starts"; ahpa_finish; }

# Few workers and a small limit, so the test reaches both quickly.
ahpa_start_adapter "$AHPA_TMP/a" --prometheus-url="$AHPA_CHAOS_URL" --prometheus-timeout=10s \
    --metrics-relist-interval=10m --metrics-cache-ttl=10m --threads=2 \
    --metric-query-workers=4 --max-metric-queries-inflight=8 ||
    { ahpa_fail "adapter starts"; ahpa_finish; }
base="https://127.0.0.1:$AHPA_PORT"
disc=/apis/custom.metrics.k8s.io/v1beta2
ahpa_check "pods/gpu_utilization discovered" ahpa_wait_for 15 sh -c \
    "curl -sf --cacert '$AHPA_CA' $base$disc | grep -q 'pods/gpu_utilization'"
pod1=$(grep -o 'pod="[^"]*"' "$AHPA_TMP/gpu.om" | sort -u | head -1 | cut -d'"' -f2)
metric="/apis/custom.metrics.k8s.io/v1beta2/namespaces/default/pods/$pod1/gpu_utilization"
get() { # PATH -> "code seconds", body in $AHPA_TMP/out
    curl -s -o "$AHPA_TMP/out" -w '%{http_code} %{time_total}' --max-time 30 --cacert "$AHPA_CA" "$base$1"
}

# A warm entry, asked before Prometheus turns slow.
r=$(get "$metric?metricLabelSelector=gpu!%3Dwarm")
ahpa_equals "warm request answered" "${r% *}" 200

ahpa_chaos_mode slow seconds=4 || ahpa_fail "chaos proxy: slow mode"

# Eight cold requests fill the limit; they wait on Prometheus.
for i in 1 2 3 4 5 6 7 8; do
    curl -s -o /dev/null -w '%{http_code} %{time_total}' --max-time 30 --cacert "$AHPA_CA" \
        "$base$metric?metricLabelSelector=gpu!%3Dcold$i" >"$AHPA_TMP/cold$i" &
    ahpa_track $!
done
ahpa_check "eight cold requests wait on workers" ahpa_wait_for 10 sh -c \
    "curl -s --cacert '$AHPA_CA' $base/metrics | grep -q '^ahpa_current_inflight_requests{request_kind=\"backend\"} 8$'"

r=$(get "$metric?metricLabelSelector=gpu!%3Dover")
ahpa_equals "past the limit: 503" "${r% *}" 503
ahpa_check "past the limit: answered at once (${r#* }s)" below "${r#* }" 0.5
ahpa_equals "past the limit: a ServiceUnavailable Status" \
    "$(json 'd["kind"] + " " + d["reason"]' <"$AHPA_TMP/out")" "Status ServiceUnavailable"
m=$(curl -s --cacert "$AHPA_CA" "$base/metrics")
ahpa_contains "/metrics counts the drop" "$m" 'ahpa_dropped_requests_total{request_kind="backend"} 1'
ahpa_contains "/metrics shows the limit" "$m" 'ahpa_inflight_requests_limit{request_kind="backend"} 8'

worst=0
for i in 1 2 3 4 5; do
    for p in /readyz $disc /version; do
        r=$(get "$p")
        [[ "${r% *}" == 200 ]] || ahpa_fail "$p answered ${r% *} while Prometheus is slow"
        below "${r#* }" "$worst" || worst=${r#* }
    done
done
ahpa_check "readyz, discovery, version answered within 0.5 s while 8 requests wait (worst ${worst}s)" \
    below "$worst" 0.5
r=$(get "$metric?metricLabelSelector=gpu!%3Dwarm")
ahpa_equals "a cached answer is still served" "${r% *}" 200
ahpa_check "a cached answer does not wait on Prometheus (${r#* }s)" below "${r#* }" 0.5


wait_cold() { for i in 1 2 3 4 5 6 7 8; do [[ -s "$AHPA_TMP/cold$i" ]] || return 1; done; }
ahpa_check "the cold requests finish" ahpa_wait_for 30 wait_cold
ok=0
for i in 1 2 3 4 5 6 7 8; do
    r=$(cat "$AHPA_TMP/cold$i")
    [[ "${r% *}" == 200 ]] && below 1.5 "${r#* }" && ok=$((ok + 1))
done
ahpa_equals "every cold request got its value after waiting on Prometheus" "$ok" 8

# Stopping while requests wait: they get an answer, the process exits.
ahpa_chaos_mode slow seconds=5 || ahpa_fail "chaos proxy: slow mode"
curl -s -o /dev/null -w '%{http_code}' --max-time 30 --cacert "$AHPA_CA" \
    "$base$metric?metricLabelSelector=gpu!%3Dstop" >"$AHPA_TMP/stop" &
ahpa_track $!
ahpa_wait_for 10 sh -c \
    "curl -s --cacert '$AHPA_CA' $base/metrics | grep -q '^ahpa_current_inflight_requests{request_kind=\"backend\"} 1$'"
t0=$(date +%s.%N)
kill -TERM "$AHPA_PID"
# (A long cache TTL keeps the refresher from waiting on the slow
# Prometheus too; its queries are not cancelled at shutdown.)
ahpa_check "SIGTERM with a request waiting: the adapter exits" ahpa_wait_for 20 sh -c "! kill -0 $AHPA_PID"
t1=$(date +%s.%N)
ahpa_check "the waiting request was answered" ahpa_wait_for 10 test -s "$AHPA_TMP/stop"
echo "exit took $(python3 -c "print(round($t1 - $t0, 2))") s; waiting request got $(cat "$AHPA_TMP/stop")"
ahpa_finish
