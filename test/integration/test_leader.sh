#!/usr/bin/env bash
# Leader election between two real adapters sharing one Lease on the test
# apiserver (test/lib/kube_apiserver.py, a test double of kube-apiserver),
# with short durations (lease 3 s, renew deadline 2 s, retry 300 ms):
# exactly one leader, seen on /metrics (leader_election_master_status) and
# in the Lease's holderIdentity; the leader frozen (SIGSTOP): the other
# takes over after the lease duration and the frozen one, thawed, is not
# leader; the leader stopped (SIGTERM): it releases the Lease and the other
# takes over on its next try; the leader cut off from the apiserver
# (partition): it stops leading within the renew deadline; the leader
# killed (SIGKILL): the other takes over after the lease duration. A
# follower sends only reads. Two more adapters with a controller (the
# fib-gpu AHPA, a real Prometheus) on another Lease: only the leader writes
# statuses, the follower sends no write at all, and both serve the same
# ahpa_desired_replicas; their leader killed (SIGKILL): the other takes
# over and does not repeat the Warning Event the first recorded for an
# invalid AHPA (one Event, count 1). Takeover times are printed as
# "measured:" lines.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/common.sh"
. "$here/../lib/kubeapi.sh" || { echo "FAIL: test/lib/kubeapi.sh does not load"; exit 1; }
. "$here/../lib/prometheus.sh"
src=$(cd "$here/../.." && pwd)
AHPA_TMP=$(mktemp -d)
T=$AHPA_TMP
FROZEN=""
cleanup() { [[ -n "$FROZEN" ]] && kill -CONT "$FROZEN" 2>/dev/null; ahpa_prom_stop; ahpa_cleanup; }
trap cleanup EXIT
export PYTHONDONTWRITEBYTECODE=1

PY=$AHPA_PY # see common.sh
LEASE_MS=3000 RENEW_MS=2000 RETRY_MS=300
now_ms() { date +%s%3N; }

ahpa_prom_prepare_gpu "$T" # for the controllers below
ahpa_start_kubeapi "$T/kube" --token tok-a=adapter-a --token tok-b=adapter-b --token tok-c=adapter-c \
    --token tok-d=adapter-d --token tok-e=adapter-e ||
    { ahpa_fail "test apiserver starts"; ahpa_finish; }
admin_curl() {
    curl -s -m 5 --cacert "$KUBEAPI_CA" --cert "$T/kube/kubeapi-tls/admin.crt" \
        --key "$T/kube/kubeapi-tls/admin.key" "$@"
}
kubeconfig_for() { # NAME TOKEN: a kubeconfig that authenticates with a token
    cat >"$T/kc-$1" <<YAML
apiVersion: v1
kind: Config
current-context: test
clusters: [{name: test, cluster: {server: "$KUBEAPI_URL", certificate-authority: "$KUBEAPI_CA"}}]
users: [{name: $1, user: {token: $2}}]
contexts: [{name: test, context: {cluster: test, user: $1, namespace: default}}]
YAML
}

declare -A PORT PID CA
start() { # NAME [ARGS]: an adapter that elects on lease default/ahpa-metrics-adapter (or --leader-elect-resource-name in ARGS)
    local n=$1
    shift
    kubeconfig_for "$n" "tok-$n"
    ahpa_start_adapter "$T/$n" --kubeconfig="$T/kc-$n" --leader-elect-resource-namespace=default \
        --leader-elect-lease-duration=${LEASE_MS}ms --leader-elect-renew-deadline=${RENEW_MS}ms \
        --leader-elect-retry-period=${RETRY_MS}ms -v=1 "$@" || return 1
    PORT[$n]=$AHPA_PORT PID[$n]=$AHPA_PID CA[$n]=$AHPA_CA
}
LEASE_NAME=ahpa-metrics-adapter
status() { # NAME -> 1, 0, or "-" when /metrics does not answer
    local v
    v=$(curl -s -m 1 --cacert "${CA[$1]}" "https://127.0.0.1:${PORT[$1]}/metrics" |
        sed -n "s/^leader_election_master_status{name=\"$LEASE_NAME\"} //p")
    echo "${v:--}"
}
identity() { sed -n 's/.*leader election on lease .* as \([^ ]*\) (lease.*/\1/p' "$T/$1/adapter.log" | head -1; }
holder() { admin_curl "$KUBEAPI_URL/apis/coordination.k8s.io/v1/namespaces/default/leases/ahpa-metrics-adapter" |
    jq -r '.spec.holderIdentity // ""'; }
