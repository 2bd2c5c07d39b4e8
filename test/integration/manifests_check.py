#!/usr/bin/env python3
"""Checks rendered manifests (kubectl kustomize output) against the adapter.

    manifests_check.py objects RENDERED.yaml --help-text FILE --served GV,... [--route self-signed|cert-manager]
    manifests_check.py rbac RENDERED.yaml --calls lib/kube/api-calls.txt --help-text FILE
    manifests_check.py scan --calls lib/kube/api-calls.txt --source ROOT

Prints one "ok: ..." or "FAIL: ..." line per check and exits 1 when any
check failed. Used by test_manifests.sh.

objects: every document has apiVersion, kind and name, namespaced objects
    live in kube-system; the Deployment is hardened as the install guide
    promises and its flags are all in `ahpa-metrics-adapter --help`;
    Service, PDB and Deployment select the same pods; one APIService per
    served group-version, each pointing at the Service, none skipping TLS
    verification, each with a caBundle (self-signed route) or cert-manager's
    inject-ca-from annotation naming the Certificate of the mounted Secret.
rbac: the roles bound to the adapter's service account (its own, plus the
    built-in system:auth-delegator and extension-apiserver-authentication-
    reader, whose rules are Kubernetes' bootstrap policy) grant every call
    of the calls file, and the adapter's own roles grant nothing else; the
    aggregated view/edit roles and the /metrics grant exist.
scan: every Kubernetes resource the C source names (struct
    ahpa_kube_resource tables, API paths) has a line in the calls file, and
    every kube call whose resource and subresource can be read from the
    source is covered by a line (verb by verb).
"""
import argparse
import base64
import os
import re
import sys

import yaml

SA = ("kube-system", "ahpa-metrics-adapter")
OWN_NS = "kube-system"
SECRET = "ahpa-metrics-adapter-serving-cert"

# Kubernetes' bootstrap policy for the two built-in roles the adapter binds
# (plugin/pkg/auth/authorizer/rbac/bootstrappolicy): what a real cluster
# grants through them.
BUILTIN_CLUSTER_ROLES = {
    "system:auth-delegator": [
        {"apiGroups": ["authentication.k8s.io"], "resources": ["tokenreviews"], "verbs": ["create"]},
        {"apiGroups": ["authorization.k8s.io"], "resources": ["subjectaccessreviews"],
         "verbs": ["create"]},
    ],
}
BUILTIN_ROLES = {
    ("kube-system", "extension-apiserver-authentication-reader"): [
        {"apiGroups": [""], "resources": ["configmaps"],
         "resourceNames": ["extension-apiserver-authentication"], "verbs": ["get", "list", "watch"]},
    ],
}

CLUSTER_SCOPED = {
    "Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition", "APIService",
    "PriorityClass", "ClusterIssuer",
}

failures = 0


def ok(msg):
    print("ok: " + msg)


def fail(msg):
    global failures
    failures += 1
    print("FAIL: " + msg)


def check(cond, msg):
    (ok if cond else fail)(msg)
    return cond


def load(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d]


def find(docs, kind, name=None):
    return [d for d in docs if d.get("kind") == kind
            and (name is None or d.get("metadata", {}).get("name") == name)]


def help_flags(path):
    """Flag names and defaults from `--help` (lines '  --name type  text (default X)')."""
    flags = {}
    with open(path) as f:
        for line in f:
            m = re.match(r"\s+--([a-z0-9][a-z0-9-]*)\b(.*)$", line)
            if m:
                d = re.search(r"\(default ([^)]*)\)\s*$", m.group(2))
                flags[m.group(1)] = d.group(1) if d else None
    return flags


# --- objects ----------------------------------------------------------------

