# Sourced by integration tests and the demo: a real Prometheus (Debian's
# package) on a free loopback port, backfilled with promtool.
#
#   . test/lib/prometheus.sh
#   port=$(ahpa_free_port)
#   /usr/bin/python3 test/lib/gen_gpu_openmetrics.py --days 1 --pods 3 --output "$tmp/gpu.om"
#   ahpa_prom_backfill "$tmp/gpu.om" "$tmp/tsdb"
#   ahpa_prom_start "$tmp/tsdb" "$port"       # sets AHPA_PROM_PID, AHPA_PROM_URL
#   trap ahpa_prom_stop EXIT
#
# or, the integration tests' usual fixture (2 days x 4 pods, ending now):
#   ahpa_prom_start_gpu "$tmp"               # generation + backfill + start
#
# Facts (Prometheus/promtool 2.42, 2-core machine):
# - Backfill before start: blocks added while Prometheus runs appear only
#   after about a minute. Timestamps are integer seconds; the last line is
#   "# EOF".
# - Backfill time, measured with `time ahpa_prom_backfill` on the output of
#   gen_gpu_openmetrics.py: 1 day x 3 pods (24 k lines, 5 MB) 0.4-0.7 s;
#   14 days x 4 pods (0.44 M lines, 97 MB) 20 s (26 s with the other core
#   busy), giving 1.2 MB of blocks; Prometheus then starts in 0.3 s and
#   answers a 14-day query_range at 1 h steps at once.
# - Instant queries see nothing 5 minutes after the last sample: generate
#   data ending "now" (the generator's default).
# - Retention counts from the newest block; 30 d keeps a 14-day fixture.
# - Ready in ~0.2 s; we poll /-/ready at most 100 x 0.1 s.
#
# Only one Prometheus per sourcing shell; ahpa_prom_stop kills it by PID.
# The stop functions return 0 and are safe under `set -e` (a script's
# EXIT trap included): `wait` on a child killed by SIGTERM returns 143,
# which would otherwise end the script there and skip the rest of its
# cleanup.
# Also here: a static exporter stand-in (ahpa_exporter_*), the GPU trace's
# live continuation (ahpa_gpu_exporter_*) and a fault-injecting
# proxy in front of Prometheus (ahpa_chaos_*: slow, 500, error JSON,
# garbage, huge body, dropped connection) for failure tests.
#
# Path prefix: set AHPA_PROM_ROUTE_PREFIX (e.g. an ARMS-shaped
# /api/v1/prometheus/<ids>/cn-shanghai) and the API moves under it;
# AHPA_PROM_URL then ends in the prefix.
#
# TLS: set AHPA_PROM_WEB_CONFIG to a Prometheus web config file
# (tls_server_config, ...) before ahpa_prom_start; AHPA_PROM_URL is then
# https://, and AHPA_PROM_READY_CURL_ARGS (e.g. "--cacert ca.pem --cert
# c.pem --key c.key") lets the readiness poll through.

AHPA_PROMETHEUS_BIN=${AHPA_PROMETHEUS_BIN:-prometheus}
AHPA_PROMTOOL_BIN=${AHPA_PROMTOOL_BIN:-promtool}
AHPA_PROM_PID=""
AHPA_PROM_PORT=""
AHPA_PROM_URL=""
AHPA_PROM_LOG=""
AHPA_EXPORTER_PID=""
AHPA_CHAOS_PID=""
AHPA_CHAOS_URL=""
AHPA_GPU_EXPORTER_PID=""

# gen_gpu_openmetrics.py keeps the parsed trace in AHPA_TEST_CACHE_DIR
# (reading it from the tarball is most of a generation's time); under CTest
# that is the build tree's test-cache, filled by the first test to need it.
if [ -z "${AHPA_TEST_CACHE_DIR:-}" ] && [ -n "${AHPA_BUILD_DIR:-}" ]; then
    export AHPA_TEST_CACHE_DIR="$AHPA_BUILD_DIR/test-cache"
fi

