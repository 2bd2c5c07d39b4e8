#!/usr/bin/env bash
# The cluster manifests as an operator installs them (README, "Install in a
# cluster"), on a copy of manifests/ and apiservice/:
#   - make-certs.sh makes a CA and a serving certificate for the Service's
#     DNS names; every overlay renders with `kubectl kustomize` (self-signed,
#     cert-manager, and with the components);
#   - manifests_check.py checks the rendered objects (hardened Deployment,
#     flags known to `--help`, one APIService per group-version the adapter
#     serves, caBundle or cainjector annotation, no insecureSkipTLSVerify),
#     the RBAC against lib/kube/api-calls.txt (every call granted, nothing
#     more), and the source against the calls file; mutated copies prove
#     each of the three can fail;
#   - two adapters run with the rendered Deployment's own arguments and the
#     rendered Secret's certificate, and the APIServices' caBundle verifies
#     both as the kube-aggregator does (ServerName <svc>.<ns>.svc), from a
#     Secret volume laid out as the kubelet does; make-certs.sh renews the
#     certificate, the volume's ..data swaps, and both replicas serve the
#     new one without a restart, still verified by the same caBundle;
#   - `kubectl apply -k` of each overlay into the test apiserver accepts
#     every object, and the caBundle stored there verifies the stored
#     Secret's certificate; then the seed's ConfigMap and AHPA, and
#     `kubectl get ahpa`.
set -u
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
. "$here/../lib/common.sh"
. "$here/../lib/kubeapi.sh"
AHPA_TMP=$(mktemp -d)
trap ahpa_cleanup EXIT
T=$AHPA_TMP
export PYTHONDONTWRITEBYTECODE=1
CHECK="python3 $here/manifests_check.py"
SVC_DNS=ahpa-metrics-adapter.kube-system.svc
# verify_cert CA CERT: CERT chains to CA and may serve TLS.
verify_cert() { openssl verify -CAfile "$1" -purpose sslserver "$2" >/dev/null 2>&1; }

mkdir -p "$T/repo"
cp -r "$src/manifests" "$src/apiservice" "$T/repo/"
rm -rf "$T/repo/manifests/overlays/self-signed/certs"
M=$T/repo/manifests
"$AHPA_ADAPTER" --help >"$T/help.txt" 2>&1

# --- the certificate script ----------------------------------------------------
out=$("$M/overlays/self-signed/make-certs.sh" 2>&1)
ahpa_check "make-certs.sh makes a CA and a serving certificate" \
    test -s "$M/overlays/self-signed/certs/tls.crt" -a -s "$M/overlays/self-signed/certs/ca.crt"
C=$M/overlays/self-signed/certs
sans=$(openssl x509 -in "$C/tls.crt" -noout -ext subjectAltName 2>/dev/null | tr -d ' \n')
ahpa_contains "the serving certificate names the Service" "$sans" "DNS:$SVC_DNS,"
ahpa_contains "... and its cluster.local name" "$sans" "DNS:$SVC_DNS.cluster.local"
ahpa_check "ca.crt verifies the serving certificate for TLS servers" \
    verify_cert "$C/ca.crt" "$C/tls.crt"
ahpa_check "the private keys are not readable by others" \
    test "$(stat -c %a "$C/tls.key")" = 600 -a "$(stat -c %a "$C/ca.key")" = 600
ca_before=$(openssl x509 -in "$C/ca.crt" -noout -fingerprint)
cert_before=$(openssl x509 -in "$C/tls.crt" -noout -fingerprint)
"$M/overlays/self-signed/make-certs.sh" --days 30 >/dev/null 2>&1
ahpa_equals "a second run keeps the CA (the caBundle stays valid)" \
    "$(openssl x509 -in "$C/ca.crt" -noout -fingerprint)" "$ca_before"
ahpa_check "... and renews the serving certificate" \
    test "$(openssl x509 -in "$C/tls.crt" -noout -fingerprint)" != "$cert_before"

