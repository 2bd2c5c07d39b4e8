#!/usr/bin/env bash
# Benchmark: wrk over TLS keep-alive against the adapter's
# /apis/external.metrics.k8s.io/v1beta1 and, side by side in the same run,
# nginx serving the same bytes from a file over TLS with the same
# certificate, with the same connection counts. Not part of ./test.sh.
#
#   test/bench/discovery.sh [DURATION_S] [CONNECTIONS...]   (default 10 s; 16 128)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
. "$root/test/lib/deps.sh"
ahpa_ensure_packages $AHPA_BUILD_PACKAGES $AHPA_RUN_PACKAGES wrk nginx
. "$root/test/lib/common.sh"
. "$here/lib/bench.sh"

duration=${1:-10}
shift || true
conns=${*:-16 128}
# Each server at its recommended setting: the adapter's default pool
# (--threads 4; AHPA_BENCH_THREADS overrides) and nginx's
# worker_processes auto (one per core). wrk uses 2 threads.
threads=${AHPA_BENCH_THREADS:-4}

cmake -S "$root" -B "$root/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$root/build" -j2 --target ahpa-metrics-adapter >/dev/null
AHPA_ADAPTER=$root/build/cmd/ahpa-metrics-adapter/ahpa-metrics-adapter
AHPA_TMP=$(mktemp -d)
trap ahpa_cleanup EXIT

ahpa_start_adapter "$AHPA_TMP" --threads=$threads
path=/apis/external.metrics.k8s.io/v1beta1
curl -sf --cacert "$AHPA_CA" "https://127.0.0.1:$AHPA_PORT$path" -o "$AHPA_TMP/doc.json"

bench_nginx_serve "$path" "$AHPA_TMP/doc.json"

printf '%-8s %-6s %12s %10s\n' server conns "requests/s" "p99 ms"
for c in $conns; do
    for who in adapter nginx; do
        port=$AHPA_PORT
        [ "$who" = nginx ] && port=$NGINX_PORT
        bench_wrk "$AHPA_TMP/$who.$c" -t2 -c"$c" -d"${duration}s" "https://127.0.0.1:$port$path"
        printf '%-8s %-6s %12s %10s\n' "$who" "$c" "$(bench_rps <"$AHPA_TMP/$who.$c")" "$(bench_p99_ms <"$AHPA_TMP/$who.$c")"
    done
    echo "ratio adapter/nginx at $c connections: $(bench_ratio "$(bench_rps <"$AHPA_TMP/adapter.$c")" "$(bench_rps <"$AHPA_TMP/nginx.$c")")"
done
