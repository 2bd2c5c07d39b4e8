#!/usr/bin/env bash
# The main job: the seed's walkthrough ("Implement AHPA elastic prediction
# based on GPU metrics") on one machine, without a cluster.
#
#  1. builds ahpa-metrics-adapter;
#  2. starts Debian's Prometheus on 127.0.0.1, backfilled with 14 days of
#     per-pod GPU utilisation of the bert-intent-detection Deployment,
#     derived from the real GPU-serving trace in ../shared/data/gentd26/
#     (time-shifted to end now, 4 pods) plus the kube-state-metrics series,
#     and keeps a live tail of samples coming (an exporter stand-in that
#     Prometheus scrapes every 15 s);
#  3. runs the adapter on https://127.0.0.1:6443 with the seed's fib-gpu
#     AdvancedHorizontalPodAutoscaler;
#  4. runs the seed's own command for the prediction report, and the
#     external-metric query a stock HPA makes;
#  5. cluster mode: starts the project's test apiserver (a test double of
#     kube-apiserver, test/lib/kube_apiserver.py), applies the seed's CRD,
#     Deployment and fib-gpu.yaml with kubectl, runs a second adapter
#     (port + 1) that takes the objects from that API and writes their
#     status, prints the seed's `kubectl get ahpa`, then takes the seed's
#     last step: scaleStrategy auto, and shows the managed HPA (kubectl get
#     hpa) that follows ahpa_desired_replicas;
#  6. keeps everything running until Ctrl-C, then stops it all.
#
#   ./demo.sh                    state in ./.demo/, observer.html in ./
#   AHPA_DEMO_PORT=7443 ./demo.sh
#   AHPA_DEMO_CLUSTER=0 ./demo.sh   without step 5
set -euo pipefail
cd "$(dirname "$0")"
root=$PWD
. test/lib/deps.sh

ahpa_ensure_packages $AHPA_BUILD_PACKAGES $AHPA_RUN_PACKAGES
ahpa_ensure_kubectl

echo "== building"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DAHPA_UNIT_ONLY=OFF -DAHPA_ONLY_MODULES= >/dev/null
cmake --build build -j"$(nproc 2>/dev/null || echo 2)" --target ahpa-metrics-adapter >/dev/null

. test/lib/common.sh
. test/lib/kubeapi.sh
port=${AHPA_DEMO_PORT:-6443}
demo=$root/.demo
rm -rf "$demo/tsdb" "$demo/tsdb.backfill.log" "$demo/ahpa" "$demo/cluster"
mkdir -p "$demo/ahpa"
days=14 pods=4 end=$(date +%s)

stop_all() {
    trap - INT TERM EXIT
    echo
    echo "== stopping"
    ahpa_prom_stop
    ahpa_cleanup_pids
}
ahpa_cleanup_pids() { local p; for p in $AHPA_PIDS; do ahpa_stop_pid "$p"; done; AHPA_PIDS=""; }
trap 'stop_all; exit 0' INT TERM
trap stop_all EXIT

echo "== Prometheus: $days days of GPU utilisation for $pods pods of bert-intent-detection"
python3 test/lib/gen_gpu_openmetrics.py --days "$days" --pods "$pods" --end "$end" --output "$demo/gpu.om"
ahpa_prom_backfill "$demo/gpu.om" "$demo/tsdb"
rm -f "$demo/gpu.om"
exporter_port=$(ahpa_free_port)
python3 test/lib/gen_gpu_openmetrics.py --days "$days" --pods "$pods" --end "$end" \
    --serve "$exporter_port" >"$demo/exporter.log" 2>&1 &
ahpa_track $!
AHPA_PROM_SCRAPE_INTERVAL=15s AHPA_PROM_DROP_TARGET_LABELS=1 ahpa_prom_start "$demo/tsdb" "$(ahpa_free_port)" "127.0.0.1:$exporter_port"
echo "   Prometheus at $AHPA_PROM_URL (live samples from 127.0.0.1:$exporter_port every 15 s)"

cp manifests/examples/fib-gpu.yaml "$demo/ahpa/"
if [ ! -f "$demo/client.crt" ]; then # kubectl asks for a password without credentials
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 365 \
        -subj "/O=system:masters/CN=demo-user" -keyout "$demo/client.key" \
        -out "$demo/client.crt" >/dev/null 2>&1
