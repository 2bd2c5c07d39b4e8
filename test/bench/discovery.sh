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

# nginx workers drop privileges: let them read the document.
chmod 755 "$AHPA_TMP"
chmod 644 "$AHPA_TMP/doc.json"
nginx_port=$(ahpa_free_port)
mkdir -p "$AHPA_TMP/nginx"
cat >"$AHPA_TMP/nginx/nginx.conf" <<CONF
worker_processes auto;
pid $AHPA_TMP/nginx/nginx.pid;
error_log $AHPA_TMP/nginx/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    keepalive_requests 1000000;
    ssl_protocols TLSv1.2 TLSv1.3;
    server {
        listen 127.0.0.1:$nginx_port ssl;
        ssl_certificate $AHPA_TMP/certs/apiserver.crt;
        ssl_certificate_key $AHPA_TMP/certs/apiserver.key;
        location = $path {
            default_type application/json;
            alias $AHPA_TMP/doc.json;
        }
    }
}
CONF
nginx -c "$AHPA_TMP/nginx/nginx.conf" -e "$AHPA_TMP/nginx/error.log"
ahpa_wait_for 5 test -s "$AHPA_TMP/nginx/nginx.pid"
ahpa_track "$(cat "$AHPA_TMP/nginx/nginx.pid")"
cmp <(curl -sf --cacert "$AHPA_CA" "https://127.0.0.1:$nginx_port$path") "$AHPA_TMP/doc.json"

# wrk's --latency table: p99 in ms.
p99_ms() {
    awk '$1 == "99%" { v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v);
         if (u == "us") v /= 1000; else if (u == "s") v *= 1000; print v }'
}
rps() { awk '/^Requests\/sec:/ { print $2 }'; }

printf '%-8s %-6s %12s %10s\n' server conns "requests/s" "p99 ms"
for c in $conns; do
    for who in adapter nginx; do
        port=$AHPA_PORT
        [ "$who" = nginx ] && port=$nginx_port
        wrk -t2 -c"$c" -d"${duration}s" --latency "https://127.0.0.1:$port$path" >"$AHPA_TMP/$who.$c" 2>&1
        printf '%-8s %-6s %12s %10s\n' "$who" "$c" "$(rps <"$AHPA_TMP/$who.$c")" "$(p99_ms <"$AHPA_TMP/$who.$c")"
    done
    a=$(rps <"$AHPA_TMP/adapter.$c"); n=$(rps <"$AHPA_TMP/nginx.$c")
    printf 'ratio adapter/nginx at %s connections: %.2f\n' "$c" "$(echo "$a / $n" | bc -l)"
done
