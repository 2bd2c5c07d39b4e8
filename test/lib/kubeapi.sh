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

# ahpa_kube_apply_seed DIR: what the seed's user applies, through the real
# kubectl (HOME=DIR, the test apiserver's admin kubeconfig): the CRD
# (manifests/crd/), the Deployment bert-intent-detection (4 replicas,
# app=bert; its GPU trace is ahpa_prom_start_gpu's) and
# manifests/examples/fib-gpu.yaml, each checked with ahpa_contains.
_ahpa_kube_apply() { # DIR ARGS...: kubectl apply, its output and errors
    local dir=$1
    shift
    HOME="$dir" KUBECONFIG="$KUBEAPI_KUBECONFIG" kubectl --request-timeout=10s apply "$@" 2>&1
}
ahpa_kube_apply_seed() {
    local dir=$1 src
    src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
    ahpa_contains "kubectl apply the CRD" "$(_ahpa_kube_apply "$dir" -f "$src/manifests/crd/" </dev/null)" \
        "created"
    ahpa_contains "kubectl apply the Deployment" "$(_ahpa_kube_apply "$dir" -f - <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata: {name: bert-intent-detection, namespace: default, labels: {app: bert}}
spec:
  replicas: 4
  selector: {matchLabels: {app: bert}}
  template:
    metadata: {labels: {app: bert}}
    spec: {containers: [{name: bert, image: "registry.example/bert:1"}]}
YAML
)" "created"
    ahpa_contains "kubectl apply fib-gpu.yaml" \
        "$(_ahpa_kube_apply "$dir" -f "$src/manifests/examples/fib-gpu.yaml" </dev/null)" "fib-gpu created"
}
