# Sourced by tests that need a Kubernetes API: starts the test apiserver
# (test/lib/kube_apiserver.py, a test double of kube-apiserver; see the
# README) on a free 127.0.0.1 port and tracks it for ahpa_cleanup.
# Needs common.sh sourced first.

# ahpa_start_kubeapi DIR [FLAGS...]: TLS files, kubeconfig and logs go in
# DIR; waits AHPA_KUBEAPI_START_TIMEOUT seconds (15) for it to listen.
# Sets KUBEAPI_URL, KUBEAPI_PORT, KUBEAPI_PID, KUBEAPI_CA,
# KUBEAPI_KUBECONFIG (admin client certificate), KUBEAPI_LOG.
# It is ahpa_launch_kubeapi then ahpa_wait_kubeapi: a test with other
# set-up to do (a Prometheus backfill) launches first and waits after, so
# the apiserver's start (Python, certificates) overlaps it.
ahpa_start_kubeapi() {
    ahpa_launch_kubeapi "$@" && ahpa_wait_kubeapi
}

# ahpa_launch_kubeapi DIR [FLAGS...]: starts it without waiting; sets
# KUBEAPI_PID, KUBEAPI_LOG. Its TLS files (CA, serving and admin
# certificates) come from the test cache when there is one (see
# _ahpa_kubeapi_tls), else the apiserver makes them (5 openssl runs).
ahpa_launch_kubeapi() {
    local dir=$1 py
    shift
    mkdir -p "$dir"
    py=$AHPA_PY
    rm -f "$dir/kubeapi.port"
    _ahpa_kubeapi_tls "$dir/kubeapi-tls"
    KUBEAPI_LOG="$dir/kubeapi.log"
    _AHPA_KUBEAPI_DIR=$dir
    PYTHONDONTWRITEBYTECODE=1 "$py" "$(dirname "${BASH_SOURCE[0]}")/kube_apiserver.py" \
        --tls-dir "$dir/kubeapi-tls" --port-file "$dir/kubeapi.port" \
        --kubeconfig "$dir/kubeconfig" "$@" >>"$KUBEAPI_LOG" 2>&1 &
    KUBEAPI_PID=$!
    ahpa_track "$KUBEAPI_PID"
}

# ahpa_wait_kubeapi: waits for the one launched last to listen (at most
# AHPA_KUBEAPI_START_TIMEOUT s; preloading many objects takes a while)
# and sets the rest of ahpa_start_kubeapi's variables.
ahpa_wait_kubeapi() {
    local dir=$_AHPA_KUBEAPI_DIR
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

# _ahpa_kubeapi_tls TLS_DIR: with AHPA_TEST_CACHE_DIR set (the build
# tree's test-cache under CTest), copies a cached set of the apiserver's
# TLS files into TLS_DIR (kube_apiserver.py makes only what is absent).
# A set is made when there is none younger than a day (the certificates
# are valid 7 days), in a directory of its own that is never changed
# afterwards; the link kubeapi-tls names the current one and is replaced
# atomically, so tests starting at once never mix two sets. Without the
# cache, nothing (the apiserver makes its own).
_ahpa_kubeapi_tls() {
    local tls=$1 cache=${AHPA_TEST_CACHE_DIR:-} py new set
    [ -n "$cache" ] || return 0
    if [ -z "$(find -L "$cache/kubeapi-tls/admin.key" -mmin -1440 2>/dev/null)" ]; then
        mkdir -p "$cache" && new=$(mktemp -d "$cache/kubeapi-tls.XXXXXX") || return 0
        py=$AHPA_PY
        PYTHONDONTWRITEBYTECODE=1 PYTHONPATH="$(dirname "${BASH_SOURCE[0]}")" "$py" -c \
            'import sys; from kubeapi import auth; auth.ensure_tls(sys.argv[1])' "$new" &&
            ln -s "$(basename "$new")" "$new.link" && mv -T "$new.link" "$cache/kubeapi-tls"
        find "$cache" -maxdepth 1 -name 'kubeapi-tls.*' -mmin +2880 -exec rm -rf {} + 2>/dev/null
    fi
    set=$(readlink "$cache/kubeapi-tls" 2>/dev/null) || return 0
    mkdir -p "$tls" && cp "$cache/$set"/{ca,server,admin}.{crt,key} "$tls/" 2>/dev/null
    return 0
}

# ahpa_kubeapi_admin PATH [CURL ARGS...]: a request to a /-/test/ endpoint.
ahpa_kubeapi_admin() {
    local path=$1
    shift
    curl -s -m 10 --cacert "$KUBEAPI_CA" "$@" "$KUBEAPI_URL$path"
}

# ahpa_kube_apply_seed DIR: what the seed's user applies, through the real
# kubectl (HOME=DIR, the test apiserver's admin kubeconfig): the CRD
# (manifests/crd/), the Deployment bert-intent-detection (4 replicas,
# app=bert; its GPU trace is ahpa_prom_start_gpu's) and
# manifests/examples/fib-gpu.yaml, each checked with ahpa_contains.
# Fails when one of them failed: the caller stops (nothing after it can
# pass without these objects, and its waits would all run to their end).
_ahpa_kube_apply() { # DIR ARGS...: kubectl apply, its output and errors
    local dir=$1
    shift
    HOME="$dir" KUBECONFIG="$KUBEAPI_KUBECONFIG" kubectl --request-timeout=10s apply "$@" 2>&1
}
ahpa_kube_apply_seed() {
    local dir=$1 src failed=$AHPA_FAILED
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
    [ "$AHPA_FAILED" = "$failed" ]
}

# ahpa_kubeapi_pods_yaml PROM_URL NAMESPACE POD_REGEX LABELS: prints a v1
# List (JSON, for `kubectl apply -f -`) of one Pod per pod name that
# Prometheus' DCGM_FI_DEV_GPU_UTIL series of the last 3 days have in
# NAMESPACE matching POD_REGEX, labelled LABELS (k=v,k2=v2). The test
# apiserver runs no controllers, so the pods a Deployment would have are
# made this way: the adapter selects them with the workload's selector.
# Apply with --validate=false (the double serves no OpenAPI schemas).
# Fails, saying why on stderr, when Prometheus does not answer or has no
# such pod: the caller stops.
ahpa_kubeapi_pods_yaml() {
    local url=$1 ns=$2 re=$3 labels=$4
    curl -sf -m 10 -G "$url/api/v1/series" \
        --data-urlencode "match[]=DCGM_FI_DEV_GPU_UTIL{namespace=\"$ns\",pod=~\"$re\"}" \
        --data-urlencode "start=$(($(date +%s) - 3 * 86400))" |
        python3 -c 'import json, sys
ns, labels = sys.argv[1], dict(kv.split("=", 1) for kv in sys.argv[2].split(",") if kv)
names = sorted({s["pod"] for s in json.load(sys.stdin)["data"]})
if not names:
    sys.exit("ahpa_kubeapi_pods_yaml: Prometheus has no DCGM_FI_DEV_GPU_UTIL series of such a pod")
print(json.dumps({"apiVersion": "v1", "kind": "List", "items": [
    {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": n, "namespace": ns, "labels": labels},
     "spec": {"containers": [{"name": "c", "image": "registry.example/gpu:1"}]}} for n in names]}))' "$ns" "$labels"
}
