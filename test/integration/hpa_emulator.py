#!/usr/bin/python3
"""An emulator of the Kubernetes HPA controller, for tests (NOT the HPA).

It does what kube-controller-manager's horizontal-pod-autoscaler controller
does with ONE autoscaling/v2 HorizontalPodAutoscaler whose metrics are all
External, every --period seconds (the controller's default is 15 s,
--horizontal-pod-autoscaler-sync-period):

 1. reads the HPA object and the scale subresource of its scaleTargetRef
    from the Kubernetes API (currentReplicas = scale.spec.replicas);
 2. reads each External metric from the external metrics API
    (external.metrics.k8s.io/v1beta1, HTTPS, a client certificate) with the
    metric's selector, and sums the items' values, as the HPA does;
 3. per metric, the replica calculator's formula
      AverageValue: usageRatio = usage / (target x currentReplicas);
                    desired = ceil(usage / target)
      Value:        usageRatio = usage / target;
                    desired = ceil(usageRatio x currentReplicas)
    unless usageRatio is within the tolerance (1 - down <= ratio <= 1 + up;
    per direction from behavior.scaleUp/scaleDown.tolerance, else
    --default-tolerance, the controller's 0.1); the largest proposal wins;
 4. the behavior: the stabilisation windows (scale-up takes the smallest,
    scale-down the largest recommendation of its window), then the rate
    policies (Pods / Percent per periodSeconds, selectPolicy Max / Min /
    Disabled) against the scale events of the period, then min/maxReplicas;
    defaults as the API's (scale-up: 0 s window, max(100 %, 4 pods) per
    15 s; scale-down: 300 s window, 100 % per 15 s);
 5. writes scale.spec.replicas when the result differs.

Not emulated: other metric types, the readiness and missing-pod corrections
of Resource/Pods metrics, conditions and the HPA's status. When no metric
can be read the HPA keeps the current count; so does this.

Every period it prints one JSON line: t (unix s), metric (usage summed, or
null), current, proposal (from metrics, before behavior), desired, scaled
(whether it wrote), min, max, tolerance [up, down].

Standard library only.
"""

import argparse
import json
import math
import ssl
import sys
import time
import urllib.parse
import urllib.request

SUFFIX = {"n": 1e-9, "u": 1e-6, "m": 1e-3, "": 1.0, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12,
          "P": 1e15, "E": 1e18, "Ki": 2.0 ** 10, "Mi": 2.0 ** 20, "Gi": 2.0 ** 30,
          "Ti": 2.0 ** 40, "Pi": 2.0 ** 50, "Ei": 2.0 ** 60}


def quantity(s):
    """A Kubernetes Quantity ("1", "500m", "2Gi", 1.5) as a float."""
    if isinstance(s, (int, float)):
        return float(s)
    for suf in sorted(SUFFIX, key=len, reverse=True):
        if suf and s.endswith(suf):
            return float(s[:-len(suf)]) * SUFFIX[suf]
    return float(s)


class Client:
    def __init__(self, base, ca, cert, key, timeout=5.0):
        self.base = base.rstrip("/")
        self.ctx = ssl.create_default_context(cafile=ca)
        self.ctx.check_hostname = False  # 127.0.0.1 against test certificates
        if cert:
            self.ctx.load_cert_chain(cert, key)
        self.timeout = timeout

    def call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method)
        req.add_header("Accept", "application/json")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(req, context=self.ctx, timeout=self.timeout) as r:
            return json.loads(r.read(1 << 22))


def scale_path(ns, ref):
    api = ref.get("apiVersion", "apps/v1")
    group_version = ("/apis/" + api) if "/" in api else ("/api/" + api)
    plural = ref["kind"].lower() + "s"  # Deployment, StatefulSet, ReplicaSet
    return "%s/namespaces/%s/%s/%s/scale" % (group_version, ns, plural, ref["name"])