def check_objects(docs, args):
    flags = help_flags(args.help_text)
    check(len(flags) > 20, "--help lists the adapter's flags (%d)" % len(flags))
    for d in docs:
        md = d.get("metadata") or {}
        what = "%s/%s" % (d.get("kind"), md.get("name"))
        if not (d.get("apiVersion") and d.get("kind") and md.get("name")):
            fail("%s has apiVersion, kind and metadata.name" % what)
        if d["kind"] not in CLUSTER_SCOPED and md.get("namespace") != OWN_NS:
            fail("%s is in %s (namespace %r)" % (what, OWN_NS, md.get("namespace")))
    ok("%d objects, each with apiVersion, kind and name, namespaced ones in %s" % (len(docs), OWN_NS))
    crds = find(docs, "CustomResourceDefinition", "advancedhorizontalpodautoscalers.autoscaling.alibabacloud.com")
    if check(len(crds) == 1, "the AHPA CRD is there"):
        check_crd(crds[0])
    check(find(docs, "ServiceAccount", SA[1]), "the ServiceAccount is there")

    deps = find(docs, "Deployment", "ahpa-metrics-adapter")
    if not check(len(deps) == 1, "one Deployment"):
        return
    dep = deps[0]
    spec = dep["spec"]
    pod = spec["template"]["spec"]
    labels = spec["template"]["metadata"]["labels"]
    sel = spec["selector"]["matchLabels"]
    check(all(labels.get(k) == v for k, v in sel.items()), "the Deployment's selector matches its pods")
    check(spec.get("replicas", 1) >= 2, "at least 2 replicas (%s)" % spec.get("replicas"))
    check(pod.get("serviceAccountName") == SA[1], "pods run as the adapter's ServiceAccount")
    check(pod.get("priorityClassName") == "system-cluster-critical", "priorityClassName system-cluster-critical")
    tsc = pod.get("topologySpreadConstraints") or []
    check(any(t.get("topologyKey") == "kubernetes.io/hostname" and
              t.get("labelSelector", {}).get("matchLabels") == sel for t in tsc),
          "replicas spread over nodes")
    psc = pod.get("securityContext") or {}
    check(psc.get("runAsNonRoot") is True and psc.get("seccompProfile", {}).get("type") == "RuntimeDefault",
          "pod securityContext: non-root, seccomp RuntimeDefault")
    c = pod["containers"][0]
    csc = c.get("securityContext") or {}
    check(csc.get("readOnlyRootFilesystem") is True and csc.get("allowPrivilegeEscalation") is False
          and csc.get("capabilities", {}).get("drop") == ["ALL"],
          "container securityContext: read-only root, no privilege escalation, all capabilities dropped")
    check(psc.get("runAsUser", csc.get("runAsUser", 0)) != 0, "a non-zero runAsUser")
    res = c.get("resources") or {}
    check(res.get("requests", {}).get("cpu") and res.get("requests", {}).get("memory")
          and res.get("limits", {}).get("memory"), "resources: cpu and memory requests, memory limit")
    for probe, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/livez")):
        hg = (c.get(probe) or {}).get("httpGet") or {}
        check(hg.get("path") == path and hg.get("scheme") == "HTTPS", "%s on HTTPS %s" % (probe, path))

    argv = c.get("args") or []
    names = {}
    for a in argv:
        m = re.match(r"--([a-z0-9-]+)(?:=(.*))?$", a)
        if not check(m is not None, "argument %r is a --flag=value" % a):
            continue
        names[m.group(1)] = m.group(2)
    unknown = sorted(n for n in names if n not in flags)
    check(not unknown, "every Deployment flag is in --help (unknown: %s)" % (unknown or "none"))
    check("shutdown-delay-duration" in names, "--shutdown-delay-duration is set")
    delay = parse_seconds(names.get("shutdown-delay-duration", "0"))
    timeout = parse_seconds(names.get("shutdown-timeout", flags.get("shutdown-timeout") or "0"))
    grace = pod.get("terminationGracePeriodSeconds", 30)
    check(delay + timeout < grace, "shutdown delay %gs + timeout %gs < terminationGracePeriodSeconds %s"
          % (delay, timeout, grace))
    if "leader-elect" in flags:
        le = (names["leader-elect"] or "true") if "leader-elect" in names else flags["leader-elect"]
        check(le == "true", "leader election is on (--leader-elect %s)" % le)
    else:
        print("note: this build has no --leader-elect flag yet: nothing to turn on")
    # Prometheus from the seed's ConfigMap (or a flag patched in).
    env = {e["name"]: e for e in c.get("env") or []}
    url = names.get("prometheus-url") or ""
    ref = (env.get("PROMETHEUS_URL", {}).get("valueFrom") or {}).get("configMapKeyRef") or {}
    check("prometheus-url" in names or "application-intelligence-file" in names,
          "Prometheus is configured (--prometheus-url or --application-intelligence-file)")
    if "$(PROMETHEUS_URL)" in url:
        check(ref.get("name") == "application-intelligence" and ref.get("key") == "prometheusUrl",
              "$(PROMETHEUS_URL) comes from ConfigMap application-intelligence, key prometheusUrl")
    for n, e in env.items():
        vf = e.get("valueFrom") or {}
        if "token" in n.lower() or "token" in str((vf.get("configMapKeyRef") or {}).get("key", "")):
            check("configMapKeyRef" not in vf, "%s does not come from a ConfigMap" % n)
    # The serving certificate: one Secret, mounted by every replica.
    vols = {v["name"]: v for v in pod.get("volumes") or []}
    mounts = {m["name"]: m["mountPath"] for m in c.get("volumeMounts") or []}
    cert_vol = [n for n, v in vols.items() if (v.get("secret") or {}).get("secretName") == SECRET]
    check(len(cert_vol) == 1, "the Deployment mounts Secret %s" % SECRET)
    if cert_vol:
        mp = mounts.get(cert_vol[0], "")
        check(names.get("tls-cert-file") == mp + "/tls.crt" and
              names.get("tls-private-key-file") == mp + "/tls.key",
              "--tls-cert-file/--tls-private-key-file are the Secret's tls.crt/tls.key")
    check(not any(v.get("emptyDir") is not None and mounts.get(n, "").endswith("cert") for n, v in vols.items()),
          "no per-pod certificate on an emptyDir")
    ports = {p.get("name"): p["containerPort"] for p in c.get("ports") or []}
    sp = str(ports.get("https"))
    check(names.get("secure-port") == sp, "--secure-port matches the container port (%s)" % sp)

    svcs = find(docs, "Service", "ahpa-metrics-adapter")
    if check(len(svcs) == 1, "one Service"):
        svc = svcs[0]
        check(svc["spec"]["selector"] == sel, "the Service selects the Deployment's pods")
        check(any(p.get("targetPort") in ("https", ports.get("https")) and p.get("port") == 443
                  for p in svc["spec"]["ports"]), "the Service's port 443 targets the https container port")
    pdbs = find(docs, "PodDisruptionBudget")
    check(len(pdbs) == 1 and pdbs[0]["spec"]["selector"]["matchLabels"] == sel
          and (pdbs[0]["spec"].get("minAvailable") or 0) >= 1,
          "a PodDisruptionBudget keeps at least one replica")

    check_apiservices(docs, args, svcs[0] if svcs else None)


