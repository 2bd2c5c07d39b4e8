# Sourced by tests that need a Kubernetes API: starts the test apiserver
# (test/lib/kube_apiserver.py, a test double of kube-apiserver; see the
# README) on a free 127.0.0.1 port and tracks it for ahpa_cleanup.
# Needs common.sh sourced first.

# ahpa_start_kubeapi DIR [FLAGS...]: TLS files, kubeconfig and logs go in
# DIR; waits AHPA_KUBEAPI_START_TIMEOUT seconds (15) for it to listen.
# Sets KUBEAPI_URL, KUBEAPI_PORT, KUBEAPI_PID, KUBEAPI_CA,
# KUBEAPI_KUBECONFIG (admin client certificate), KUBEAPI_LOG.
ahpa_start_kubeapi() {
    local dir=$1 py
    shift
    mkdir -p "$dir"
    py=$(python3 -c 'import sys; print(sys.executable)')
    rm -f "$dir/kubeapi.port"
    KUBEAPI_LOG="$dir/kubeapi.log"
    PYTHONDONTWRITEBYTECODE=1 "$py" "$(dirname "${BASH_SOURCE[0]}")/kube_apiserver.py" \
        --tls-dir "$dir/kubeapi-tls" --port-file "$dir/kubeapi.port" \
        --kubeconfig "$dir/kubeconfig" "$@" >>"$KUBEAPI_LOG" 2>&1 &
    KUBEAPI_PID=$!
    ahpa_track "$KUBEAPI_PID"
    # Preloading many objects takes a while: AHPA_KUBEAPI_START_TIMEOUT (s).
    if ! ahpa_wait_for "${AHPA_KUBEAPI_START_TIMEOUT:-15}" test -s "$dir/kubeapi.port"; then
        echo "test apiserver did not start; log:"
        cat "$KUBEAPI_LOG"
        return 1
    fi
    KUBEAPI_PORT=$(cat "$dir/kubeapi.port")
    KUBEAPI_URL="https://127.0.0.1:$KUBEAPI_PORT"
    KUBEAPI_CA="$dir/kubeapi-tls/ca.crt"
    KUBEAPI_KUBECONFIG="$dir/kubeconfig"
}

# ahpa_kubeapi_admin PATH [CURL ARGS...]: a request to a /-/test/ endpoint.
ahpa_kubeapi_admin() {
    local path=$1
    shift
    curl -s --cacert "$KUBEAPI_CA" "$@" "$KUBEAPI_URL$path"
}

# ahpa_kubeapi_pods_yaml PROM_URL NAMESPACE POD_REGEX LABELS: prints a v1
# List (JSON, for `kubectl apply -f -`) of one Pod per pod name that
# Prometheus' DCGM_FI_DEV_GPU_UTIL series of the last 3 days have in
# NAMESPACE matching POD_REGEX, labelled LABELS (k=v,k2=v2). The test
# apiserver runs no controllers, so the pods a Deployment would have are
# made this way: the adapter selects them with the workload's selector.
# Apply with --validate=false (the double serves no OpenAPI schemas).
ahpa_kubeapi_pods_yaml() {
    local url=$1 ns=$2 re=$3 labels=$4
    curl -sf -G "$url/api/v1/series" \
        --data-urlencode "match[]=DCGM_FI_DEV_GPU_UTIL{namespace=\"$ns\",pod=~\"$re\"}" \
        --data-urlencode "start=$(($(date +%s) - 3 * 86400))" |
        python3 -c 'import json, sys
ns, labels = sys.argv[1], dict(kv.split("=", 1) for kv in sys.argv[2].split(",") if kv)
names = sorted({s["pod"] for s in json.load(sys.stdin)["data"]})
print(json.dumps({"apiVersion": "v1", "kind": "List", "items": [
    {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": n, "namespace": ns, "labels": labels},
     "spec": {"containers": [{"name": "c", "image": "registry.example/gpu:1"}]}} for n in names]}))' "$ns" "$labels"
}
