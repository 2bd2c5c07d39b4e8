#!/usr/bin/env bash
# Speed and memory of the engine beside statsmodels' ExponentialSmoothing on
# the same series (not part of ctest): fit + 24 h forecast of 10,080
# one-minute points, the one-sample update, the model's memory.
#
#   test/bench/forecast/run_speed.sh [BUILD_DIR] [statsmodels repeats]
#
# BUILD_DIR (default build) must hold the built libraries of lib/base,
# lib/series and lib/forecast.
#
# A/B mode: AHPA_SPEED_BASELINE=OTHER_BUILD_DIR (the same libraries built
# from another commit, e.g. main) links the same benchmark against both and
# runs them in turn, AHPA_SPEED_ROUNDS rounds (default 10) of 11 fits each,
# the order swapped every round, so that the machine's load falls on both
# alike; prints the median and p90 of the pooled fits of each, their ratio
# and the load average. statsmodels is skipped in this mode.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
build=${1:-$root/build}
reps=${2:-1}
data=${AHPA_TEST_DATA:-$root/../shared/data}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

link() { # build dir, output
    cc -O2 -std=c11 -D_GNU_SOURCE -I "$root/lib/include" "$here/bench_forecast.c" \
        "$1/lib/forecast/libahpa_forecast.a" "$1/lib/series/libahpa_series.a" \
        "$1/lib/base/libahpa_base.a" -lfftw3_threads -lfftw3 -lpthread -lm -o "$2"
}
link "$build" "$tmp/bench_forecast"

if [ -n "${AHPA_SPEED_BASELINE:-}" ]; then
    link "$AHPA_SPEED_BASELINE" "$tmp/bench_baseline"
    rounds=${AHPA_SPEED_ROUNDS:-10}
    echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) cores)"
    for f in crane/input0.csv crane/input9.csv crane/input3.csv; do
        : > "$tmp/a.jsonl"
        : > "$tmp/b.jsonl"
        for r in $(seq 1 "$rounds"); do
            if [ $((r % 2)) -eq 1 ]; then
                "$tmp/bench_baseline" "$data/$f" 11 >> "$tmp/a.jsonl"
                "$tmp/bench_forecast" "$data/$f" 11 >> "$tmp/b.jsonl"
            else
                "$tmp/bench_forecast" "$data/$f" 11 >> "$tmp/b.jsonl"
                "$tmp/bench_baseline" "$data/$f" 11 >> "$tmp/a.jsonl"
            fi
        done
        /usr/bin/python3 - "$f" "$tmp/a.jsonl" "$tmp/b.jsonl" <<'PY'
import json, sys
def pooled(path, key):
    v = sorted(x for line in open(path) for x in json.loads(line)[key])
    return v[len(v) // 2] / 1000, v[int(0.9 * (len(v) - 1) + 0.5)] / 1000, len(v)
for key, what in (("fit_forecast24h_us", "wall"), ("fit_forecast24h_cpu_us", "cpu")):
    a, b = pooled(sys.argv[2], key), pooled(sys.argv[3], key)
    print("%-18s %-4s fit+24h baseline median %.3f ms p90 %.3f ms | this build median %.3f ms"
          " p90 %.3f ms | ratio %.2f / %.2f (%d fits each)" % (
              sys.argv[1], what, a[0], a[1], b[0], b[1], b[0] / a[0], b[1] / a[1], b[2]))
PY
    done
    echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
    exit 0
fi

for f in crane/input0.csv crane/input9.csv crane/input3.csv; do
    eng=$("$tmp/bench_forecast" "$data/$f" 51)
    sm=$(/usr/bin/python3 "$here/statsmodels_hw.py" "$data/$f" "$reps")
    /usr/bin/python3 - "$f" "$eng" "$sm" <<'PY'
import json, sys
e, s = json.loads(sys.argv[2]), json.loads(sys.argv[3])
fit_ms = e["fit_forecast24h_us_median"] / 1000
sm_ms = s["statsmodels_fit_forecast24h_s_median"] * 1000
print("%-18s engine fit+24h %.2f ms (p90 %.2f) | statsmodels %.0f ms | ratio %.0fx | update %.3f us"
      " (max %.2f) | predict(3) %.3f us | state %d bytes | %s period %d" %
      (sys.argv[1], fit_ms, e["fit_forecast24h_us_p90"] / 1000, sm_ms, sm_ms / fit_ms,
       e["update_us_mean"], e["update_us_max"], e["predict3_us"], e["state_bytes"], e["method"],
       e["period_steps"]))
PY
done