def check_crd(crd):
    """The CRD carries the parser's cross-field rules as CEL, and its status
    the subresource and a map list of conditions."""
    v = crd["spec"]["versions"][0]
    schema = v["schema"]["openAPIV3Schema"]
    rules = []

    def walk(node, path):
        for r in node.get("x-kubernetes-validations") or []:
            rules.append((path, r.get("rule", "")))
        for k, sub in (node.get("properties") or {}).items():
            walk(sub, path + "." + k)
        if "items" in node:
            walk(node["items"], path + "[]")
    walk(schema, "")
    want = {
        ".spec": "self.maxReplicas >= self.minReplicas",
        ".spec.metrics[]": "has(self.resource) : has(self.external)",
        ".spec.metrics[].resource.target": "has(self.averageUtilization) : has(self.averageValue)",
        ".spec.metrics[].external.target": "has(self.value) : has(self.averageValue)",
        ".spec.prediction.quantile": "self != 1.0",
        ".spec.instanceBounds[].bounds[]": "self.maxReplicas >= self.minReplicas",
    }
    for path, frag in want.items():
        check(any(p == path and frag in r for p, r in rules), "CRD CEL rule at %s: %s" % (path, frag))
    for path, r in rules:
        check(r.count("(") == r.count(")") and '"' not in r.replace('"Resource"', "").replace(
            '"Utilization"', "").replace('"Value"', ""), "CEL rule at %s is balanced and quotes only enum values" % path)
    st = schema["properties"]["status"]["properties"]
    check(v.get("subresources", {}).get("status") == {}, "the CRD has the status subresource")
    check(st["conditions"].get("x-kubernetes-list-type") == "map"
          and st["conditions"].get("x-kubernetes-list-map-keys") == ["type"]
          and "type" in st["conditions"]["items"].get("required", []),
          "status.conditions is a map list keyed by type")
    for f in ("currentReplicas", "desiredReplicas", "proactiveReplicas", "reactiveReplicas", "currentMetric",
              "minPods", "maxPods", "lastScaleTime", "observedGeneration", "conditions"):
        check(f in st, "the status schema keeps %s (the controller writes it)" % f)


