#!/usr/bin/env bash
# lib/prom against a real Prometheus behind the fault-injecting proxy of
# test/lib/prom_chaos_proxy.py: every failure the adapter must survive
# (slow past the timeout, 500, Prometheus' error JSON, garbage, a huge body,
# a dropped connection, Prometheus stopped) gives the expected error within
# the timeout, and the same client works again when the fault goes away.
# Also checks that the tenant header and the bearer token reach Prometheus'
# side of the proxy, for GET and POST.
#
# Usage: chaos_prometheus.sh PROM_PROBE_BINARY SOURCE_DIR
# Exit 77 (skipped) when prometheus or curl is not installed.
set -u
probe=$(realpath "$1")
src=$2
for tool in prometheus curl; do
    command -v "$tool" >/dev/null 2>&1 || { echo "$tool not installed: skipped"; exit 77; }
done
. "$src/test/lib/prometheus.sh"

tmp=$(mktemp -d /tmp/ahpa-prom-chaos.XXXXXX)
cleanup() {
    ahpa_chaos_stop
    ahpa_prom_stop
    rm -rf "$tmp"
}
trap cleanup EXIT

prom_port=$(ahpa_free_port)
ahpa_prom_start "$tmp/tsdb" "$prom_port" || exit 1
ahpa_chaos_start "$AHPA_PROM_URL" "$(ahpa_free_port)" || exit 1
printf 'chaos-token\n' >"$tmp/token"

fails=0
# expect WANT_PREFIX MAX_SECONDS PROBE_ARGS...
expect() {
    local want=$1 max_s=$2
    shift 2
    local t0 t1 got ms
    t0=$(date +%s%N)
    got=$("$probe" "$@" 2>&1)
    t1=$(date +%s%N)
    ms=$(( (t1 - t0) / 1000000 ))
    if [[ "$got" != "$want"* ]]; then
        echo "FAIL: want '$want...' got '$got'"
        fails=$((fails + 1))
    elif (( ms > max_s * 1000 )); then
        echo "FAIL: '$got' took $ms ms, more than $max_s s"
        fails=$((fails + 1))
    else
        echo "ok ($ms ms): $got"
    fi
}
q='vector(1)'
common=(--timeout-ms 800 --max-bytes 100000 --token-file "$tmp/token"
        --header X-Scope-OrgID=team-gpu)

ahpa_chaos_mode pass
expect "ok 1" 2 "$AHPA_CHAOS_URL" "${common[@]}" "$q"
last=$(ahpa_chaos_last)
for need in '"X-Scope-OrgID": "team-gpu"' '"Authorization": "Bearer chaos-token"' \
    '"method": "GET"'; do
    [[ "$last" == *"$need"* ]] || { echo "FAIL: proxy did not see $need: $last"; fails=$((fails + 1)); }
done
expect "ok 1" 2 "$AHPA_CHAOS_URL" "${common[@]}" --post "$q"
last=$(ahpa_chaos_last)
[[ "$last" == *'"method": "POST"'*'"body": "query=vector%281%29&timeout=800ms"'* ]] ||
    { echo "FAIL: POST not form-encoded: $last"; fails=$((fails + 1)); }

ahpa_chaos_mode slow seconds=3
expect "error ETIMEDOUT GET /api/v1/query: " 2 "$AHPA_CHAOS_URL" "${common[@]}" "$q"
ahpa_chaos_mode status code=500
expect "error EUPSTREAM prometheus: unexpected response (HTTP 500, text/plain)" 2 \
    "$AHPA_CHAOS_URL" "${common[@]}" "$q"
ahpa_chaos_mode prom_error
expect "error EUPSTREAM prometheus: execution: chaos: injected query failure" 2 \
    "$AHPA_CHAOS_URL" "${common[@]}" "$q"
ahpa_chaos_mode garbage
expect "error EUPSTREAM prometheus: unexpected response (HTTP 200, text/html)" 2 \
    "$AHPA_CHAOS_URL" "${common[@]}" "$q"
ahpa_chaos_mode huge bytes=5000000
expect "error ETOOBIG GET /api/v1/query: response larger than 100000 bytes" 2 \
    "$AHPA_CHAOS_URL" "${common[@]}" "$q"
ahpa_chaos_mode close
expect "error EUPSTREAM GET /api/v1/query: " 2 "$AHPA_CHAOS_URL" "${common[@]}" "$q"
ahpa_chaos_mode pass
expect "ok 1" 2 "$AHPA_CHAOS_URL" "${common[@]}" "$q"

# Prometheus stopped: refused directly, 502 through the proxy; then back.
ahpa_prom_stop
expect "error EUPSTREAM GET /api/v1/query: " 2 "http://127.0.0.1:$prom_port" "${common[@]}" "$q"
expect "error EUPSTREAM prometheus: unexpected response (HTTP 502, text/plain)" 2 \
    "$AHPA_CHAOS_URL" "${common[@]}" "$q"
ahpa_prom_start "$tmp/tsdb" "$prom_port" || exit 1
expect "ok 1" 2 "$AHPA_CHAOS_URL" "${common[@]}" "$q"

[ "$fails" -eq 0 ] || exit 1
echo "chaos prometheus: all cases passed"
