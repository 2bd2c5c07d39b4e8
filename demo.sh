#!/usr/bin/env bash
# The main job: builds ahpa-metrics-adapter and runs it on 127.0.0.1:6443
# with a generated CA and serving certificate, then shows what kubectl sees.
# Stops everything cleanly on Ctrl-C.
#
#   ./demo.sh            (state in ./.demo/, port 6443)
#   AHPA_DEMO_PORT=7443 ./demo.sh
set -euo pipefail
cd "$(dirname "$0")"
. test/lib/deps.sh

ahpa_ensure_packages $AHPA_BUILD_PACKAGES $AHPA_RUN_PACKAGES
ahpa_ensure_kubectl

echo "== building"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DAHPA_UNIT_ONLY=OFF -DAHPA_ONLY_MODULES= >/dev/null
cmake --build build -j"$(nproc 2>/dev/null || echo 2)" --target ahpa-metrics-adapter >/dev/null

port=${AHPA_DEMO_PORT:-6443}
demo=$PWD/.demo
mkdir -p "$demo"
adapter_pid=""
stop() {
    [ -n "$adapter_pid" ] && kill -TERM "$adapter_pid" 2>/dev/null && wait "$adapter_pid" 2>/dev/null
    adapter_pid=""
}
trap 'echo; echo "stopping"; stop; exit 0' INT TERM
trap stop EXIT

# A client certificate and kubeconfig: kubectl prompts for a password when
# it has no credentials at all.
if [ ! -f "$demo/client.crt" ]; then
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 365 \
        -subj "/O=system:masters/CN=demo-user" -keyout "$demo/client.key" \
        -out "$demo/client.crt" >/dev/null 2>&1
fi

echo "== starting ahpa-metrics-adapter on https://127.0.0.1:$port"
build/cmd/ahpa-metrics-adapter/ahpa-metrics-adapter --bind-address=127.0.0.1 \
    --secure-port="$port" --cert-dir="$demo/certs" -v=2 >"$demo/adapter.log" 2>&1 &
adapter_pid=$!
for i in $(seq 1 100); do
    curl -sf --cacert "$demo/certs/ca.crt" "https://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
    if ! kill -0 "$adapter_pid" 2>/dev/null; then
        echo "the adapter exited; its log:"; cat "$demo/adapter.log"; exit 1
    fi
    sleep 0.1
done

cat >"$demo/kubeconfig" <<KUBECONFIG
apiVersion: v1
kind: Config
clusters:
- name: ahpa-demo
  cluster:
    server: https://127.0.0.1:$port
    certificate-authority: $demo/certs/ca.crt
users:
- name: demo-user
  user:
    client-certificate: $demo/client.crt
    client-key: $demo/client.key
contexts:
- name: ahpa-demo
  context: {cluster: ahpa-demo, user: demo-user}
current-context: ahpa-demo
KUBECONFIG

k="kubectl --server=https://127.0.0.1:$port --certificate-authority=$demo/certs/ca.crt --client-certificate=$demo/client.crt --client-key=$demo/client.key"
run() {
    echo
    echo "\$ $*"
    HOME="$demo" KUBECONFIG=/dev/null "$@" </dev/null || true
}
run $k get --raw /apis/custom.metrics.k8s.io/v1beta2
run $k api-versions
run $k get --raw '/readyz?verbose'

cat <<EOF2

The adapter is serving on https://127.0.0.1:$port (log: $demo/adapter.log).
Try, in another terminal:

  export KUBECONFIG=$demo/kubeconfig
  kubectl get --raw /apis/custom.metrics.k8s.io/v1beta2
  kubectl get --raw /apis/external.metrics.k8s.io/v1beta1
  kubectl get --raw /apis/metrics.alibabacloud.com/v1beta1
  kubectl api-resources
  kubectl get --raw '/healthz?verbose'
  kubectl get --raw /metrics
  kubectl get --raw /openapi/v3

or without the kubeconfig:

  $k get --raw /apis/custom.metrics.k8s.io/v1beta2

Press Ctrl-C to stop.
EOF2
wait "$adapter_pid"