def parse_seconds(s):
    total, n = 0.0, ""
    for m in re.finditer(r"([0-9.]+)(ms|s|m|h)", s or ""):
        n = m.group(0)
        total += float(m.group(1)) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[m.group(2)]
    return total if n else 0.0


def check_apiservices(docs, args, svc):
    served = set(args.served.split(",")) if args.served else set()
    apis = find(docs, "APIService")
    have = {"%s/%s" % (a["spec"]["group"], a["spec"]["version"]) for a in apis}
    check(have == served, "one APIService per served group-version (have %s, served %s)"
          % (sorted(have), sorted(served)))
    for a in apis:
        name = a["metadata"]["name"]
        s = a["spec"]
        check(name == "%s.%s" % (s["version"], s["group"]), "%s is named version.group" % name)
        ref = s.get("service") or {}
        check(svc is not None and ref.get("name") == svc["metadata"]["name"]
              and ref.get("namespace") == svc["metadata"]["namespace"] and ref.get("port", 443) == 443,
              "%s points at the Service" % name)
        check(not s.get("insecureSkipTLSVerify"), "%s verifies TLS (no insecureSkipTLSVerify)" % name)
        if args.route == "cert-manager":
            ann = (a["metadata"].get("annotations") or {}).get("cert-manager.io/inject-ca-from", "")
            ns, _, cert = ann.partition("/")
            certs = [d for d in find(docs, "Certificate", cert) if d["metadata"].get("namespace") == ns]
            check(len(certs) == 1 and certs[0]["spec"].get("secretName") == SECRET,
                  "%s: cainjector fills caBundle from Certificate %s (Secret %s)" % (name, ann, SECRET))
            check("caBundle" not in s, "%s: no caBundle field for apply to reset" % name)
        else:
            ca = s.get("caBundle") or ""
            try:
                pem = base64.b64decode(ca, validate=False).decode()
            except Exception:  # noqa: BLE001 - reported below
                pem = ""
            check("BEGIN CERTIFICATE" in pem, "%s has a caBundle (a PEM certificate)" % name)
    if args.route == "cert-manager":
        certs = [d for d in find(docs, "Certificate") if d["spec"].get("secretName") == SECRET]
        if check(len(certs) == 1, "a Certificate makes Secret %s" % SECRET):
            dns = set(certs[0]["spec"].get("dnsNames") or [])
            want = {"%s.%s.svc" % (svc["metadata"]["name"], svc["metadata"]["namespace"])} if svc else set()
            check(want <= dns, "the Certificate names the Service (%s)" % sorted(want))
            check("server auth" in (certs[0]["spec"].get("usages") or ["server auth"]),
                  "the Certificate may serve TLS")
            # Its issuer chain: a CA issuer whose CA Certificate is issued by a
            # self-signed issuer, all in the same namespace.
            ns = certs[0]["metadata"].get("namespace")
            ref = certs[0]["spec"].get("issuerRef") or {}
            issuers = [d for d in find(docs, ref.get("kind", "Issuer"), ref.get("name"))
                       if d["metadata"].get("namespace") == ns]
            ca_secret = ((issuers[0]["spec"].get("ca") or {}).get("secretName")) if issuers else None
            ca_certs = [d for d in find(docs, "Certificate") if d["spec"].get("secretName") == ca_secret]
            check(len(issuers) == 1 and ca_secret and len(ca_certs) == 1 and ca_certs[0]["spec"].get("isCA"),
                  "the serving Certificate's issuer is a CA issuer backed by a CA Certificate")
            if ca_certs:
                cref = ca_certs[0]["spec"].get("issuerRef") or {}
                roots = [d for d in find(docs, cref.get("kind", "Issuer"), cref.get("name"))
                         if d["metadata"].get("namespace") == ns]
                check(len(roots) == 1 and "selfSigned" in roots[0]["spec"], "the CA Certificate is self-signed")
    else:
        secrets = [d for d in find(docs, "Secret", SECRET)]
        if check(len(secrets) == 1, "the overlay makes Secret %s" % SECRET):
            data = secrets[0].get("data") or {}
            check(all(data.get(k) for k in ("tls.crt", "tls.key", "ca.crt")), "the Secret has tls.crt, tls.key, ca.crt")
            check(set(data) == {"tls.crt", "tls.key", "ca.crt"}, "... and nothing else (the CA's key stays out)")
            check(secrets[0].get("type") == "kubernetes.io/tls", "the Secret is of type kubernetes.io/tls")
            if args.out_dir:
                for k in ("tls.crt", "tls.key", "ca.crt"):
                    with open(os.path.join(args.out_dir, k), "wb") as f:
                        f.write(base64.b64decode(data.get(k, "")))
                for a in apis:
                    with open(os.path.join(args.out_dir, a["metadata"]["name"] + ".pem"), "wb") as f:
                        f.write(base64.b64decode(a["spec"].get("caBundle", "")))


