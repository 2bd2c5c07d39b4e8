#!/usr/bin/env bash
# Benchmark (issue 11): what authentication and authorization cost on a
# request answered from memory, the discovery document of
# custom.metrics.k8s.io (the same request-thread path as a cached metric
# value, without needing Prometheus). Three ways in, against the test
# apiserver for the reviews (all cached after the first request):
#   anonymous   --authorization-mode=AlwaysAllow, no credentials (the baseline)
#   token       Webhook mode, a bearer token (cached TokenReview + SubjectAccessReview)
#   frontproxy  Webhook mode, the front proxy's certificate and X-Remote-User
#               (chain verification + cached SubjectAccessReview)
# For each: N requests on one keep-alive connection (curl), wall time and
# the adapter's CPU time per request (from /proc/<pid>/stat); and, when wrk
# is installed, requests/s for anonymous and token over TLS keep-alive
# (wrk cannot present a client certificate), and when nginx is installed,
# nginx serving the same bytes with the same certificate (as discovery.sh).
#
#   test/bench/auth.sh [N] [WRK_SECONDS]   (5000; 5)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
. "$root/test/lib/common.sh"
. "$root/test/lib/kubeapi.sh"
. "$here/lib/bench.sh"
n=${1:-5000}
secs=${2:-5}
bench_build "$root"
AHPA_TMP=$(mktemp -d)
trap ahpa_cleanup EXIT
T=$AHPA_TMP

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=proxy-ca \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" \
    -keyout "$T/ca.key" -out "$T/ca.crt" >/dev/null 2>&1
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=front-proxy-client \
    -keyout "$T/proxy.key" -out "$T/proxy.csr" >/dev/null 2>&1
printf 'extendedKeyUsage=clientAuth\n' >"$T/ext"
openssl x509 -req -in "$T/proxy.csr" -CA "$T/ca.crt" -CAkey "$T/ca.key" -CAcreateserial -days 1 \
    -extfile "$T/ext" -out "$T/proxy.crt" >/dev/null 2>&1
echo '{"rules": [{"nonResourceURLs": ["/apis*"]}]}' >"$T/policy.json"
ahpa_start_kubeapi "$T" --policy "$T/policy.json" --token bench-token=bench

path=/apis/custom.metrics.k8s.io/v1beta2
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)

# run NAME CURL_ARGS...: N sequential keep-alive requests.
run() {
    local name=$1
    shift
    awk -v n="$n" -v u="https://127.0.0.1:$AHPA_PORT$path" \
        'BEGIN { for (i = 0; i < n; i++) printf "url = \"%s\"\noutput = /dev/null\n", u }' >"$T/urls"
    curl -sf --cacert "$AHPA_CA" "$@" "https://127.0.0.1:$AHPA_PORT$path" -o /dev/null # warm the caches
    local c0 t0 t1 c1
    c0=$(cpu_ticks "$AHPA_PID")
    t0=$(date +%s.%N)
    curl -s --cacert "$AHPA_CA" "$@" -K "$T/urls" -w '%{http_code}\n' >"$T/codes"
    t1=$(date +%s.%N)
    c1=$(cpu_ticks "$AHPA_PID")
    printf '%-11s %6d requests (%s)  %8.1f req/s  %6.1f us CPU/request\n' "$name" "$n" \
        "$(sort "$T/codes" | uniq -c | awk '{printf "%s x%s ", $2, $1}')" \
        "$(echo "$n / ($t1 - $t0)" | bc -l)" "$(echo "($c1 - $c0) * 1000000 / $hz / $n" | bc -l)"
}
wrk_run() {
    local name=$1
    shift
    command -v wrk >/dev/null || return 0
    printf '%-11s wrk -t2 -c16 -d%ss: ' "$name" "$secs"
    wrk -t2 -c16 -d"${secs}s" "$@" "https://127.0.0.1:$AHPA_PORT$path" | awk '/Requests\/sec/ {print $2 " req/s"}'
}

ahpa_start_adapter "$T/open" --threads=2
run anonymous
wrk_run anonymous
ahpa_stop_pid "$AHPA_PID"
ahpa_start_adapter "$T/auth" --threads=2 --authorization-mode=Webhook \
    --kubeconfig="$KUBEAPI_KUBECONFIG" --authentication-skip-lookup \
    --requestheader-client-ca-file="$T/ca.crt" --requestheader-allowed-names=front-proxy-client \
    --authentication-token-webhook-cache-ttl=10m --authorization-webhook-cache-authorized-ttl=10m
run token -H "Authorization: Bearer bench-token"
run frontproxy --cert "$T/proxy.crt" --key "$T/proxy.key" -H "X-Remote-User: bench"
wrk_run token -H "Authorization: Bearer bench-token"
if command -v nginx >/dev/null && command -v wrk >/dev/null; then
    curl -sf --cacert "$AHPA_CA" -H "Authorization: Bearer bench-token" \
        "https://127.0.0.1:$AHPA_PORT$path" -o "$T/doc.json"
    ln -s "$T/auth/certs" "$T/certs"
    bench_nginx_serve "$path" "$T/doc.json"
    printf '%-11s wrk -t2 -c16 -d%ss: ' nginx "$secs"
    wrk -t2 -c16 -d"${secs}s" "https://127.0.0.1:$NGINX_PORT$path" | awk '/Requests\/sec/ {print $2 " req/s"}'
fi
echo "reviews the test apiserver answered: $(ahpa_kubeapi_admin /-/test/requests \
    --cert "$T/kubeapi-tls/admin.crt" --key "$T/kubeapi-tls/admin.key" | tr -d '\n' | head -c 400)"
