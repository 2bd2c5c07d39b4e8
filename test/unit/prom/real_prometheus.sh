#!/usr/bin/env bash
# lib/prom against a real Prometheus: backfill one day of the GPU trace for
# three pods (ending now), start Prometheus on a free loopback port, run
# prom_real_check, and compare every value it printed with the OpenMetrics
# file itself (what Prometheus must answer, by its lookback rule). Also
# checks the static exporter stand-in is scraped and that the GPU trace's
# live continuation extends the backfilled series.
# Prometheus serves under an ARMS-shaped path prefix, as in the seed.
#
# Usage: real_prometheus.sh PROM_REAL_CHECK_BINARY SOURCE_DIR
# Exit 77 (skipped) when Prometheus or promtool is not installed.
set -u
check_bin=$1
src=$2
command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1 || {
    echo "prometheus/promtool not installed: skipped"
    exit 77
}
. "$src/test/lib/prometheus.sh"

tmp=$(mktemp -d /tmp/ahpa-prom-real.XXXXXX)
cleanup() {
    ahpa_prom_stop
    ahpa_exporter_stop
    ahpa_gpu_exporter_stop
    rm -rf "$tmp"
}
trap cleanup EXIT

end=$(( $(date +%s) / 60 * 60 ))
minutes=120
/usr/bin/python3 "$src/test/lib/gen_gpu_openmetrics.py" --days 1 --pods 3 --end "$end" \
    --output "$tmp/gpu.om" || exit 1
ahpa_prom_backfill "$tmp/gpu.om" "$tmp/tsdb" || exit 1
mkdir -p "$tmp/exporter"
printf '# TYPE DCGM_FI_DEV_GPU_UTIL gauge\nDCGM_FI_DEV_GPU_UTIL{namespace="live",pod="live-0",gpu="0"} 55\n' \
    >"$tmp/exporter/metrics"
exporter_port=$(ahpa_free_port)
ahpa_exporter_start "$tmp/exporter" "$exporter_port" || exit 1
# The trace's live continuation, merged into the backfilled series.
gpu_port=$(ahpa_free_port)
ahpa_gpu_exporter_start "$end" "$gpu_port" --days 1 --pods 3 || exit 1
AHPA_PROM_DROP_TARGET_LABELS=1
AHPA_PROM_SCRAPE_INTERVAL=1s
# Served under an ARMS-shaped path prefix: the API is at <prefix>/api/v1/.
AHPA_PROM_ROUTE_PREFIX=/api/v1/prometheus/da9d7dece901db4c/1581204543170/c54417d182c6/cn-shanghai
ahpa_prom_start "$tmp/tsdb" "$(ahpa_free_port)" "127.0.0.1:$exporter_port,127.0.0.1:$gpu_port" ||
    exit 1

# A busy stretch of the trace day: 16 h to 14 h before its end.
window_end=$(( end - 14 * 3600 ))
"$check_bin" "$AHPA_PROM_URL" "$window_end" "$minutes" >"$tmp/got.txt" || exit 1

# The live series shows up after the first scrape: the interval is 1 s but
# Prometheus' scrape manager applies new targets on a 5 s tick.
live=""
for _ in $(seq 1 150); do
    live=$(curl -fsS "$AHPA_PROM_URL/api/v1/query" \
        --data-urlencode 'query=DCGM_FI_DEV_GPU_UTIL{namespace="live"}' 2>/dev/null)
    [[ "$live" == *'"55"'* ]] && break
    sleep 0.1
done
[[ "$live" == *'"live-0"'*'"55"'* ]] || { echo "live exporter not scraped: $live"; exit 1; }
/usr/bin/python3 "$(dirname "$0")/check_live_continuation.py" "$AHPA_PROM_URL" "$tmp/gpu.om" \
    "$end" || exit 1

/usr/bin/python3 - "$tmp/gpu.om" "$tmp/got.txt" "$window_end" "$minutes" <<'EOF'
import math, re, sys