# --- rbac -------------------------------------------------------------------

def read_calls(path):
    calls = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            parts = line.split()
            if len(parts) < 5:
                fail("%s:%d: want verbs group resource namespace resourceNames" % (path, n))
                continue
            verbs, group, resource, ns, names = parts[:5]
            calls.append({
                "verbs": verbs.split(","), "group": "" if group == "core" else group,
                "resource": resource, "ns": OWN_NS if ns == "own" else ns,
                "names": [] if names == "-" else names.split(","), "line": n,
            })
    return calls


def bound_rules(docs):
    """(rules, scope namespace or None, role name, own) for each role bound to the SA."""
    out = []
    for b in find(docs, "ClusterRoleBinding") + find(docs, "RoleBinding"):
        subj = [(s.get("namespace"), s.get("name")) for s in b.get("subjects") or []
                if s.get("kind") == "ServiceAccount"]
        if SA not in subj:
            continue
        ref = b["roleRef"]
        scope = b["metadata"].get("namespace") if b["kind"] == "RoleBinding" else None
        if ref["kind"] == "ClusterRole":
            own = find(docs, "ClusterRole", ref["name"])
            rules = own[0].get("rules") or [] if own else BUILTIN_CLUSTER_ROLES.get(ref["name"])
        else:
            own = [r for r in find(docs, "Role", ref["name"]) if r["metadata"].get("namespace") == scope]
            rules = own[0].get("rules") or [] if own else BUILTIN_ROLES.get((scope, ref["name"]))
        if rules is None:
            fail("%s %s binds unknown %s %s" % (b["kind"], b["metadata"]["name"], ref["kind"], ref["name"]))
            continue
        out.append((rules, scope, ref["name"], bool(own)))
    return out


def rule_allows(rule, verb, group, resource, name):
    def has(lst, v):
        return v in lst or "*" in lst
    if not (has(rule.get("verbs", []), verb) and has(rule.get("apiGroups", []), group)
            and has(rule.get("resources", []), resource)):
        return False
    rn = rule.get("resourceNames") or []
    return not rn or (name is not None and name in rn)