reap() { # PID, signalled: its exit status; KILLed (137) when it is still there after 10 s
    ahpa_wait_for 10 sh -c "! kill -0 $1 2>/dev/null" || kill -KILL "$1" 2>/dev/null
    wait "$1"
}
wait_status() { # NAME WANT LIMIT_MS: polls every 50 ms; prints the time it took, or -1
    local t0 t
    t0=$(now_ms)
    while :; do
        t=$(($(now_ms) - t0))
        [[ "$(status "$1")" == "$2" ]] && { echo "$t"; return 0; }
        ((t > $3)) && { echo -1; return 1; }
        sleep 0.05
    done
}

start a || { ahpa_fail "adapter a starts"; ahpa_finish; }
start b || { ahpa_fail "adapter b starts"; ahpa_finish; }

# --- exactly one leader ---------------------------------------------------
t0=$(now_ms)
while (($(now_ms) - t0 < 5000)) && [[ "$(status a)$(status b)" != 10 && "$(status a)$(status b)" != 01 ]]; do
    sleep 0.1
done
bad=0 seen=""
for _ in $(seq 1 20); do # 2 s of samples
    s="$(status a)$(status b)"
    seen="$seen $s"
    [[ "$s" == 10 || "$s" == 01 ]] || bad=$((bad + 1))
    sleep 0.1
done
ahpa_equals "exactly one leader in 20 samples of both adapters' /metrics (misses;$seen)" "$bad" 0
if [[ "$(status a)" == 1 ]]; then L=a F=b; else L=b F=a; fi
ahpa_equals "the Lease names the leader" "$(holder)" "$(identity $L)"
hz=$(curl -s -m 2 --cacert "${CA[$L]}" "https://127.0.0.1:${PORT[$L]}/healthz?verbose")
ahpa_contains "/healthz runs the leaderElection check" "$hz" "[+]leaderElection ok"
# What each one sends the apiserver for 1.5 s: the follower only reads.
admin_curl -X DELETE "$KUBEAPI_URL/-/test/requests" >/dev/null
sleep 1.5
counts=$(admin_curl "$KUBEAPI_URL/-/test/requests")
verbs() { # USER -> the verbs it used, sorted, unique
    "$PY" -c 'import json,sys; d=json.loads(sys.argv[1]); print(" ".join(sorted({k.split()[0] for k in d["byUser"].get(sys.argv[2], {})})))' "$counts" "$1"
}
ahpa_equals "the follower only reads (verbs in 1.5 s)" "$(verbs adapter-$F)" "get"
ahpa_equals "the leader reads and renews (verbs in 1.5 s)" "$(verbs adapter-$L)" "get update"

# --- the leader frozen: the other takes over after the lease duration -----
kill -STOP "${PID[$L]}"
FROZEN=${PID[$L]}
took=$(wait_status $F 1 $((LEASE_MS + 3 * RETRY_MS + 2000)))
echo "measured: takeover from a frozen leader ${took}ms (lease ${LEASE_MS}ms, retry ${RETRY_MS}ms)"
ahpa_check "the follower took over from a frozen leader (${took}ms)" test "$took" -ge 0
# The follower counts the lease from the last renewal it saw, which is at
# most a renewal period (retry + the renewal's own requests) before the stop.
ahpa_check "not before the lease duration could pass (${took}ms >= $((LEASE_MS - 1000))ms)" \
    test "$took" -ge $((LEASE_MS - 1000))
ahpa_check "within lease + 2.2 x retry + 2 s of slack for a loaded machine (${took}ms)" test "$took" -le $((LEASE_MS + 22 * RETRY_MS / 10 + 2000))
ahpa_equals "the Lease names the new leader" "$(holder)" "$(identity $F)"
kill -CONT "${PID[$L]}"
FROZEN=""
ahpa_equals "the thawed old leader says at once it does not lead" "$(status $L)" 0
sleep 1
ahpa_equals "the old leader stays a follower" "$(status $L)$(status $F)" 01
old=$L L=$F F=$old

# --- the leader stopped: release, the other takes over on its next try ----
t0=$(now_ms)
kill -TERM "${PID[$L]}"
took=$(wait_status $F 1 5000)
echo "measured: takeover after SIGTERM of the leader ${took}ms (retry ${RETRY_MS}ms, lease ${LEASE_MS}ms)"
ahpa_check "the follower took over after the leader's SIGTERM (${took}ms)" test "$took" -ge 0
ahpa_check "within 2.2 x retry + 1 s, well before the lease duration (${took}ms)" \
    test "$took" -le $((22 * RETRY_MS / 10 + 1000))
reap "${PID[$L]}"
ahpa_equals "the stopped leader exits with status 0" "$?" 0
ahpa_contains "the stopped leader released the Lease" "$(cat "$T/$L/adapter.log")" "released"
L=$F

