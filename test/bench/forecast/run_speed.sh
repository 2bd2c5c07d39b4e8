#!/usr/bin/env bash
# Speed and memory of the engine beside statsmodels' ExponentialSmoothing on
# the same series (not part of ctest): fit + 24 h forecast of 10,080
# one-minute points, the one-sample update, the model's memory.
#
#   test/bench/forecast/run_speed.sh [BUILD_DIR] [statsmodels repeats]
#
# BUILD_DIR (default build) must hold the built libraries of lib/base,
# lib/series and lib/forecast.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
build=${1:-$root/build}
reps=${2:-1}
data=${AHPA_TEST_DATA:-$root/../shared/data}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cc -O2 -std=c11 -D_GNU_SOURCE -I "$root/lib/include" "$here/bench_forecast.c" \
    "$build/lib/forecast/libahpa_forecast.a" "$build/lib/series/libahpa_series.a" \
    "$build/lib/base/libahpa_base.a" -lfftw3_threads -lfftw3 -lpthread -lm -o "$tmp/bench_forecast"

for f in crane/input0.csv crane/input9.csv crane/input3.csv; do
    eng=$("$tmp/bench_forecast" "$data/$f" 51)
    sm=$(/usr/bin/python3 "$here/statsmodels_hw.py" "$data/$f" "$reps")
    /usr/bin/python3 - "$f" "$eng" "$sm" <<'PY'
import json, sys
e, s = json.loads(sys.argv[2]), json.loads(sys.argv[3])
fit_ms = e["fit_forecast24h_us_median"] / 1000
sm_ms = s["statsmodels_fit_forecast24h_s_median"] * 1000
print("%-18s engine fit+24h %.2f ms | statsmodels %.0f ms | ratio %.0fx | update %.3f us"
      " (max %.2f) | predict(3) %.3f us | state %d bytes | %s period %d" %
      (sys.argv[1], fit_ms, sm_ms, sm_ms / fit_ms, e["update_us_mean"], e["update_us_max"],
       e["predict3_us"], e["state_bytes"], e["method"], e["period_steps"]))
PY
done
