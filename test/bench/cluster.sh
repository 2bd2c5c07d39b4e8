#!/usr/bin/env bash
# Benchmark (issue 10): cluster mode. The test apiserver (a test double of
# kube-apiserver, test/lib/kube_apiserver.py) preloaded with the CRD, AHPAS
# Deployments, AHPAS AdvancedHorizontalPodAutoscalers (one per Deployment,
# gen_ahpas.py) and PODS pods; a real Prometheus with 2 days of synthetic
# GPU history per Deployment (gen_fleet_om.py: one pod each, whose name the
# first of the Deployment's PODS/AHPAS pods in the API has, so that the usage
# query over the selected pods finds it); the adapter with
# --kubeconfig and --prediction-interval=INTERVAL_S. Measured: the time from the
# adapter's start to every AHPA having a status written by it, the Kubernetes
# API requests of one steady cycle (by verb), status writes per cycle, and
# the adapter's RSS.
#
#   test/bench/cluster.sh [AHPAS] [PODS] [QPS] [INTERVAL_S]     (1000 10000 20 60)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
. "$root/test/lib/deps.sh"
ahpa_ensure_packages $AHPA_BUILD_PACKAGES $AHPA_RUN_PACKAGES bc
. "$root/test/lib/common.sh"
. "$root/test/lib/kubeapi.sh"
. "$here/lib/bench.sh"

n=${1:-1000}
pods=${2:-10000}
qps=${3:-20}
interval=${4:-60}

bench_build "$root"
AHPA_TMP=$(mktemp -d)
trap 'ahpa_prom_stop; ahpa_cleanup' EXIT
T=$AHPA_TMP

fill() {
    /usr/bin/python3 "$here/lib/gen_fleet_om.py" --deployments "$n" --pods 1 --gpus 1 \
        --minutes 2880 --meta-minutes 60 --output "$T/fleet.om" && ahpa_prom_backfill "$T/fleet.om" "$T/tsdb"
}
bench_timed t_fill fill
rm -f "$T/fleet.om"
ahpa_prom_start "$T/tsdb" "$(ahpa_free_port)"
/usr/bin/python3 "$here/lib/gen_ahpas.py" "$T/ahpa" -n "$n" --per-file 100
/usr/bin/python3 - "$T/objects.yaml" "$n" "$pods" "$here/lib" <<'PY'
import sys
out, n, pods = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
sys.path.insert(0, sys.argv[4])
import gen_fleet_om
# The first pod of each Deployment has the name its GPU series have in
# Prometheus (gen_fleet_om.py, one pod each); the others have no series.
fleet = gen_fleet_om.fleet(gen_fleet_om.parse(["--deployments", str(n), "--pods", "1"]))
with open(out, "w") as f:
    for i in range(n):
        name = "wl-%04d" % i
        f.write("---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: %s, namespace: default}\n"
                "spec: {replicas: 1, selector: {matchLabels: {app: %s}}, template: {metadata: "
                "{labels: {app: %s}}, spec: {containers: [{name: c, image: x}]}}}\n" % (name, name, name))
    for p in range(pods):
        app = "wl-%04d" % (p % n)
        name = fleet[p][1][0][0] if p < n else "%s-%05d" % (app, p)
        f.write("---\napiVersion: v1\nkind: Pod\nmetadata: {name: %s, namespace: default, labels: "
                "{app: %s}}\nspec: {containers: [{name: c, image: x}]}\n" % (name, app))
PY
AHPA_KUBEAPI_START_TIMEOUT=600 bench_timed t_api ahpa_start_kubeapi "$T" --preload "$root/manifests/crd/advancedhorizontalpodautoscalers.yaml" \
    --preload "$T/objects.yaml" $(for f in "$T"/ahpa/*.yaml; do echo --preload "$f"; done)
admin() { curl -sf --cacert "$KUBEAPI_CA" --cert "$T/kubeapi-tls/admin.crt" --key "$T/kubeapi-tls/admin.key" "$@"; }
echo "test apiserver with $n AHPAs, $n Deployments, $pods pods: started in ${t_api}s; Prometheus data in ${t_fill}s"

# Every AHPA whose status the adapter wrote (it always writes the conditions).
with_status() {
    admin "$KUBEAPI_URL/apis/autoscaling.alibabacloud.com/v1beta1/advancedhorizontalpodautoscalers" |
        /usr/bin/python3 -c 'import json, sys
items = json.load(sys.stdin)["items"]
print(sum(1 for i in items if i.get("status", {}).get("conditions")),
      sum(1 for i in items if "desiredReplicas" in i.get("status", {})))'
}
requests() { admin "$KUBEAPI_URL/-/test/requests"; }

t0=$(date +%s%3N)
ahpa_start_adapter "$T/a" --prometheus-url="$AHPA_PROM_URL" --kubeconfig="$KUBEAPI_KUBECONFIG" \
    --kube-api-qps="$qps" --prediction-interval=${interval}s -v=2
t_ready=$(( $(date +%s%3N) - t0 ))
all=""
for i in $(seq 1 1800); do
    read -r have planned <<<"$(with_status)"
    if [ "$have" -ge "$n" ]; then all=$(( $(date +%s%3N) - t0 )); break; fi
    sleep 1
done
echo "adapter ready after ${t_ready} ms; every AHPA has a status after ${all:-"(not within 30 min)"} ms" \
     "(--kube-api-qps=$qps); with DESIREDPODS: $planned of $n; RSS $(bench_rss_mib "$AHPA_PID") MiB"

# One steady cycle: the requests between two cycle log lines.
re="controller cycle: [0-9]+ AHPAs in"
c=$(bench_log_count "$re")
bench_wait_log "$re" $((c + 1)) $((interval * 3))
requests >"$T/r0.json"
bench_wait_log "$re" $((c + 2)) $((interval * 3))
sleep 5 # the status writes after the cycle
requests >"$T/r1.json"
/usr/bin/python3 - "$T/r0.json" "$T/r1.json" <<'PY'
import json, sys, collections
a, b = (json.load(open(p))["counts"] for p in sys.argv[1:3])
by = collections.Counter()
for k, v in b.items():
    d = v - a.get(k, 0)
    if d:
        verb, path = k.split(" ", 1)
        kind = ("status" if path.endswith("/status") else "scale" if path.endswith("/scale")
                else "pods" if path.startswith("/api/v1/pods") or "/pods" in path
                else "events" if "/events" in path else "ahpas" if "advancedhorizontal" in path else "other")
        by[verb + " " + kind] += d
print("API requests in one steady cycle: %d (%s)" % (sum(by.values()),
      ", ".join("%s %d" % kv for kv in sorted(by.items()))))
PY
echo "cycle duration (last): $(bench_metric ahpa_controller_cycle_duration_seconds || true) s;" \
     "status writes: $(bench_metric ahpa_controller_status_writes_total || true);" \
     "deferred: $(bench_metric ahpa_controller_status_deferred_total || true);" \
     "RSS $(bench_rss_mib "$AHPA_PID") MiB"