# --- the leader cut off from the apiserver: it stops within the deadline --
start c || ahpa_fail "adapter c starts"
sleep 1
ahpa_equals "the new adapter is a follower" "$(status c)$(status $L)" 01
admin_curl -X POST "$KUBEAPI_URL/-/test/partition?user=adapter-$L&mode=hang" >/dev/null
took=$(wait_status $L 0 $((RENEW_MS + 2000)))
echo "measured: leader cut off from the apiserver stopped leading after ${took}ms (renew deadline ${RENEW_MS}ms)"
ahpa_check "the cut-off leader stopped leading (${took}ms)" test "$took" -ge 0
ahpa_check "within the renew deadline + 400 ms of polling (${took}ms)" test "$took" -le $((RENEW_MS + 400))
took=$(wait_status c 1 $((LEASE_MS + 3 * RETRY_MS + 2000)))
ahpa_check "the other adapter took over (${took}ms after the old leader stopped)" test "$took" -ge 0
admin_curl -X POST "$KUBEAPI_URL/-/test/heal" >/dev/null
sleep 1
ahpa_equals "healed, the old leader stays a follower" "$(status $L)$(status c)" 01
hz=$(curl -s -m 2 -o /dev/null -w '%{http_code}' --cacert "${CA[$L]}" "https://127.0.0.1:${PORT[$L]}/healthz")
ahpa_equals "a follower is healthy" "$hz" 200

# --- the leader killed (SIGKILL, no release): the other after the lease ---
kill -KILL "${PID[c]}"
took=$(wait_status $L 1 $((LEASE_MS + 3 * RETRY_MS + 2000)))
echo "measured: takeover after SIGKILL of the leader ${took}ms (lease ${LEASE_MS}ms, retry ${RETRY_MS}ms)"
ahpa_check "the follower took over after the leader's SIGKILL (${took}ms)" test "$took" -ge 0
ahpa_check "within lease + 2.2 x retry + 2 s of slack for a loaded machine (${took}ms)" test "$took" -le $((LEASE_MS + 22 * RETRY_MS / 10 + 2000))

# --- two adapters with a controller: only the leader writes -----------------
# Adapters d and e elect on their own Lease (ahpa-ctl), plan the seed's
# fib-gpu AHPA from a real Prometheus and serve ahpa_desired_replicas.
kill -TERM "${PID[$L]}" 2>/dev/null
reap "${PID[$L]}" 2>/dev/null
INTERVAL=2
ahpa_prom_start_prepared "$T" || { ahpa_fail "prometheus starts"; ahpa_finish; }
k() { HOME="$T" KUBECONFIG="$KUBEAPI_KUBECONFIG" kubectl --request-timeout=10s "$@"; }
ahpa_kube_apply_seed "$T" || { ahpa_fail "the seed's objects are applied (see above)"; ahpa_finish; }
# An invalid AHPA: its Warning Event must not be repeated by a new leader.
sed -e 's/name: fib-gpu/name: broken/' -e 's/minReplicas: 0/minReplicas: 30/' \
    -e 's/maxReplicas: 100/maxReplicas: 5/' "$src/manifests/examples/fib-gpu.yaml" >"$T/broken.yaml"
ahpa_contains "kubectl apply an invalid AHPA" "$(k apply -f "$T/broken.yaml" </dev/null 2>&1)" \
    "broken created"
# Its pods (the adapters read them from the API; the double runs no controllers).
{ ahpa_kubeapi_pods_yaml "$AHPA_PROM_URL" default 'bert-intent-detection-.*' app=bert >"$T/pods.json" &&
    k apply --validate=false -f "$T/pods.json" </dev/null >/dev/null 2>&1; } ||
    { ahpa_fail "kubectl apply the pods"; ahpa_finish; }
LEASE_NAME=ahpa-ctl
ctl_args=(--leader-elect-resource-name=ahpa-ctl --prometheus-url="$AHPA_PROM_URL"
    --prediction-interval=${INTERVAL}s --history-window=48h)
admin_curl -X DELETE "$KUBEAPI_URL/-/test/requests" >/dev/null
start d "${ctl_args[@]}" || ahpa_fail "adapter d starts"
start e "${ctl_args[@]}" || ahpa_fail "adapter e starts"
wait_status d 1 5000 >/dev/null || wait_status e 1 5000 >/dev/null
if [[ "$(status d)" == 1 ]]; then L=d F=e; else L=e F=d; fi
ahpa_equals "one of the two controllers leads" "$(status d)$(status e)" \
    "$([[ $L == d ]] && echo 10 || echo 01)"