fi

echo "== ahpa-metrics-adapter on https://127.0.0.1:$port (standalone: --authorization-mode=AlwaysAllow)"
build/cmd/ahpa-metrics-adapter/ahpa-metrics-adapter --bind-address=127.0.0.1 --secure-port="$port" \
    --authorization-mode=AlwaysAllow --cert-dir="$demo/certs" --prometheus-url="$AHPA_PROM_URL" --ahpa-dir="$demo/ahpa" \
    --prediction-interval=30s -v=1 >"$demo/adapter.log" 2>&1 &
adapter=$!
ahpa_track $adapter
for i in $(seq 1 100); do
    curl -sf --cacert "$demo/certs/ca.crt" "https://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
    kill -0 $adapter 2>/dev/null || { echo "the adapter exited; its log:"; cat "$demo/adapter.log"; exit 1; }
    sleep 0.1
done

cat >"$demo/kubeconfig" <<KUBECONFIG
apiVersion: v1
kind: Config
clusters:
- name: ahpa-demo
  cluster: {server: "https://127.0.0.1:$port", certificate-authority: "$demo/certs/ca.crt"}
users:
- name: demo-user
  user: {client-certificate: "$demo/client.crt", client-key: "$demo/client.key"}
contexts:
- name: ahpa-demo
  context: {cluster: ahpa-demo, user: demo-user}
current-context: ahpa-demo
KUBECONFIG
export KUBECONFIG=$demo/kubeconfig

# The first cycle loads 7 days of history and fits the model.
printf '   waiting for the first plan'
for i in $(seq 1 120); do
    kubectl get --raw '/apis/external.metrics.k8s.io/v1beta1/namespaces/default/ahpa_desired_replicas?labelSelector=ahpa%3Dfib-gpu' \
        2>/dev/null </dev/null | grep -q '"ahpa":"fib-gpu"' && break
    printf .
    sleep 0.5
done
echo

show() { echo; echo "\$ $*"; }
show "kubectl get --raw '/apis/metrics.alibabacloud.com/v1beta1/namespaces/default/predictionsobserver/fib-gpu' | jq -r '.content' | base64 -d > observer.html"
kubectl get --raw '/apis/metrics.alibabacloud.com/v1beta1/namespaces/default/predictionsobserver/fib-gpu' </dev/null |
    jq -r '.content' | base64 -d > observer.html
echo "   wrote $root/observer.html ($(stat -c %s observer.html) bytes): open it in a browser"

show "kubectl get --raw '/apis/external.metrics.k8s.io/v1beta1/namespaces/default/ahpa_desired_replicas?labelSelector=ahpa%3Dfib-gpu' | jq ."
ext=$(kubectl get --raw '/apis/external.metrics.k8s.io/v1beta1/namespaces/default/ahpa_desired_replicas?labelSelector=ahpa%3Dfib-gpu' </dev/null)
echo "$ext" | jq .
value=$(echo "$ext" | jq -r '.items[0].value')
echo "   An HPA with an External metric ahpa_desired_replicas (selector ahpa=fib-gpu) and"
echo "   target {type: AverageValue, averageValue: \"1\"} sets bert-intent-detection to $value replicas"
echo "   (manifests/examples/hpa-follow-ahpa.yaml). fib-gpu is in observer mode: nothing here scales it."

show "kubectl get --raw /metrics | grep '^ahpa_.*fib-gpu'"
kubectl get --raw /metrics </dev/null | grep '^ahpa_.*fib-gpu' || true

cluster_note=""
if [ "${AHPA_DEMO_CLUSTER:-1}" != 0 ]; then
    echo
    echo "== cluster mode: the test apiserver (a test double of kube-apiserver) and a second adapter"
    ahpa_start_kubeapi "$demo/cluster"
    kc() { KUBECONFIG="$KUBEAPI_KUBECONFIG" kubectl --request-timeout=10s "$@"; }
    show "kubectl apply -f manifests/crd/"
    kc apply -f manifests/crd/ </dev/null
    show "kubectl apply -f bert-intent-detection.yaml   # the seed's Deployment (4 replicas)"
    kc apply -f - <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata: {name: bert-intent-detection, namespace: default, labels: {app: bert-intent-detection}}