def check_rbac(docs, args):
    calls = read_calls(args.calls)
    check(len(calls) > 5, "%s lists the adapter's calls (%d lines)" % (args.calls, len(calls)))
    bound = bound_rules(docs)
    check(bound, "roles are bound to %s/%s" % SA)
    for call in calls:
        for verb in call["verbs"]:
            # A call limited to names must be allowed for each name; an
            # unlimited call (e.g. create, list) by a rule without names.
            for name in call["names"] or [None]:
                granted = any(rule_allows(r, verb, call["group"], call["resource"], name)
                              and (scope is None or call["ns"] == scope)
                              for rules, scope, _, _ in bound for r in rules)
                check(granted, "RBAC grants %s %s%s%s%s (line %d)" % (
                    verb, call["group"] or "core", "/" + call["resource"],
                    " in " + call["ns"] if call["ns"] != "*" else "",
                    " name " + name if name else "", call["line"]))
    # Least privilege: the adapter's own rules grant nothing the calls do not use.
    for rules, scope, role, own in bound:
        if not own:
            continue
        for r in rules:
            for key in ("verbs", "apiGroups", "resources"):
                if "*" in r.get(key, []):
                    fail("%s: no wildcards in %s" % (role, key))
            if r.get("nonResourceURLs"):
                fail("%s: no nonResourceURLs for the adapter itself" % role)
            for verb in r.get("verbs", []):
                for g in r.get("apiGroups", []):
                    for res in r.get("resources", []):
                        used = any(verb in c["verbs"] and c["group"] == g and c["resource"] == res
                                   and (scope is None or c["ns"] in (scope, "*"))
                                   and (c["ns"] == "*" or scope is not None)
                                   and (not r.get("resourceNames") or
                                        set(r["resourceNames"]) <= set(c["names"]))
                                   for c in calls)
                        check(used, "%s grants %s %s/%s only because a call needs it" % (role, verb, g or "core", res))
    flags = help_flags(args.help_text) if args.help_text else {}
    lease = [c for c in calls if c["resource"] == "leases" and c["names"]]
    if "leader-elect-resource-name" in flags and lease:
        check(flags["leader-elect-resource-name"] in lease[0]["names"],
              "the Lease named in RBAC is --leader-elect-resource-name's default (%s)"
              % flags["leader-elect-resource-name"])
    # For users: aggregated read and write roles, /metrics for scrapers.
    def agg(label, group, res, verb):
        return any(r["metadata"].get("labels", {}).get("rbac.authorization.k8s.io/aggregate-to-" + label) == "true"
                   and any(rule_allows(x, verb, group, res, None) for x in r.get("rules") or [])
                   for r in find(docs, "ClusterRole"))
    for label in ("view", "edit", "admin"):
        check(agg(label, "metrics.alibabacloud.com", "predictionsobserver", "get") and
              agg(label, "autoscaling.alibabacloud.com", "advancedhorizontalpodautoscalers", "list"),
              "aggregate-to-%s: AHPAs and predictionsobserver readable" % label)
    for label in ("edit", "admin"):
        check(agg(label, "autoscaling.alibabacloud.com", "advancedhorizontalpodautoscalers", "create"),
              "aggregate-to-%s: AHPAs writable" % label)
    check(not agg("view", "autoscaling.alibabacloud.com", "advancedhorizontalpodautoscalers", "create"),
          "aggregate-to-view: AHPAs not writable")
    check(any("/metrics" in x.get("nonResourceURLs", []) and "get" in x.get("verbs", [])
              for r in find(docs, "ClusterRole") for x in r.get("rules") or []),
          "a ClusterRole grants get on /metrics")


# --- scan -------------------------------------------------------------------

CORE = {"pods", "configmaps", "events", "secrets", "services", "endpoints", "namespaces", "nodes",
        "serviceaccounts", "persistentvolumeclaims", "replicationcontrollers"}
TABLE = re.compile(r'\{\s*"([a-z0-9.-]*)"\s*,\s*"(v[0-9]+(?:(?:alpha|beta)[0-9]+)?)"\s*,\s*"([a-z][a-z0-9]*)"')
DESIGNATED = re.compile(r'\.group\s*=\s*"([a-z0-9.-]*)"[^{};]*?\.resource\s*=\s*"([a-z][a-z0-9]*)"', re.S)
APIS_PATH = re.compile(r'"/apis/([a-z0-9-]+(?:\.[a-z0-9-]+)+)/(v[0-9a-z]+)/(?:namespaces/[^/"]+/)?([a-z]+)(?:/[^/"]+/([a-z]+))?')
CORE_PATH = re.compile(r'"/api/v1/(?:namespaces/[^/"]+/)?([a-z]+)(?:/[^/"]+/([a-z]+))?')
NAMED_TABLE = re.compile(r'struct\s+ahpa_kube_resource\s+(?:const\s+)?(\w+)\s*(\[\s*\])?\s*=\s*\{')
CALL = re.compile(r'\bahpa_kube_(get|list|create|update|patch|delete|informer_new)\s*\(')
VERBS = {"get": ["get"], "list": ["list"], "create": ["create"], "update": ["update"],
         "patch": ["patch"], "delete": ["delete"], "informer_new": ["list", "watch"]}


def strip_comments(text):
    return re.sub(r"/\*.*?\*/|//[^\n]*", lambda m: re.sub(r"[^\n]", " ", m.group(0)), text, flags=re.S)


