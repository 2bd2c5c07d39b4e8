#!/usr/bin/env bash
# Benchmark (issue 8, item 3): request threads never wait on Prometheus.
#
# A real Prometheus (Debian's package, the GPU trace fixture) behind the
# fault proxy (test/lib/prom_chaos_proxy.py) that delays every answer by
# DELAY seconds. COLD clients keep one cold custom-metric request each in
# flight (a metricLabelSelector nobody used before, so no cache can answer)
# while /readyz and /apis/custom.metrics.k8s.io/v1beta2 are asked in a loop
# over keep-alive TLS for SECONDS; prints their p50/p99/max latency and the
# non-2xx count of every kind (test/lib/cold_load.py). Target: p99 < 10 ms.
#
#   test/bench/slow_prometheus.sh [COLD] [SECONDS] [DELAY] [WORKERS]   (64 20 2 64)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
. "$root/test/lib/deps.sh"
ahpa_ensure_packages $AHPA_BUILD_PACKAGES $AHPA_RUN_PACKAGES bc
. "$root/test/lib/common.sh"
. "$here/lib/bench.sh"

cold=${1:-64}
duration=${2:-20}
delay=${3:-2}
workers=${4:-64}

bench_build "$root"
AHPA_TMP=$(mktemp -d)
trap 'ahpa_chaos_stop; ahpa_prom_stop; ahpa_cleanup' EXIT

/usr/bin/python3 "$root/test/lib/gen_gpu_openmetrics.py" --days 1 --pods 3 --output "$AHPA_TMP/gpu.om"
ahpa_prom_backfill "$AHPA_TMP/gpu.om" "$AHPA_TMP/tsdb"
ahpa_prom_start "$AHPA_TMP/tsdb" "$(ahpa_free_port)"
ahpa_chaos_start "$AHPA_PROM_URL" "$(ahpa_free_port)"
pod=$(grep -o 'pod="[^"]*"' "$AHPA_TMP/gpu.om" | sort -u | head -1 | cut -d'"' -f2)

ahpa_start_adapter "$AHPA_TMP/a" --prometheus-url="$AHPA_CHAOS_URL" --prometheus-timeout=30s \
    --metrics-relist-interval=10m --metric-query-workers="$workers"
ahpa_wait_for 15 sh -c "curl -sf --cacert '$AHPA_CA' https://127.0.0.1:$AHPA_PORT/apis/custom.metrics.k8s.io/v1beta2 | grep -q pods/gpu_utilization"
ahpa_chaos_mode slow seconds="$delay"

echo "adapter $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?'), $(nproc) cores," \
     "Prometheus delayed ${delay}s, $cold cold requests in flight, $workers workers, ${duration}s"
out=$(/usr/bin/python3 "$root/test/lib/cold_load.py" --url "https://127.0.0.1:$AHPA_PORT" \
    --ca "$AHPA_CA" --cold "$cold" --seconds "$duration" --warmup 2 \
    --cold-path "/apis/custom.metrics.k8s.io/v1beta2/namespaces/default/pods/$pod/gpu_utilization?metricLabelSelector=gpu!%3Dc{n}" \
    --probe /readyz --probe /apis/custom.metrics.k8s.io/v1beta2)
/usr/bin/python3 - "$out" <<'PY'
import json, sys
d = json.loads(sys.argv[1])
print("%-40s %8s %8s %8s %8s %8s" % ("path", "n", "p50 ms", "p99 ms", "max ms", "non-2xx"))
for p, s in d["probes"].items():
    print("%-40s %8d %8.2f %8.2f %8.2f %8d" % (p, s["n"], s["p50_ms"], s["p99_ms"], s["max_ms"], s["non2xx"]))
c = d["cold"]
non2xx = sum(v for k, v in c["codes"].items() if not k.startswith("2"))
print("%-40s %8d %8.0f %8s %8.0f %8d   codes %s" % ("cold metric requests", c["n"], c["p50_ms"] or 0, "-",
      c["max_ms"] or 0, non2xx, c["codes"]))
ok = all(s["p99_ms"] is not None and s["p99_ms"] < 10 and s["non2xx"] == 0 for s in d["probes"].values())
print("target p99 < 10 ms with no non-2xx: %s" % ("met" if ok else "NOT met"))
PY
echo "adapter /metrics: backend requests $(bench_metric ahpa_backend_requests_total)," \
     "dropped $(bench_metric ahpa_dropped_requests_total 'backend')," \
     "$(bench_metric ahpa_dropped_requests_total 'immediate') immediate dropped"