om_path, got_path, end, minutes = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
LOOKBACK_S = 300
line_re = re.compile(r'^(\w+)\{(.*)\} (\S+) (\d+)$')
samples = {}   # (metric, pod) -> {t: value}
labels = {}    # (metric, pod) -> label dict
with open(om_path) as f:
    for line in f:
        m = line_re.match(line)
        if not m:
            continue
        lab = dict(re.findall(r'(\w+)="([^"]*)"', m.group(2)))
        key = (m.group(1), lab.get("pod", ""))
        samples.setdefault(key, {})[int(m.group(4))] = float(m.group(3))
        labels[key] = lab

def expected(metric, pod, t):
    """Newest sample at or before t within the lookback, as Prometheus picks."""
    s = samples[(metric, pod)]
    for back in range(0, LOOKBACK_S, 60):
        if t - back in s:
            return s[t - back]
    return None

got = [l.split(" ", 1) for l in open(got_path).read().splitlines()]
errors = []
pods = sorted(p for (m, p) in samples if m == "DCGM_FI_DEV_GPU_UTIL")

# query_range: every step of every pod, and nothing else.
seen = {}
for kind, rest in got:
    if kind == "range":
        pod, t_ms, v = rest.split()
        t = int(t_ms) // 1000
        want = expected("DCGM_FI_DEV_GPU_UTIL", pod, t)
        if want is None or abs(float(v) - want) > 1e-9:
            errors.append("range %s %d: got %s want %s" % (pod, t, v, want))
        seen[(pod, t)] = True
steps = [end - minutes * 60 + 60 * i for i in range(minutes + 1)]
for pod in pods:
    for t in steps:
        if expected("DCGM_FI_DEV_GPU_UTIL", pod, t) is not None and (pod, t) not in seen:
            errors.append("range %s %d: missing" % (pod, t))
n_range = sum(1 for k, _ in got if k == "range")

# series: the three pods with their app label.
series = sorted(tuple(r.split()) for k, r in got if k == "series")
want_series = sorted((p, labels[("kube_pod_labels", p)]["label_app"]) for p in pods)
if series != want_series:
    errors.append("series: got %s want %s" % (series, want_series))

# instant sums every 15 minutes of the window.
sums = [r.split() for k, r in got if k == "sum"]
want_times = list(range(end - minutes * 60, end + 1, 900))
if [int(t) // 1000 for t, _ in sums] != want_times:
    errors.append("sum: times %s, want %s" % ([t for t, _ in sums], want_times))
for t_ms, v in sums:
    t = int(t_ms) // 1000
    want = sum(expected("DCGM_FI_DEV_GPU_UTIL", p, t) or 0.0 for p in pods)
    if abs(float(v) - want) > 1e-6:
        errors.append("sum at %d: got %s want %r" % (t, v, want))
nonzero_sums = sum(1 for _, v in sums if float(v) > 0)
nonzero_range = sum(1 for k, r in got if k == "range" and float(r.split()[2]) > 0)
if nonzero_sums < 2 or nonzero_range < 50:
    errors.append("window too idle to test anything: %d sums, %d points > 0"
                  % (nonzero_sums, nonzero_range))

# labels include what the rules rely on.
names = {r for k, r in got if k == "label"}
for need in ("__name__", "pod", "namespace", "label_app", "UUID"):
    if need not in names:
        errors.append("labels: %s missing" % need)

# the broken query's error is Prometheus' own, on one line.
errs = [r for k, r in got if k == "error"]
if len(errs) != 1 or not errs[0].startswith("prometheus: bad_data: "):
    errors.append("error: got %s" % errs)

if errors:
    print("\n".join(errors[:20]))
    sys.exit(1)
print("real prometheus: %d range points (%d > 0) over %d pods, series, %d sums, %d labels, error ok"
      % (n_range, nonzero_range, len(pods), len(sums), len(names)))
EOF