written() { [[ "$(k get ahpa fib-gpu -o jsonpath='{.status.desiredReplicas}' </dev/null 2>/dev/null)" =~ ^[0-9]+$ ]]; }
ahpa_wait_for 30 written
ahpa_check "the leader wrote fib-gpu's status (desiredReplicas set)" written
t_written=$(now_ms)
ahpa_client_cert "$T"
desired() { # NAME -> the value of ahpa_desired_replicas for fib-gpu
    curl -s -m 2 --cacert "${CA[$1]}" --cert "$AHPA_CLIENT_CERT" --key "$AHPA_CLIENT_KEY" \
        "https://127.0.0.1:${PORT[$1]}/apis/external.metrics.k8s.io/v1beta1/namespaces/default/ahpa_desired_replicas?labelSelector=ahpa%3Dfib-gpu" |
        jq -r '.items[0].value // empty' 2>/dev/null
}
# Both plan at the same wall-clock multiples of the interval: a sample of the
# leader taken on both sides of the follower's (same value twice) tells that
# no cycle ended in between.
# The follower's first plan may end a little after the leader's.
follower_serves() { [[ -n "$(desired $F)" ]]; }
ahpa_wait_for 10 follower_serves
same=0 differ=0 pairs=""
for _ in $(seq 1 12); do
    x1=$(desired $L) y=$(desired $F) x2=$(desired $L)
    if [[ -n "$x1" && "$x1" == "$x2" ]]; then
        pairs="$pairs $x1/$y"
        if [[ "$x1" == "$y" ]]; then same=$((same + 1)); else differ=$((differ + 1)); fi
    fi
    sleep 0.3
done
# Two more cycles after the first write (the samples above take about that
# long): a follower would have had statuses to write.
rest=$((2 * INTERVAL * 1000 - ($(now_ms) - t_written)))
((rest > 0)) && sleep "$((rest / 1000)).$(printf %03d $((rest % 1000)))"
counts=$(admin_curl "$KUBEAPI_URL/-/test/requests")
writes() { # USER -> requests other than get, list and watch (the Lease's update aside)
    "$PY" -c 'import json,sys; d=json.loads(sys.argv[1])["byUser"].get(sys.argv[2], {})
print(sum(n for k, n in d.items() if k.split()[0] not in ("get", "list", "watch") and "/leases" not in k))' "$counts" "$1"
}
wl=$(writes adapter-$L) wf=$(writes adapter-$F)
echo "measured: API writes since start, leader $L $wl, follower $F $wf"
ahpa_check "the leader patched statuses ($wl writes)" test "$wl" -ge 1
ahpa_equals "the follower sent no write to the API (status, Event, HPA)" "$wf" 0
metric() { # NAME SERIES
    curl -s -m 2 --cacert "${CA[$1]}" "https://127.0.0.1:${PORT[$1]}/metrics" | sed -n "s/^$2 //p"
}
ahpa_equals "the follower's /metrics: no status write" "$(metric $F ahpa_controller_status_writes_total)" 0
# (ahpa_controller_status_not_leader_total stays 0 too once the leader's
# status is in the follower's informer: its own plan wants the same status.)
ahpa_check "at least 5 comparisons made (leader/follower:$pairs)" test $((same + differ)) -ge 5
ahpa_equals "both serve identical ahpa_desired_replicas (leader/follower:$pairs)" "$differ" 0

# --- the controller's leader killed: the other takes over, no Event repeated --------
bevents() { k get events --field-selector involvedObject.name=broken -o json </dev/null 2>/dev/null |
    "$PY" -c 'import json,sys; print(" ".join(sorted("%s:%s:%d" % (e["type"], e["reason"], e["count"]) for e in json.load(sys.stdin)["items"])))'; }
has_bevent() { [[ "$(bevents)" == "Warning:InvalidSpec:1" ]]; }
ahpa_wait_for 10 has_bevent
ahpa_equals "the leader recorded one InvalidSpec Event for broken" "$(bevents)" "Warning:InvalidSpec:1"
kill -KILL "${PID[$L]}"
took=$(wait_status $F 1 $((LEASE_MS + 3 * RETRY_MS + 2000)))
echo "measured: takeover after SIGKILL of the controllers' leader ${took}ms (lease ${LEASE_MS}ms, retry ${RETRY_MS}ms)"
ahpa_check "the other controller took over (${took}ms)" test "$took" -ge 0
sleep $((2 * INTERVAL)) # two cycles of the new leader
ahpa_equals "the new leader did not repeat the Event (one Event, count 1)" "$(bevents)" "Warning:InvalidSpec:1"
ahpa_check "the new leader writes: fib-gpu's status still follows the plan" written

if ((AHPA_FAILED > 0)); then
    for n in a b c d e; do
        [[ -f "$T/$n/adapter.log" ]] && { echo "--- adapter $n (last 25 lines)"; tail -25 "$T/$n/adapter.log"; }
    done
fi
ahpa_finish