def call_args(text, start):
    """The top-level comma-separated arguments of the call whose '(' is at start."""
    depth, cur, out, i = 0, "", [], start
    while i < len(text):
        ch = text[i]
        if ch == '"':
            j = i + 1
            while j < len(text) and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            cur += text[i:j + 1]
            i = j + 1
            continue
        if ch in "([{":
            depth += 1
            if depth == 1:
                i += 1
                continue
        elif ch in ")]}":
            depth -= 1
            if depth == 0:
                out.append(cur.strip())
                return out
        elif ch == "," and depth == 1:
            out.append(cur.strip())
            cur = ""
            i += 1
            continue
        cur += ch
        i += 1
    return out


def check_scan(args):
    calls = read_calls(args.calls)
    listed = {(c["group"], c["resource"].split("/")[0]) for c in calls}
    found = {}   # (group, resource) -> first place
    sites = []
    n_files = 0
    for top in ("lib", "cmd"):
        for dirpath, _, files in os.walk(os.path.join(args.source, top)):
            for fn in sorted(files):
                if not fn.endswith(".c"):
                    continue
                path = os.path.join(dirpath, fn)
                rel = os.path.relpath(path, args.source)
                with open(path, errors="replace") as f:
                    text = strip_comments(f.read())
                n_files += 1
                tables = {}
                for m in TABLE.finditer(text):
                    found.setdefault((m.group(1), m.group(3)), rel)
                for m in DESIGNATED.finditer(text):
                    found.setdefault((m.group(1), m.group(2)), rel)
                for m in APIS_PATH.finditer(text):
                    found.setdefault((m.group(1), m.group(3)), rel)
                for m in CORE_PATH.finditer(text):
                    if m.group(1) in CORE:
                        found.setdefault(("", m.group(1)), rel)
                for m in NAMED_TABLE.finditer(text):
                    body = call_args(text, m.end() - 1)
                    t = TABLE.search("{" + ",".join(body))
                    if t and not m.group(2):
                        tables[m.group(1)] = (t.group(1), t.group(3))
                for m in CALL.finditer(text):
                    a = call_args(text, m.end() - 1)
                    line = text.count("\n", 0, m.start()) + 1
                    sites.append((rel, line, m.group(1), a, tables))
    ok("scanned %d C files under lib/ and cmd/" % n_files)
    for (g, r), where in sorted(found.items()):
        check((g, r) in listed, "%s (%s/%s) is in %s" % (where, g or "core", r, os.path.basename(args.calls)))
    resolved = 0
    for rel, line, fn, a, tables in sites:
        if rel.startswith("lib/kube/") and fn != "informer_new":
            continue  # the client's own definitions and internal calls
        res = None
        if fn == "informer_new":
            continue  # the resource is in the options struct; covered by the table scan
        if len(a) > 1:
            m = re.match(r"&\s*(\w+)$", a[1])
            if m and m.group(1) in tables:
                res = tables[m.group(1)]
        if res is None:
            continue
        sub = None
        if fn in ("get", "update", "patch") and len(a) > 4:
            sm = re.match(r'"([a-z]+)"$', a[4])
            if sm:
                sub = sm.group(1)
            elif a[4] != "NULL":
                continue
        resource = res[1] + ("/" + sub if sub else "")
        resolved += 1
        for verb in VERBS[fn]:
            check(any(c["group"] == res[0] and c["resource"] == resource and verb in c["verbs"] for c in calls),
                  "%s:%d ahpa_kube_%s: %s %s/%s is in the calls file" % (rel, line, fn, verb, res[0] or "core", resource))
    print("note: %d kube call sites, %d resolved to a resource table" % (len(sites), resolved))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["objects", "rbac", "scan"])
    p.add_argument("rendered", nargs="?")
    p.add_argument("--help-text")
    p.add_argument("--served", default="")
    p.add_argument("--route", default="self-signed")
    p.add_argument("--calls")
    p.add_argument("--source")
    p.add_argument("--out-dir", help="objects: write the Secret's files and each caBundle here")
    args = p.parse_args()
    if args.mode == "objects":
        check_objects(load(args.rendered), args)
    elif args.mode == "rbac":
        check_rbac(load(args.rendered), args)
    else:
        check_scan(args)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
