#!/usr/bin/env bash
# ahpa-backtest end to end: a synthetic daily load, JSON and the plan CSV,
# and every class of bad input with its message.
#
#   test/backtest/test_backtest.sh PATH/TO/ahpa-backtest
set -uo pipefail
bin=${1:?usage: test_backtest.sh ahpa-backtest}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

check() { # name, condition already evaluated as exit status
    if [[ $2 -eq 0 ]]; then echo "ok   $1"; else echo "FAIL $1"; fail=1; fi
}

# Five days at 60 s: 100 + 40 sin(day) + a deterministic wobble.
awk 'BEGIN { print "timestamp,value"; pi = atan2(0, -1);
             for (i = 0; i < 5 * 1440; i++)
                 printf "%d,%.4f\n", 1700006400 + 60 * i,
                        100 + 40 * sin(2 * pi * i / 1440) + 3 * sin(i * 1.7) }' > "$tmp/daily.csv"

"$bin" --input "$tmp/daily.csv" --target 20 --json --output-plan "$tmp/plan.csv" \
    > "$tmp/out.json" 2> "$tmp/err.txt"
check "runs on a daily series" $?
/usr/bin/python3 - "$tmp/out.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
e = r["methods"]["engine"]
assert r["test_steps"] == 2880 and r["lead_steps"] == 3, r
assert e["period_steps"] == 1440, e
assert 0.85 <= e["coverage"] <= 1.0, e
assert e["pinball"] < r["methods"]["snaive"]["pinball"] * 1.5, e
for k in ("snaive", "holtwinters", "maxvalue"):
    assert k in r["methods"], k
PY
check "JSON fields and engine accuracy" $?
[[ $(head -1 "$tmp/plan.csv") == "timestamp,actual,forecast_point,forecast_q,desired_reactive,desired_proactive,desired_auto" ]] \
    && [[ $(wc -l < "$tmp/plan.csv") -eq 2881 ]]
check "plan CSV header and one row per test step" $?
/usr/bin/python3 "$(dirname "$0")/check_policies.py" "$tmp/daily.csv" "$tmp/out.json" \
    "$tmp/plan.csv" 20 180
check "oracle, reactive and auto capacity match an independent simulation" $?

# A 100-minute outage (rows missing) inside the tested day: the engine's
# forecast is unknown there (not scored), the plan falls back to reactive,
# and the run completes.
awk -F, 'NR == 1 || NR - 2 < 4 * 1440 + 600 || NR - 2 >= 4 * 1440 + 700' "$tmp/daily.csv" > "$tmp/outage.csv"
"$bin" --input "$tmp/outage.csv" --target 20 --method engine --json --output-plan "$tmp/outage-plan.csv" \
    > "$tmp/outage.json" 2> "$tmp/outage.err"
check "an outage in the tested part runs through" $?
/usr/bin/python3 - "$tmp/outage-plan.csv" <<'PY'
import csv, math, sys
rows = list(csv.DictReader(open(sys.argv[1])))
out = [i for i, r in enumerate(rows) if r["actual"] == ""]
assert len(out) == 100, len(out)
# from the 15th missing sample (900 s) on, forecasts are unknown: left empty,
# never 0, and the plan made then is the reactive one
for i in out[15:]:
    r = rows[i]
    assert r["desired_proactive"] == r["desired_reactive"], r
    assert rows[i + 3]["forecast_q"] == "", rows[i + 3]
assert all(rows[i]["forecast_q"] != "" for i in range(out[0] + 3)), "unknown before the outage"
PY
check "forecasts are unknown (not 0) during the outage; the plan is the reactive one" $?

"$bin" --input "$tmp/daily.csv" --method snaive --quantile 95 > "$tmp/table.txt"
grep -q "^snaive" "$tmp/table.txt" && ! grep -q "^engine" "$tmp/table.txt"
check "table output for one method, quantile given as percent" $?

expect_error() { # name, file, pattern, [extra flags]
    local name=$1 file=$2 pattern=$3
    shift 3
    "$bin" --input "$file" "$@" > /dev/null 2> "$tmp/msg.txt"
    local rc=$?
    [[ $rc -ne 0 ]] && grep -q -- "$pattern" "$tmp/msg.txt"
    local ok=$?
    check "$name" $ok
    [[ $ok -eq 0 ]] || cat "$tmp/msg.txt"
}

printf 'ts,value\n100,1\n160,2\n140,3\n' > "$tmp/unsorted.csv"
expect_error "unsorted timestamps name the line" "$tmp/unsorted.csv" "line 4: timestamp 140 is before"
printf '100,1\n160,2\n160,3\n' > "$tmp/dup.csv"
expect_error "duplicate timestamps name the line" "$tmp/dup.csv" "line 3: timestamp 160 duplicates"
printf 'ts,value\n100,1\n160,x\n' > "$tmp/badval.csv"
expect_error "bad value names the line" "$tmp/badval.csv" "line 3: bad value"
printf 'ts,value\n100,1\n160,2\n220,3\n' > "$tmp/three.csv"
expect_error "three rows are refused" "$tmp/three.csv" "need at least"
expect_error "missing file" "$tmp/nope.csv" "No such file"
expect_error "quantile out of range" "$tmp/daily.csv" "quantile" --quantile 100
expect_error "unknown method" "$tmp/daily.csv" "unknown method" --method magic
expect_error "--input and --prometheus-url exclude each other" "$tmp/daily.csv" "exclude each other" \
    --prometheus-url http://127.0.0.1:1 --query up --start now-1h --end now
printf 'ts,value\n0,1\n60,1\n120,1\n999999999999,2\n' > "$tmp/span.csv"
expect_error "huge span is refused" "$tmp/span.csv" "exceeds the limit" --step 60

# Prometheus input: a real Prometheus (Debian's package) on loopback with
# two days of the GPU trace; the same series read back as a range query.
root=$(cd "$(dirname "$0")/../.." && pwd)
. "$root/test/lib/prometheus.sh"
/usr/bin/python3 "$root/test/lib/gen_gpu_openmetrics.py" --days 2 --pods 2 --output "$tmp/gpu.om" &&
    ahpa_prom_backfill "$tmp/gpu.om" "$tmp/tsdb" && ahpa_prom_start "$tmp/tsdb" "$(ahpa_free_port)"
check "prometheus starts" $?
trap 'ahpa_prom_stop; rm -rf "$tmp"' EXIT
"$bin" --prometheus-url "$AHPA_PROM_URL" --query 'sum(DCGM_FI_DEV_GPU_UTIL)' --start now-47h \
    --end now --step 60 --test-days 0.5 --target 20 --method engine --json > "$tmp/prom.json" 2> "$tmp/prom.err"
check "runs on a Prometheus range" $?
/usr/bin/python3 -c "
import json, sys
r = json.load(open('$tmp/prom.json'))
assert r['test_steps'] == 720, r['test_steps']
assert 'engine' in r['methods']
" 2>>"$tmp/prom.err"
check "Prometheus input: 47 h at 60 s, 12 h tested" $?
out=$("$bin" --prometheus-url "$AHPA_PROM_URL" --query 'DCGM_FI_DEV_GPU_UTIL' --start now-2h --end now 2>&1)
[[ "$out" == *"returned 2 series"* ]]
check "a query with several series is refused with a message" $?
out=$("$bin" --prometheus-url "http://127.0.0.1:1" --query 'up' --start now-2h --end now 2>&1)
[[ $? -ne 0 && "$out" == *"ahpa-backtest:"* ]]
check "Prometheus down: a clear error" $?

exit $fail