# --- rendering -------------------------------------------------------------------
render() { # NAME DIR
    if kubectl kustomize "$2" >"$T/$1.yaml" 2>"$T/$1.err"; then
        ahpa_pass "kubectl kustomize renders $1"
    else
        ahpa_fail "kubectl kustomize renders $1: $(head -c 400 "$T/$1.err")"
    fi
}
render self-signed "$M/overlays/self-signed"
render cert-manager "$M/overlays/cert-manager"
mkdir -p "$T/repo/with-components" "$T/repo/no-external"
# The README's own overlay (step 3), as written there.
cat >"$T/repo/with-components/kustomization.yaml" <<'YAML'
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
- ../manifests/overlays/self-signed
components:
- ../manifests/components/prometheus-token
- ../manifests/components/service-monitor
images:
- name: ahpa-metrics-adapter
  newName: REGISTRY/ahpa-metrics-adapter
  newTag: 0.1.0
patches:
- target: {kind: Deployment, name: ahpa-metrics-adapter}
  patch: |-
    - op: add
      path: /spec/template/spec/containers/0/args/-
      value: --prometheus-header=X-Scope-OrgID=tenant-a
YAML
cat >"$T/repo/no-external/kustomization.yaml" <<'YAML'
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources: [../manifests/overlays/cert-manager]
components: [../manifests/components/no-external-metrics]
YAML
render with-components "$T/repo/with-components"
render no-external "$T/repo/no-external"
grep -q insecureSkipTLSVerify "$T"/*.yaml
ahpa_check "no rendered overlay mentions insecureSkipTLSVerify" test $? -ne 0

# --- the adapter with the rendered Deployment's arguments --------------------------
# The rendered args, with the container's paths and port mapped to this
# machine; PROMETHEUS_URL as the kubelet would expand it.
deployment_args() { # RENDERED CERTDIR PORT PROMURL
    python3 - "$@" <<'PY'
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
dep = [d for d in docs if d["kind"] == "Deployment"][0]
c = dep["spec"]["template"]["spec"]["containers"][0]
mount = [m["mountPath"] for m in c["volumeMounts"] if m["name"] == "serving-cert"][0]
for a in c["args"]:
    a = a.replace(mount, sys.argv[2]).replace("$(PROMETHEUS_URL)", sys.argv[4])
    if a.startswith("--secure-port="):
        a = "--secure-port=" + sys.argv[3]
    print(a)
print("--bind-address=127.0.0.1")
PY
}
mkdir -p "$T/rendered"
# The Secret and caBundles as rendered (also the objects check below).
$CHECK objects "$T/self-signed.yaml" --help-text "$T/help.txt" --served x --out-dir "$T/rendered" >/dev/null
# The Secret volume as the kubelet lays it out (atomic writer): files are
# links through ..data to a timestamped directory, and an update swaps
# ..data in one rename.
kubelet_volume() { # VOLUME-DIR SOURCE-DIR VERSION
    local vol=$1 from=$2 v="..$3" old f
    mkdir -p "$vol/$v"
    for f in tls.crt tls.key ca.crt; do cp "$from/$f" "$vol/$v/$f"; done
    old=$(readlink "$vol/..data" 2>/dev/null)
    ln -sfn "$v" "$vol/..data_tmp" && mv -T "$vol/..data_tmp" "$vol/..data"
    for f in tls.crt tls.key ca.crt; do [ -L "$vol/$f" ] || ln -s "..data/$f" "$vol/$f"; done
    if [ -n "$old" ]; then rm -rf "${vol:?}/$old"; fi
}
kubelet_volume "$T/secret" "$T/rendered" 1
cp "$T/rendered/"v*.pem "$T/secret/"
prom_port=$(ahpa_free_port)
pids=""
ports=""
for replica in 1 2; do
    port=$(ahpa_free_port)
    mapfile -t args < <(deployment_args "$T/self-signed.yaml" "$T/secret" "$port" "http://127.0.0.1:$prom_port")
    args+=(--tls-reload-interval=1s)   # (10 s in the Deployment: the default)
    # No cluster here to review requests: an adapter with delegated
    # authorization refuses to start standalone unless told to allow all.
    args+=(--authorization-mode=AlwaysAllow)
    "$AHPA_ADAPTER" "${args[@]}" >"$T/adapter$replica.log" 2>&1 &
    pid=$!
    ahpa_track "$pid"
    pids="$pids $pid"
    ports="$ports $port"
done
for port in $ports; do
    ahpa_check "a replica started with the Deployment's args is verified by the APIService caBundle (port $port)" \
        ahpa_wait_for 10 curl -sf --cacert "$T/secret/v1beta1.custom.metrics.k8s.io.pem" \
        --resolve "$SVC_DNS:$port:127.0.0.1" "https://$SVC_DNS:$port/readyz"
done
port=$(echo $ports | cut -d' ' -f1)
served=$(curl -sf --cacert "$T/secret/ca.crt" --resolve "$SVC_DNS:$port:127.0.0.1" "https://$SVC_DNS:$port/apis" |
    python3 -c 'import json,sys; print(",".join(v["groupVersion"] for g in json.load(sys.stdin)["groups"] for v in g["versions"]))')
ahpa_contains "the adapter serves its group-versions" "$served" "metrics.alibabacloud.com/v1beta1"
if [ -z "$served" ]; then cat "$T/adapter1.log"; fi
# make-certs.sh again (same CA), the Secret updated, the kubelet swapping
# ..data: both replicas serve the new certificate without a restart, and
# the caBundle already in the APIServices still verifies them.
served_fp() { # PORT: SHA-256 fingerprint of the certificate served as the Service's name
    openssl s_client -connect "127.0.0.1:$1" -servername "$SVC_DNS" </dev/null 2>/dev/null |
        openssl x509 -noout -fingerprint -sha256 2>/dev/null
}
fp_is() { [ "$(served_fp "$1")" = "$2" ]; }
mkdir -p "$T/renew"
cp "$C/ca.crt" "$C/ca.key" "$T/renew/"
"$M/overlays/self-signed/make-certs.sh" --out "$T/renew" >/dev/null 2>&1
new_fp=$(openssl x509 -in "$T/renew/tls.crt" -noout -fingerprint -sha256)
kubelet_volume "$T/secret" "$T/renew" 2
for p in $ports; do
    ahpa_check "replica on port $p serves the renewed certificate (kubelet's ..data swap)" \
        ahpa_wait_for 10 fp_is "$p" "$new_fp"
    ahpa_check "... still verified by the caBundle applied before" \
        curl -sf --cacert "$T/secret/v1beta1.custom.metrics.k8s.io.pem" \
        --resolve "$SVC_DNS:$p:127.0.0.1" "https://$SVC_DNS:$p/readyz" -o /dev/null
done
# They run with the Deployment's 15 s shutdown delay: during it /readyz
# fails at once (endpoints drop the pod); a second signal ends them.
kill -TERM $pids 2>/dev/null
ahpa_check "after SIGTERM a replica's /readyz fails at once, as the delay intends" \
    ahpa_wait_for 3 sh -c "! curl -sf --cacert '$T/secret/ca.crt' --resolve '$SVC_DNS:$port:127.0.0.1' 'https://$SVC_DNS:$port/readyz'"
ahpa_equals "... while it still serves requests" "$(curl -s --cacert "$T/secret/ca.crt" \
    --resolve "$SVC_DNS:$port:127.0.0.1" "https://$SVC_DNS:$port/livez")" ok
kill -TERM $pids 2>/dev/null
for pid in $pids; do ahpa_stop_pid "$pid"; done
no_external=$(echo "$served" | tr , '\n' | grep -v '^external\.metrics' | paste -sd,)

# --- the checks on each rendering ----------------------------------------------------
run_check() { # DESCRIPTION ARGS...
    local what=$1 log
    shift
    log=$($CHECK "$@" 2>&1)
    if [ $? -eq 0 ]; then
        ahpa_pass "$what ($(echo "$log" | grep -c '^ok:') checks)"
    else
        ahpa_fail "$what: $(echo "$log" | grep -v '^ok:' | head -20)"
    fi
}
run_check "self-signed: objects" objects "$T/self-signed.yaml" --help-text "$T/help.txt" --served "$served"
run_check "cert-manager: objects" objects "$T/cert-manager.yaml" --help-text "$T/help.txt" --served "$served" \
    --route cert-manager
run_check "with components: objects" objects "$T/with-components.yaml" --help-text "$T/help.txt" \
    --served "$served"
run_check "no-external-metrics: objects" objects "$T/no-external.yaml" --help-text "$T/help.txt" \
    --served "$no_external" --route cert-manager
ahpa_contains "no-external-metrics turns the group off" "$(cat "$T/no-external.yaml")" \
    "--enable-external-metrics=false"
version=$(sed -n 's/^project(ahpa-metrics-adapter VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")
ahpa_contains "the Deployment's image is image/build.sh's default tag" "$(cat "$T/self-signed.yaml")" \
    "image: ahpa-metrics-adapter:$version"
ahpa_contains "the README's overlay sets the image" "$(cat "$T/with-components.yaml")" \
    "image: REGISTRY/ahpa-metrics-adapter:$version"
ahpa_contains "... and adds a flag" "$(cat "$T/with-components.yaml")" "--prometheus-header=X-Scope-OrgID=tenant-a"
ahpa_contains "prometheus-token mounts the token from a Secret" "$(cat "$T/with-components.yaml")" \
    "secretName: ahpa-metrics-adapter-prometheus-token"
for r in self-signed cert-manager with-components; do
    run_check "$r: RBAC grants every call in api-calls.txt and nothing more" \
        rbac "$T/$r.yaml" --calls "$src/lib/kube/api-calls.txt" --help-text "$T/help.txt"
done
run_check "every resource the source names is in api-calls.txt" \
    scan --calls "$src/lib/kube/api-calls.txt" --source "$src"

# --- the checks can fail -----------------------------------------------------------------
must_fail() { # DESCRIPTION ARGS...
    local what=$1 log
    shift
    log=$($CHECK "$@" 2>&1)
    if [ $? -ne 0 ]; then
        ahpa_pass "$what ($(echo "$log" | grep '^FAIL' | head -1 | cut -c1-140))"
    else
        ahpa_fail "$what: the check passed"
    fi
}
mutate() { # IN OUT PYTHON-STATEMENTS (run on each document d)
    python3 - "$1" "$2" "$3" <<'PY'
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
for d in docs:
    exec(sys.argv[3])
yaml.safe_dump_all(docs, open(sys.argv[2], "w"))
PY
}
mutate "$T/self-signed.yaml" "$T/m1.yaml" '
if d["kind"] == "ClusterRole" and d["metadata"]["name"] == "ahpa-metrics-adapter":
    d["rules"] = [r for r in d["rules"] if r["resources"] != ["events"]]'
must_fail "a call without a rule fails" rbac "$T/m1.yaml" --calls "$src/lib/kube/api-calls.txt"
mutate "$T/self-signed.yaml" "$T/m2.yaml" '
if d["kind"] == "ClusterRole" and d["metadata"]["name"] == "ahpa-metrics-adapter":
    d["rules"].append({"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]})'
must_fail "a rule without a call fails" rbac "$T/m2.yaml" --calls "$src/lib/kube/api-calls.txt"
mutate "$T/self-signed.yaml" "$T/m3.yaml" '
if d["kind"] == "Deployment":
    d["spec"]["template"]["spec"]["containers"][0]["args"].append("--no-such-flag=1")'
must_fail "a flag the adapter does not know fails" objects "$T/m3.yaml" --help-text "$T/help.txt" \
    --served "$served"
mutate "$T/self-signed.yaml" "$T/m4.yaml" '
if d["kind"] == "APIService" and d["metadata"]["name"].startswith("v1beta1.metrics"):
    d["spec"]["caBundle"] = ""'
must_fail "an empty caBundle fails" objects "$T/m4.yaml" --help-text "$T/help.txt" --served "$served"
mutate "$T/self-signed.yaml" "$T/m5.yaml" '
if d["kind"] == "APIService":
    d["spec"]["insecureSkipTLSVerify"] = True'
must_fail "insecureSkipTLSVerify fails" objects "$T/m5.yaml" --help-text "$T/help.txt" --served "$served"
mutate "$T/self-signed.yaml" "$T/m6.yaml" '
if d["kind"] == "Deployment":
    d["spec"]["template"]["spec"]["containers"][0]["securityContext"]["readOnlyRootFilesystem"] = False'
must_fail "a writable root filesystem fails" objects "$T/m6.yaml" --help-text "$T/help.txt" --served "$served"
mkdir -p "$T/fakesrc/lib/fake"
cat >"$T/fakesrc/lib/fake/fake.c" <<'C'
static const struct ahpa_kube_resource ds = {"apps", "v1", "daemonsets", "DaemonSet", true};
int f(void) { return ahpa_kube_get(c, &ds, ns, name, "scale", &out, err); }
C
must_fail "a resource the source uses without a line in api-calls.txt fails" \
    scan --calls "$src/lib/kube/api-calls.txt" --source "$T/fakesrc"

# --- applied to the test apiserver -----------------------------------------------------
# Stand-ins for the CRDs cert-manager and prometheus-operator install
# (schemas open): the test apiserver serves their kinds once they exist.
cat >"$T/operator-crds.yaml" <<'YAML'
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: certificates.cert-manager.io}
spec:
  group: cert-manager.io
  scope: Namespaced
  names: {kind: Certificate, listKind: CertificateList, plural: certificates, singular: certificate}
  versions:
  - name: v1
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: issuers.cert-manager.io}
spec:
  group: cert-manager.io
  scope: Namespaced
  names: {kind: Issuer, listKind: IssuerList, plural: issuers, singular: issuer}
  versions:
  - name: v1
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: servicemonitors.monitoring.coreos.com}
spec:
  group: monitoring.coreos.com
  scope: Namespaced
  names: {kind: ServiceMonitor, listKind: ServiceMonitorList, plural: servicemonitors, singular: servicemonitor}
  versions:
  - name: v1
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
YAML
ahpa_start_kubeapi "$T/kubeapi"
k() { HOME="$T" KUBECONFIG="$KUBEAPI_KUBECONFIG" kubectl --request-timeout=10s "$@" </dev/null; }

apply_count() { # NAME ARGS...: applies, checks one line per rendered object
    local name=$1 out want got
    shift
    out=$(k apply "$@" 2>&1)
    want=$(grep -c '^kind:' "$T/$name.yaml")
    got=$(echo "$out" | grep -cE ' (created|configured|unchanged)$')
    ahpa_equals "kubectl apply $name: every object accepted ($want)" "$got" "$want"
    [ "$got" = "$want" ] || echo "$out" | grep -vE ' (created|configured|unchanged)$' | head -10
}
out=$(k apply -f "$M/crd/" 2>&1)
ahpa_equals "kubectl apply -f manifests/crd/ applies the CRD alone (its Kustomization file is skipped)" "$out" \
    "customresourcedefinition.apiextensions.k8s.io/advancedhorizontalpodautoscalers.autoscaling.alibabacloud.com created"
# The install guide's commands, without cert-manager.
k apply -f "$src/manifests/examples/application-intelligence.yaml" >/dev/null 2>&1
apply_count self-signed -k "$M/overlays/self-signed"
for gv in $(echo "$served" | tr , ' '); do
    name="${gv#*/}.${gv%/*}"
    k get apiservice "$name" -o jsonpath='{.spec.caBundle}' | base64 -d >"$T/stored-$name.pem"
done
k get secret -n kube-system ahpa-metrics-adapter-serving-cert -o jsonpath='{.data.tls\.crt}' |
    base64 -d >"$T/stored-tls.crt"
for f in "$T"/stored-v*.pem; do
    ahpa_check "stored $(basename "$f" .pem | sed 's/^stored-//') caBundle verifies the stored Secret's certificate" \
        verify_cert "$f" "$T/stored-tls.crt"
done
ahpa_equals "the Deployment is stored with 2 replicas" \
    "$(k get deploy -n kube-system ahpa-metrics-adapter -o jsonpath='{.spec.replicas}')" 2
out=$(k apply -f "$src/manifests/examples/fib-gpu.yaml" 2>&1)
ahpa_contains "the seed's AHPA applies" "$out" "created"
out=$(k get ahpa 2>&1)
ahpa_contains "kubectl get ahpa prints the seed's columns" "$out" "STRATEGY"
ahpa_contains "... and the seed's object" "$out" "fib-gpu"
# With cert-manager (its CRDs first, as cert-manager's install makes them).
k apply -f "$T/operator-crds.yaml" >/dev/null 2>&1
apply_count cert-manager -k "$M/overlays/cert-manager"
ahpa_equals "the APIService carries cainjector's annotation" \
    "$(k get apiservice v1beta1.custom.metrics.k8s.io -o jsonpath='{.metadata.annotations.cert-manager\.io/inject-ca-from}')" \
    "kube-system/ahpa-metrics-adapter-serving-cert"
apply_count with-components -f "$T/with-components.yaml"
ahpa_equals "the ServiceMonitor is stored" \
    "$(k get servicemonitor -n kube-system -o name 2>&1)" "servicemonitor.monitoring.coreos.com/ahpa-metrics-adapter"
out=$(k delete -k "$M/overlays/cert-manager" 2>&1)
ahpa_contains "the uninstall command deletes the objects" "$out" 'deleted'
ahpa_equals "no Deployment and no APIService are left" \
    "$(k get deploy -n kube-system -o name 2>&1; k get apiservice -o name 2>&1)" ""

ahpa_finish