# ahpa_free_port: a TCP port on 127.0.0.1 that the kernel just handed out.
ahpa_free_port() {
    /usr/bin/python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

# ahpa_prom_backfill OM_FILE DATA_DIR: OpenMetrics text -> TSDB blocks.
ahpa_prom_backfill() {
    local om=$1 dir=$2
    mkdir -p "$dir" || return 1
    if ! "$AHPA_PROMTOOL_BIN" tsdb create-blocks-from openmetrics --max-block-duration=24h \
            "$om" "$dir" >"${dir%/}.backfill.log" 2>&1; then
        echo "promtool backfill of $om failed:" >&2
        tail -n 20 "${dir%/}.backfill.log" >&2
        return 1
    fi
}

# ahpa_gpu_openmetrics OUT [GENERATOR ARGS...]: the GPU trace as
# OpenMetrics ending now (gen_gpu_openmetrics.py; its defaults: 1 day, 4
# pods of bert-intent-detection), written to OUT.
ahpa_gpu_openmetrics() {
    local out=$1 here
    shift
    here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
    /usr/bin/python3 "$here/gen_gpu_openmetrics.py" --output "$out" "$@"
}

# ahpa_prom_start_backfilled DIR OM_FILE...: each file backfilled into
# DIR/tsdb (then removed: they are large), Prometheus started on a free
# port, as ahpa_prom_start (same variables set). Fails with a message.
ahpa_prom_start_backfilled() {
    local dir=${1%/} om
    shift
    for om in "$@"; do
        ahpa_prom_backfill "$om" "$dir/tsdb" || return 1
        rm -f "$om"
    done
    ahpa_prom_start "$dir/tsdb" "$(ahpa_free_port)"
}

# ahpa_prom_start_gpu DIR [GENERATOR ARGS...]: the integration tests'
# usual Prometheus: the GPU trace of bert-intent-detection (default 2 days
# x 4 pods: the controller's season detection wants two daily periods)
# backfilled and served, as ahpa_prom_start_backfilled.
ahpa_prom_start_gpu() {
    local dir=${1%/}
    shift
    [ $# -gt 0 ] || set -- --days 2 --pods 4
    mkdir -p "$dir" || return 1
    ahpa_gpu_openmetrics "$dir/gpu.om" "$@" && ahpa_prom_start_backfilled "$dir" "$dir/gpu.om"
}

# ahpa_prom_prepare_gpu DIR [GENERATOR ARGS...]: ahpa_prom_start_gpu's
# data (generation and backfill) made in the background, for a test that
# needs Prometheus only later; ahpa_prom_start_prepared DIR waits for it
# (its status) and starts Prometheus. Sets AHPA_PROM_PREPARE_PID.
ahpa_prom_prepare_gpu() {
    local dir=${1%/}
    shift
    [ $# -gt 0 ] || set -- --days 2 --pods 4
    mkdir -p "$dir" || return 1
    ( ahpa_gpu_openmetrics "$dir/gpu.om" "$@" && ahpa_prom_backfill "$dir/gpu.om" "$dir/tsdb" &&
          rm -f "$dir/gpu.om" ) &
    AHPA_PROM_PREPARE_PID=$!
    ! declare -F ahpa_track >/dev/null || ahpa_track "$AHPA_PROM_PREPARE_PID"
}
ahpa_prom_start_prepared() {
    local dir=${1%/}
    wait "$AHPA_PROM_PREPARE_PID" || return 1
    ahpa_prom_start "$dir/tsdb" "$(ahpa_free_port)"
}

# _ahpa_http_ok URL: true when URL answers 2xx within a second.
_ahpa_http_ok() {
    if command -v curl >/dev/null 2>&1; then
        # shellcheck disable=SC2086 # word splitting of the extra args is wanted
        curl -fsS -m 1 -o /dev/null ${AHPA_PROM_READY_CURL_ARGS:-} "$1" 2>/dev/null
    else
        /usr/bin/python3 -c 'import sys, urllib.request
urllib.request.urlopen(sys.argv[1], timeout=1).read()' "$1" >/dev/null 2>&1
    fi
}

# ahpa_prom_start DATA_DIR PORT [SCRAPE_TARGETS]
# Writes DATA_DIR.prometheus.yml (scraping SCRAPE_TARGETS, host:port[,...],
# every $AHPA_PROM_SCRAPE_INTERVAL, default 15s, when given; with
# AHPA_PROM_DROP_TARGET_LABELS=1 the scraped series lose job and instance,
# so they continue backfilled series of the same labels), starts Prometheus in the background and waits until ready.
# Sets AHPA_PROM_PID, AHPA_PROM_PORT, AHPA_PROM_URL, AHPA_PROM_LOG.
ahpa_prom_start() {
    local dir=${1%/} port=$2 target=${3:-}
    local cfg="$dir.prometheus.yml"
    mkdir -p "$dir" || return 1
    {
        echo "global:"
        echo "  scrape_interval: ${AHPA_PROM_SCRAPE_INTERVAL:-15s}"
        echo "  evaluation_interval: 15s"
        if [ -n "$target" ]; then
            echo "scrape_configs:"
            echo "  - job_name: exporter"
            echo "    static_configs:"
            echo "      - targets: ['${target//,/\', \'}']"
            if [ -n "${AHPA_PROM_DROP_TARGET_LABELS:-}" ]; then
                echo "    metric_relabel_configs:"
                echo "      - action: labeldrop"
                echo "        regex: job|instance"
            fi
        else
            echo "scrape_configs: []"
        fi
    } >"$cfg"
    AHPA_PROM_LOG="$dir.prometheus.log"
    AHPA_PROM_PORT=$port
    AHPA_PROM_URL="http://127.0.0.1:$port"
    local web=()
    if [ -n "${AHPA_PROM_WEB_CONFIG:-}" ]; then
        web=(--web.config.file="$AHPA_PROM_WEB_CONFIG")
        AHPA_PROM_URL="https://127.0.0.1:$port"
    fi
    if [ -n "${AHPA_PROM_ROUTE_PREFIX:-}" ]; then
        AHPA_PROM_URL="$AHPA_PROM_URL${AHPA_PROM_ROUTE_PREFIX%/}"
        web+=(--web.route-prefix="$AHPA_PROM_ROUTE_PREFIX" --web.external-url="$AHPA_PROM_URL")
    fi
    "$AHPA_PROMETHEUS_BIN" --config.file="$cfg" --storage.tsdb.path="$dir" \
        --web.listen-address="127.0.0.1:$port" --storage.tsdb.retention.time=30d \
        --web.enable-lifecycle "${web[@]}" >"$AHPA_PROM_LOG" 2>&1 &
    AHPA_PROM_PID=$!
    local i
    for i in $(seq 1 100); do
        if ! kill -0 "$AHPA_PROM_PID" 2>/dev/null; then
            echo "prometheus exited during start-up:" >&2
            tail -n 20 "$AHPA_PROM_LOG" >&2
            AHPA_PROM_PID=""
            return 1
        fi
        _ahpa_http_ok "$AHPA_PROM_URL/-/ready" && return 0
        sleep 0.1
    done
    echo "prometheus not ready on $AHPA_PROM_URL after 10 s:" >&2
    tail -n 20 "$AHPA_PROM_LOG" >&2
    ahpa_prom_stop
    return 1
}

# ahpa_prom_stop: SIGTERM by PID, up to 5 s to exit, then SIGKILL.
ahpa_prom_stop() {
    [ -n "$AHPA_PROM_PID" ] || return 0
    local pid=$AHPA_PROM_PID i
    AHPA_PROM_PID=""
    kill "$pid" 2>/dev/null || true
    for i in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    return 0
}

# ahpa_exporter_start DIR PORT: a live exporter stand-in. Serves DIR over
# HTTP on 127.0.0.1:PORT, so DIR/metrics (Prometheus text format, no
# timestamps) is scraped at /metrics; rewrite the file to change values.
# Sets AHPA_EXPORTER_PID.
ahpa_exporter_start() {
    local dir=$1 port=$2 i
    /usr/bin/python3 -m http.server "$port" --bind 127.0.0.1 --directory "$dir" \
        >"${dir%/}.exporter.log" 2>&1 &
    AHPA_EXPORTER_PID=$!
    for i in $(seq 1 100); do
        _ahpa_http_ok "http://127.0.0.1:$port/metrics" && return 0
        kill -0 "$AHPA_EXPORTER_PID" 2>/dev/null || break
        sleep 0.1
    done
    echo "exporter on 127.0.0.1:$port did not come up" >&2
    ahpa_exporter_stop
    return 1
}

# ahpa_exporter_stop: stops the exporter by PID.
ahpa_exporter_stop() {
    [ -n "$AHPA_EXPORTER_PID" ] || return 0
    kill "$AHPA_EXPORTER_PID" 2>/dev/null || true
    wait "$AHPA_EXPORTER_PID" 2>/dev/null || true
    AHPA_EXPORTER_PID=""
    return 0
}

# ahpa_chaos_start UPSTREAM_URL PORT: the fault-injecting proxy of
# prom_chaos_proxy.py in front of UPSTREAM_URL (e.g. $AHPA_PROM_URL).
# Sets AHPA_CHAOS_PID and AHPA_CHAOS_URL (point the adapter there).
ahpa_chaos_start() {
    local upstream=$1 port=$2 i here
    here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
    /usr/bin/python3 "$here/prom_chaos_proxy.py" --listen-port "$port" --upstream "$upstream" \
        >/dev/null 2>&1 &
    AHPA_CHAOS_PID=$!
    AHPA_CHAOS_URL="http://127.0.0.1:$port"
    for i in $(seq 1 100); do
        _ahpa_http_ok "$AHPA_CHAOS_URL/-/chaos" && return 0
        kill -0 "$AHPA_CHAOS_PID" 2>/dev/null || break
        sleep 0.1
    done
    echo "chaos proxy on 127.0.0.1:$port did not come up" >&2
    ahpa_chaos_stop
    return 1
}

# ahpa_chaos_mode MODE [KEY=VALUE...]: pass | slow seconds=S | status code=N |
# prom_error | garbage | huge bytes=N | close.
ahpa_chaos_mode() {
    local form="mode=$1" kv
    shift
    for kv in "$@"; do form="$form&$kv"; done
    curl -fsS -m 2 -o /dev/null -X POST --data "$form" "$AHPA_CHAOS_URL/-/chaos"
}

# ahpa_chaos_last: JSON of the last proxied request (method, path, headers, body).
ahpa_chaos_last() {
    curl -fsS -m 2 "$AHPA_CHAOS_URL/-/chaos/last"
}

# ahpa_chaos_stop: stops the proxy by PID.
ahpa_chaos_stop() {
    [ -n "$AHPA_CHAOS_PID" ] || return 0
    kill "$AHPA_CHAOS_PID" 2>/dev/null || true
    wait "$AHPA_CHAOS_PID" 2>/dev/null || true
    AHPA_CHAOS_PID=""
    return 0
}

# ahpa_gpu_exporter_start END PORT [GENERATOR ARGS...]: the live
# continuation of a backfill made by gen_gpu_openmetrics.py with --end END
# and the same generator arguments (--pods, --deployment, ...), served on
# 127.0.0.1:PORT/metrics. Scrape it with AHPA_PROM_DROP_TARGET_LABELS=1.
# Sets AHPA_GPU_EXPORTER_PID.
ahpa_gpu_exporter_start() {
    local end=$1 port=$2 here i
    shift 2
    here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
    /usr/bin/python3 "$here/gen_gpu_openmetrics.py" --end "$end" --serve "$port" "$@" \
        >/dev/null 2>&1 &
    AHPA_GPU_EXPORTER_PID=$!
    for i in $(seq 1 100); do
        _ahpa_http_ok "http://127.0.0.1:$port/metrics" && return 0
        kill -0 "$AHPA_GPU_EXPORTER_PID" 2>/dev/null || break
        sleep 0.1
    done
    echo "GPU exporter on 127.0.0.1:$port did not come up" >&2
    ahpa_gpu_exporter_stop
    return 1
}

# ahpa_gpu_exporter_stop: stops it by PID.
ahpa_gpu_exporter_stop() {
    [ -n "${AHPA_GPU_EXPORTER_PID:-}" ] || return 0
    kill "$AHPA_GPU_EXPORTER_PID" 2>/dev/null || true
    wait "$AHPA_GPU_EXPORTER_PID" 2>/dev/null || true
    AHPA_GPU_EXPORTER_PID=""
    return 0
}