def selector_string(sel):
    parts = ["%s=%s" % kv for kv in sorted((sel or {}).get("matchLabels", {}).items())]
    for e in (sel or {}).get("matchExpressions", []):
        op = {"In": "in", "NotIn": "notin"}.get(e["operator"])
        if op:
            parts.append("%s %s (%s)" % (e["key"], op, ",".join(e["values"])))
        elif e["operator"] == "Exists":
            parts.append(e["key"])
        else:
            parts.append("!" + e["key"])
    return ",".join(parts)


def scaling_rules(behavior, direction):
    """The HPA's defaults for a direction, overlaid with the object's."""
    if direction == "scaleUp":
        d = {"stabilizationWindowSeconds": 0, "selectPolicy": "Max",
             "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15},
                          {"type": "Pods", "value": 4, "periodSeconds": 15}]}
    else:
        d = {"stabilizationWindowSeconds": 300, "selectPolicy": "Max",
             "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}]}
    d.update((behavior or {}).get(direction) or {})
    return d


class Emulator:
    def __init__(self, a):
        self.a = a
        self.kube = Client(a.kube_url, a.kube_ca, a.kube_cert, a.kube_key)
        self.adapter = Client(a.adapter_url, a.adapter_ca, a.adapter_cert, a.adapter_key)
        self.recommendations = []   # (t, recommendation)
        self.events = []            # (t, replicas changed by: +n / -n)

    def metric_usage(self, ns, ext):
        name = ext["metric"]["name"]
        q = urllib.parse.urlencode({"labelSelector": selector_string(ext["metric"].get("selector"))})
        doc = self.adapter.call("GET", "/apis/external.metrics.k8s.io/v1beta1/namespaces/%s/%s?%s"
                                % (ns, name, q))
        items = doc.get("items", [])
        if not items:
            raise LookupError("no items for %s" % name)
        return sum(quantity(i["value"]) for i in items)

    @staticmethod
    def within(ratio, tol_up, tol_down):
        return (1.0 - tol_down) <= ratio <= (1.0 + tol_up)

    def proposal(self, ns, spec, current, tol):
        """The replica count the metrics ask for, or None (none readable)."""
        best, usage_sum = None, None
        for m in spec.get("metrics", []):
            if m.get("type") != "External":
                raise ValueError("only External metrics are emulated, not %s" % m.get("type"))
            ext = m["external"]
            try:
                usage = self.metric_usage(ns, ext)
            except (LookupError, OSError, ValueError) as e:
                print(json.dumps({"metric_error": str(e)}), file=sys.stderr)
                continue
            usage_sum = usage if usage_sum is None else usage_sum + usage
            target = ext["target"]
            if target["type"] == "AverageValue":
                per_pod = quantity(target["averageValue"])
                ratio = usage / (per_pod * current)
                want = current if self.within(ratio, *tol) else math.ceil(usage / per_pod)
            elif target["type"] == "Value":
                ratio = usage / quantity(target["value"])
                want = current if self.within(ratio, *tol) else math.ceil(ratio * current)
            else:
                raise ValueError("target type %s" % target["type"])
            best = want if best is None else max(best, want)
        return best, usage_sum

    def stabilize(self, now, desired, current, up, down):
        up_cut = now - up["stabilizationWindowSeconds"]
        down_cut = now - down["stabilizationWindowSeconds"]
        up_rec = down_rec = desired
        for t, r in self.recommendations:
            if t > up_cut:
                up_rec = min(up_rec, r)
            if t > down_cut:
                down_rec = max(down_rec, r)
        keep = max(up["stabilizationWindowSeconds"], down["stabilizationWindowSeconds"])
        self.recommendations = [(t, r) for t, r in self.recommendations if t > now - keep]
        self.recommendations.append((now, desired))
        rec = current
        if rec < up_rec:
            rec = up_rec
        if rec > down_rec:
            rec = down_rec
        return rec

    def changed_in(self, now, period, sign):
        return sum(abs(n) for t, n in self.events if t > now - period and (n > 0) == (sign > 0))

    def up_limit(self, now, current, rules):
        if rules.get("selectPolicy") == "Disabled":
            return current
        limit = None
        for p in rules["policies"]:
            start = current - self.changed_in(now, p["periodSeconds"], +1)
            v = start + p["value"] if p["type"] == "Pods" else \
                math.ceil(start * (1 + p["value"] / 100.0))
            if limit is None or (v > limit if rules.get("selectPolicy", "Max") == "Max" else v < limit):
                limit = v
        return limit

    def down_limit(self, now, current, rules):
        if rules.get("selectPolicy") == "Disabled":
            return current
        limit = None
        for p in rules["policies"]:
            start = current + self.changed_in(now, p["periodSeconds"], -1)
            v = start - p["value"] if p["type"] == "Pods" else \
                int(start * (1 - p["value"] / 100.0))
            if limit is None or (v < limit if rules.get("selectPolicy", "Max") == "Max" else v > limit):
                limit = v
        return limit

    def step(self):
        now = time.time()
        ns, a = self.a.namespace, self.a
        hpa = self.kube.call("GET", "/apis/autoscaling/v2/namespaces/%s/horizontalpodautoscalers/%s"
                             % (ns, a.hpa))
        spec = hpa["spec"]
        up = scaling_rules(spec.get("behavior"), "scaleUp")
        down = scaling_rules(spec.get("behavior"), "scaleDown")
        tol = (quantity(up["tolerance"]) if "tolerance" in up else a.default_tolerance,
               quantity(down["tolerance"]) if "tolerance" in down else a.default_tolerance)
        path = scale_path(ns, spec["scaleTargetRef"])
        scale = self.kube.call("GET", path)
        current = int(scale.get("spec", {}).get("replicas", 0))
        lo, hi = int(spec.get("minReplicas", 1)), int(spec["maxReplicas"])
        line = {"t": round(now, 3), "current": current, "min": lo, "max": hi, "tolerance": tol,
                "metric": None, "proposal": None, "desired": current, "scaled": False}
        if current == 0 and lo != 0:
            print(json.dumps(line), flush=True)   # scaling is disabled at 0 replicas
            return
        proposal, usage = self.proposal(ns, spec, current, tol)
        line["metric"], line["proposal"] = usage, proposal
        if proposal is not None:
            desired = self.stabilize(now, proposal, current, up, down)
            if desired > current:
                desired = min(desired, max(self.up_limit(now, current, up), current), hi)
            elif desired < current:
                desired = max(desired, min(self.down_limit(now, current, down), current), lo)
            desired = min(max(desired, lo), hi)
            line["desired"] = desired
            if desired != current:
                scale["spec"]["replicas"] = desired
                self.kube.call("PUT", path, scale)
                self.events.append((now, desired - current))
                line["scaled"] = True
        print(json.dumps(line), flush=True)


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--kube-url", required=True)
    p.add_argument("--kube-ca", required=True)
    p.add_argument("--kube-cert")
    p.add_argument("--kube-key")
    p.add_argument("--adapter-url", required=True)
    p.add_argument("--adapter-ca", required=True)
    p.add_argument("--adapter-cert")
    p.add_argument("--adapter-key")
    p.add_argument("--namespace", default="default")
    p.add_argument("--hpa", required=True, help="the HorizontalPodAutoscaler's name")
    p.add_argument("--period", type=float, default=15.0, help="seconds between syncs (15)")
    p.add_argument("--steps", type=int, default=0, help="stop after this many (0: never)")
    p.add_argument("--default-tolerance", type=float, default=0.1)
    a = p.parse_args(argv)
    emu = Emulator(a)
    n, next_t = 0, time.monotonic()
    while a.steps == 0 or n < a.steps:
        try:
            emu.step()
        except (OSError, ValueError, KeyError) as e:   # as the controller: try next period
            print(json.dumps({"t": round(time.time(), 3), "error": str(e)}), flush=True)
        n += 1
        next_t += a.period
        time.sleep(max(0.0, next_t - time.monotonic()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
