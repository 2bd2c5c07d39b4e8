#!/usr/bin/env bash
# Benchmark (issue 12): leader takeover with the DEFAULT leader-election
# flags (lease 15 s, renew deadline 10 s, retry 2 s; test_leader.sh uses
# short ones). Two adapters on one test apiserver (test/lib/kube_apiserver.py,
# a test double of kube-apiserver); the leader is SIGKILLed (no release) and
# the time until the other reports leader_election_master_status 1 on its
# /metrics (polled every 50 ms) is printed. Bound: the lease duration plus up
# to 2.2 x the retry period, counted from the last renewal the follower saw.
#
#   test/bench/takeover.sh [RUNS]      (3)
# AHPA_ADAPTER=path skips the build (build-bench/).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
runs=${1:-3}
. "$root/test/lib/common.sh"
. "$root/test/lib/kubeapi.sh"
. "$here/lib/bench.sh"
[[ -n "${AHPA_ADAPTER:-}" ]] || bench_build "$root"
AHPA_TMP=$(mktemp -d)
trap ahpa_cleanup EXIT
now_ms() { date +%s%3N; }

one_run() { # N: prints the takeover time in ms, or -1
    local d=$AHPA_TMP/run$1 n L F t0 i
    declare -A PORT PID CA
    trap ahpa_cleanup EXIT # runs in $(...): its own servers, stopped when it ends
    ahpa_start_kubeapi "$d/kube" >/dev/null || return 1
    for n in a b; do
        ahpa_start_adapter "$d/$n" --kubeconfig="$KUBEAPI_KUBECONFIG" \
            --leader-elect-resource-namespace=default >/dev/null || return 1
        PORT[$n]=$AHPA_PORT PID[$n]=$AHPA_PID CA[$n]=$AHPA_CA
    done
    st() { curl -s -m 1 --cacert "${CA[$1]}" "https://127.0.0.1:${PORT[$1]}/metrics" |
        sed -n 's/^leader_election_master_status{name="ahpa-metrics-adapter"} //p'; }
    for i in $(seq 1 200); do
        [[ "$(st a)$(st b)" == 10 || "$(st a)$(st b)" == 01 ]] && break
        sleep 0.1
    done
    if [[ "$(st a)" == 1 ]]; then L=a F=b; else L=b F=a; fi
    sleep 3 # a few renewals
    t0=$(now_ms)
    kill -KILL "${PID[$L]}"
    while [[ "$(st $F)" != 1 ]]; do
        (($(now_ms) - t0 > 40000)) && { echo -1; return 0; }
        sleep 0.05
    done
    echo $(($(now_ms) - t0))
}

for r in $(seq 1 "$runs"); do
    echo "takeover after SIGKILL of the leader (lease 15s, renew 10s, retry 2s), run $r: $(one_run "$r") ms"
done
