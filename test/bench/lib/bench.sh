# Sourced by the benchmarks in test/bench/: the build, memory and /metrics
# readers, log waits. Needs test/lib/common.sh sourced first (ahpa_track,
# ahpa_cleanup, ahpa_wait_for, ahpa_free_port, the Prometheus fixtures).

# bench_build ROOT: builds the adapter (RelWithDebInfo) in
# ${AHPA_BENCH_BUILD:-ROOT/build-bench}; sets AHPA_ADAPTER.
bench_build() {
    local root=$1 dir=${AHPA_BENCH_BUILD:-$1/build-bench}
    cmake -S "$root" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DAHPA_ONLY_MODULES= >/dev/null
    cmake --build "$dir" -j2 --target ahpa-metrics-adapter >/dev/null
    AHPA_ADAPTER=$dir/cmd/ahpa-metrics-adapter/ahpa-metrics-adapter
}

# bench_rss_mib PID: resident memory in MiB (one decimal).
bench_rss_mib() {
    awk '/^VmRSS:/ { printf "%.1f\n", $2 / 1024 }' "/proc/$1/status"
}

# bench_metric NAME [LABELS]: the adapter's /metrics value of NAME, summed
# over the samples whose label text contains LABELS (e.g. 'endpoint="query"';
# empty: all samples of NAME). Prints "not exported" when no sample matches
# (a missing metric is not a zero) and "unreachable" when /metrics does not
# answer; both return 1.
bench_metric() {
    local text
    text=$(curl -sf --cacert "$AHPA_CA" "https://127.0.0.1:$AHPA_PORT/metrics") ||
        { echo "unreachable"; return 1; }
    awk -v n="$1" -v l="${2:-}" '
        $1 == n || index($1, n "{") == 1 { if (l == "" || index($1, l) > 0) { s += $2; k++ } }
        END { if (k) printf "%.10g\n", s; else { print "not exported"; exit 1 } }' <<<"$text"
}

# bench_delta AFTER BEFORE: AFTER - BEFORE, or the first of them that is not
# a number ("not exported", "unreachable") as it is.
bench_delta() {
    local v
    for v in "$1" "$2"; do
        [[ $v =~ ^-?[0-9.]+([eE][-+]?[0-9]+)?$ ]] || { echo "$v"; return 0; }
    done
    awk -v a="$1" -v b="$2" 'BEGIN { printf "%.10g\n", a - b }'
}

# bench_log_count REGEX: how many adapter log lines match.
bench_log_count() { grep -cE "$1" "$AHPA_LOG" || true; }

# bench_wait_log REGEX COUNT SECONDS: waits until COUNT lines match.
bench_wait_log() {
    local re=$1 want=$2 limit=$3 i
    for i in $(seq 1 $((limit * 5))); do
        [ "$(bench_log_count "$re")" -ge "$want" ] && return 0
        kill -0 "$AHPA_PID" 2>/dev/null || { echo "adapter exited; log tail:" >&2; tail -n 20 "$AHPA_LOG" >&2; return 1; }
        sleep 0.2
    done
    echo "timed out after ${limit}s waiting for $want x /$re/ in the adapter log" >&2
    return 1
}

# bench_timed SECONDS_VAR COMMAND...: runs COMMAND, stores its wall time (s).
bench_timed() {
    local var=$1 t0 t1
    shift
    t0=$(date +%s.%N)
    "$@"
    t1=$(date +%s.%N)
    printf -v "$var" '%.1f' "$(echo "$t1 - $t0" | bc -l)"
}

# bench_ratio A B: A / B with two decimals.
bench_ratio() { printf '%.2f' "$(echo "$1 / $2" | bc -l)"; }

# bench_cpu_s PID: user + system CPU seconds the process has used so far.
bench_cpu_s() {
    awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%.2f\n", ($12 + $13) / hz }' "/proc/$1/stat"
}

# bench_nginx_serve PATH FILE: nginx (Debian's) on a free 127.0.0.1 port
# serving FILE at PATH over TLS with the adapter's certificate
# ($AHPA_TMP/certs), one worker per core; checks it answers the same
# bytes. Sets NGINX_PORT. Stopped by ahpa_cleanup.
bench_nginx_serve() {
    local path=$1 file=$2 dir=$AHPA_TMP/nginx
    chmod 755 "$AHPA_TMP" # nginx workers drop privileges
    chmod 644 "$file"
    NGINX_PORT=$(ahpa_free_port)
    mkdir -p "$dir"
    cat >"$dir/nginx.conf" <<CONF
worker_processes auto;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    keepalive_requests 1000000;
    ssl_protocols TLSv1.2 TLSv1.3;
    server {
        listen 127.0.0.1:$NGINX_PORT ssl;
        ssl_certificate $AHPA_TMP/certs/apiserver.crt;
        ssl_certificate_key $AHPA_TMP/certs/apiserver.key;
        location = $path {
            default_type application/json;
            alias $file;
        }
    }
}
CONF
    nginx -c "$dir/nginx.conf" -e "$dir/error.log"
    ahpa_wait_for 5 test -s "$dir/nginx.pid"
    ahpa_track "$(cat "$dir/nginx.pid")"
    cmp <(curl -sf --cacert "$AHPA_CA" "https://127.0.0.1:$NGINX_PORT$path") "$file"
}

# bench_wrk REPORT WRK_ARGS...: runs wrk with --latency, its report into
# REPORT. Fails loudly (stderr, status 1) when wrk fails, completes no
# request, or any answer was not 2xx ("Non-2xx or 3xx responses") or any
# socket error occurred: a benchmark of errors measures nothing.
bench_wrk() {
    local report=$1
    shift
    if ! wrk --latency "$@" >"$report" 2>&1; then
        echo "BENCH FAILED: wrk $* exited with an error:" >&2
        cat "$report" >&2
        return 1
    fi
    bench_wrk_check "$report"
}

# bench_wrk_check REPORT: the checks of bench_wrk on a saved wrk report.
bench_wrk_check() {
    local report=$1 done_ bad errs
    done_=$(awk '/ requests in / { print $1; exit }' "$report")
    bad=$(awk '/^ *Non-2xx or 3xx responses:/ { print $NF }' "$report")
    errs=$(sed -n 's/^ *Socket errors: *//p' "$report")
    if [ -z "$done_" ] || [ "$done_" -eq 0 ]; then
        echo "BENCH FAILED: no request completed ($report)" >&2
        return 1
    fi
    if [ -n "$bad" ] && [ "$bad" -gt 0 ]; then
        echo "BENCH FAILED: $bad of $done_ answers were not 2xx ($report)" >&2
        return 1
    fi
    if [ -n "$errs" ]; then
        echo "BENCH FAILED: socket errors: $errs ($report)" >&2
        return 1
    fi
    return 0
}

# Readers of a wrk --latency report on stdin: requests/s, p99 in ms.
bench_rps() { awk '/^Requests\/sec:/ { print $2 }'; }
bench_p99_ms() {
    awk '$1 == "99%" { v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v);
         if (u == "us") v /= 1000; else if (u == "s") v *= 1000; print v }'
}