spec:
  replicas: 4
  selector: {matchLabels: {app: bert-intent-detection}}
  template:
    metadata: {labels: {app: bert-intent-detection}}
    spec: {containers: [{name: bert-intent-detection, image: "bert-intent-detection:demo"}]}
YAML
    # The test apiserver runs no controllers: the Deployment's pods are made by hand,
    # with the names Prometheus has (the adapter selects them by the Deployment's selector).
    ahpa_kubeapi_pods_yaml "$AHPA_PROM_URL" default 'bert-intent-detection-.*' app=bert-intent-detection |
        kc apply --validate=false -f - >/dev/null
    show "kubectl apply -f fib-gpu.yaml"
    kc apply -f manifests/examples/fib-gpu.yaml </dev/null
    cport=$((port + 1))
    build/cmd/ahpa-metrics-adapter/ahpa-metrics-adapter --bind-address=127.0.0.1 --secure-port="$cport" \
        --cert-dir="$demo/certs-cluster" --prometheus-url="$AHPA_PROM_URL" \
        --kubeconfig="$KUBEAPI_KUBECONFIG" --prediction-interval=30s -v=1 \
        >"$demo/adapter-cluster.log" 2>&1 &
    ahpa_track $!
    printf '   waiting for the adapter to write the status'
    for i in $(seq 1 120); do
        kc get ahpa fib-gpu -o jsonpath='{.status.desiredReplicas}' </dev/null 2>/dev/null | grep -q . && break
        printf .
        sleep 0.5
    done
    echo
    show "kubectl get ahpa"
    kc get ahpa </dev/null
    show "kubectl get ahpa fib-gpu -o jsonpath='{range .status.conditions[*]}{.type}={.status} {.reason}: {.message}{\"\\n\"}{end}'"
    kc get ahpa fib-gpu -o jsonpath='{range .status.conditions[*]}{.type}={.status} {.reason}: {.message}{"\n"}{end}' </dev/null
    # The seed's last step: satisfied with the observation, let AHPA scale.
    show "kubectl patch ahpa fib-gpu --type=merge -p '{\"spec\":{\"scaleStrategy\":\"auto\"}}'"
    kc patch ahpa fib-gpu --type=merge -p '{"spec":{"scaleStrategy":"auto"}}' </dev/null
    printf '   waiting for the managed HPA'
    for i in $(seq 1 60); do
        kc get hpa ahpa-fib-gpu </dev/null >/dev/null 2>&1 && break
        printf .
        sleep 0.5
    done
    echo
    show "kubectl get hpa"
    kc get hpa </dev/null
    show "kubectl get hpa ahpa-fib-gpu -o jsonpath='{.spec.metrics[0].external.metric}'"
    kc get hpa ahpa-fib-gpu -o jsonpath='{.spec.metrics[0].external.metric}{"\n"}' </dev/null
    cluster_note="
  cluster mode $KUBEAPI_URL (test apiserver)  adapter https://127.0.0.1:$cport  log $demo/adapter-cluster.log
               KUBECONFIG=$KUBEAPI_KUBECONFIG kubectl get ahpa   (kubectl edit/patch/delete it: followed at once)"
fi

cat <<EOF2

Everything keeps running (new samples every 15 s, a new plan every 30 s):
  adapter      https://127.0.0.1:$port        log  $demo/adapter.log
  Prometheus   $AHPA_PROM_URL        log  $AHPA_PROM_LOG
  AHPA objects $demo/ahpa/            (edit or add YAML files; they are re-read)
  kubectl      export KUBECONFIG=$demo/kubeconfig
               kubectl get --raw /apis/custom.metrics.k8s.io/v1beta2/namespaces/default/pods/*/gpu_utilization
               kubectl get --raw /apis/metrics.alibabacloud.com/v1beta1/namespaces/default/predictionsobserver/fib-gpu | jq -r .content | base64 -d > observer.html$cluster_note

Press Ctrl-C to stop everything.
EOF2
wait $adapter
