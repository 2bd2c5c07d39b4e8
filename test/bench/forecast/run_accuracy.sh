#!/usr/bin/env bash
# Accuracy and capacity table of ahpa-backtest --method all on every trace
# of the shared data set (not part of ctest).
#
#   test/bench/forecast/run_accuracy.sh [BUILD_DIR] [extra ahpa-backtest flags]
#
# BUILD_DIR (default build) must hold cmd/ahpa-backtest/ahpa-backtest. GenTD26
# requests are summed to GPU-busy seconds per minute and the duty-cycle
# trace to the total over pods (gentd26_to_csv.py). q = 0.95 and
# --scale-up-forward 180 (which is one step on 5- and 30-minute data).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
build=${1:-$root/build}
shift || true
data=${AHPA_TEST_DATA:-$root/../shared/data}
bin=$build/cmd/ahpa-backtest/ahpa-backtest
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

/usr/bin/python3 "$here/gentd26_to_csv.py" requests "$data/gentd26/lora_request_trace.csv" \
    > "$tmp/gentd26_busy.csv"
/usr/bin/python3 "$here/gentd26_to_csv.py" duty "$data/gentd26/pod_gpu_duty_cycle_anon.tar.gz" \
    > "$tmp/gentd26_duty.csv"

traces="$tmp/gentd26_busy.csv $tmp/gentd26_duty.csv"
for f in "$data"/crane/*.csv "$data"/nab/*.csv; do
    traces="$traces $f"
done

for f in $traces; do
    name=$(basename "$f" .csv)
    "$bin" --input "$f" --quantile 0.95 --scale-up-forward 180 --method all --json "$@" \
        > "$tmp/$name.json" 2> "$tmp/$name.err" || { echo "$name: failed"; cat "$tmp/$name.err"; }
done

/usr/bin/python3 - "$tmp" <<'PY'
import glob, json, os, sys
tmp = sys.argv[1]
rows = []
for path in sorted(glob.glob(os.path.join(tmp, "*.json"))):
    with open(path) as f:
        try:
            r = json.load(f)
        except ValueError:
            continue
    rows.append((os.path.basename(path)[:-5], r))

print("Accuracy at q=0.95 (pinball/mean; coverage), lead = scale-up-forward")
print("%-36s %16s %16s %16s %16s %7s" % ("trace", "engine", "snaive", "holtwinters",
                                         "maxvalue", "gain"))
gains = []
for name, r in rows:
    m = r["methods"]
    cells, best = [], None
    for k in ("engine", "snaive", "holtwinters", "maxvalue"):
        a = m[k]
        cells.append("%.4f %.3f" % (a["pinball_scaled"], a["coverage"]))
        if k != "engine" and (best is None or a["pinball"] < best):
            best = a["pinball"]
    gain = 1 - m["engine"]["pinball"] / best if best else float("nan")
    gains.append(gain)
    print("%-36s %16s %16s %16s %16s %6.1f%%" % (name, *cells, 100 * gain))
print("mean pinball gain of engine vs best baseline: %.1f%%" % (100 * sum(gains) / len(gains)))
print()
print("Capacity (pod-hours / oracle; under-provisioned minutes)")
print("%-36s %14s %14s %14s %14s %8s" % ("trace", "reactive", "engine pro", "engine auto",
                                         "best base auto", "period"))
for name, r in rows:
    p, m = r["policies"], r["methods"]
    def c(x):
        return "%.3f %6.0f" % (x["pod_hours_vs_oracle"], x["under_provisioned_minutes"])
    bb = min((m[k]["auto"] for k in ("snaive", "holtwinters", "maxvalue")),
             key=lambda x: x["under_provisioned_minutes"])
    print("%-36s %14s %14s %14s %14s %8d" % (name, c(p["reactive"]), c(m["engine"]["proactive"]),
                                             c(m["engine"]["auto"]), c(bb),
                                             m["engine"]["period_steps"]))
PY
