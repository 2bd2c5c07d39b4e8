#!/usr/bin/python3
"""An EMULATION of the Kubernetes HPA controller, for the tests (NOT the HPA).

No kube-controller-manager runs in these tests. This program does, for ONE
autoscaling/v2 HorizontalPodAutoscaler whose metrics are all External,
what kube-controller-manager's horizontal-pod-autoscaler controller does
at each sync (every --period seconds; the controller's default is 15 s,
--horizontal-pod-autoscaler-sync-period). The rules below are those of the
controller's source and the Kubernetes documentation ("Horizontal Pod
Autoscaling", "Algorithm details", "Configurable scaling behavior"); the
names in brackets are the controller's.

 1. Read the HPA and the scale subresource of its scaleTargetRef:
    spec replicas = scale.spec.replicas, status replicas =
    scale.status.replicas, the pod selector = scale.status.selector.
    The first time it sees the HPA it records spec replicas as a
    recommendation [recordInitialRecommendation].
 2. Out of bounds first: spec replicas 0 with minReplicas != 0 -> scaling
    disabled, nothing written; above maxReplicas -> maxReplicas; below
    minReplicas -> minReplicas (no metrics, no behavior).
 3. Otherwise per metric (External only) read the external metrics API
    (external.metrics.k8s.io/v1beta1, the metric's selector) and sum the
    items' values in milli-units (usage); with the per-direction tolerances
    (behavior.scaleUp/scaleDown.tolerance, else --default-tolerance, the
    controller's --horizontal-pod-autoscaler-tolerance 0.1) a ratio r is
    "within" when 1 - down <= r <= 1 + up:
      AverageValue [GetExternalPerPodMetricReplicas]:
          r = usage / (target x status replicas);
          within -> status replicas, else ceil(usage / target)
      Value [GetExternalMetricReplicas]:
          r = usage / target; spec replicas 0 -> ceil(r); within -> spec
          replicas; else ceil(r x ready pods) (pods of the selector that are
          Running with condition Ready True)
    The largest proposal wins. If every metric failed, or some failed and
    the proposal is below spec replicas, nothing is written this sync.
 4. behavior set [normalizeDesiredReplicasWithBehaviors]: the API's
    defaults for what is missing (scaleUp: window 0 s, Max of 100 % and 4
    pods per 15 s; scaleDown: window --downscale-stabilization (the
    controller's 300 s), 100 % per 15 s; selectPolicy Max), then
      stabilisation: over the recommendations of the last window seconds
        (this one included) up = the smallest of the scale-up window,
        down = the largest of the scale-down window; the result is spec
        replicas raised to up, then lowered to down;
      rate: scaling up, at most the policies' limit (per policy: the
        replicas at the start of its periodSeconds = current - pods added
        + pods removed in the period; Pods: start + value, Percent:
        ceil(start x (1 + value/100)); Max takes the largest limit, Min
        the smallest, Disabled forbids), never below current, at most
        maxReplicas; scaling down, symmetric (Pods: start - value,
        Percent: floor(start x (1 - value/100)); Max takes the smallest),
        never above current, at least minReplicas.
    behavior absent [normalizeDesiredReplicas]: the largest recommendation
    of the last --downscale-stabilization seconds, then at most
    max(2 x current, 4) and maxReplicas, at least minReplicas.
    The metric proposal (before stabilisation) is recorded as a
    recommendation either way.
 5. Write scale.spec.replicas (PUT of the scale subresource) when the
    result differs from spec replicas, and with behavior set record the
    change as a scale-up or scale-down event for the rate policies.

Not emulated: other metric types (Resource, Pods, Object, ContainerResource:
a non-External metric is an error), the HPA's status and conditions, Events,
the HPA's own informers and back-off. A sync whose API calls fail prints an
error line and changes nothing, as the controller retries at the next one.

Every sync prints one JSON line on stdout:
  t (unix s), current (spec replicas), status_replicas, metric (usage
  summed over the metrics, or null), proposal (from the metrics, before
  behavior), desired (after it), scaled (whether it wrote), min, max,
  tolerance [up, down], direction ("up", "down" or null).
A sync that failed prints {"t", "error"}.

Standard library only.
"""

import argparse
import decimal
import json
import math
import ssl
import sys
import time
import urllib.parse
import urllib.request

SUFFIX = {"n": decimal.Decimal("1e-9"), "u": decimal.Decimal("1e-6"),
          "m": decimal.Decimal("1e-3"), "": decimal.Decimal(1), "k": decimal.Decimal(10) ** 3,
          "M": decimal.Decimal(10) ** 6, "G": decimal.Decimal(10) ** 9,
          "T": decimal.Decimal(10) ** 12, "P": decimal.Decimal(10) ** 15,
          "E": decimal.Decimal(10) ** 18, "Ki": decimal.Decimal(2 ** 10),
          "Mi": decimal.Decimal(2 ** 20), "Gi": decimal.Decimal(2 ** 30),
          "Ti": decimal.Decimal(2 ** 40), "Pi": decimal.Decimal(2 ** 50),
          "Ei": decimal.Decimal(2 ** 60)}


def quantity(s):
    """A Kubernetes Quantity ("1", "500m", "2Gi", "1e3", 1.5) as a Decimal."""
    if isinstance(s, (int, float)):
        return decimal.Decimal(repr(s))
    s = s.strip()
    try:
        d = decimal.Decimal(s)   # plain and decimal-exponent forms ("1e3")
        if d.is_finite():
            return d
    except decimal.InvalidOperation:
        pass
    for suf in sorted(SUFFIX, key=len, reverse=True):
        if suf and s.endswith(suf):
            return decimal.Decimal(s[:-len(suf)]) * SUFFIX[suf]
    raise decimal.InvalidOperation("not a quantity: %r" % s)


def milli(s):
    """Quantity.MilliValue(): the value in thousandths, rounded up."""
    return int((quantity(s) * 1000).to_integral_value(rounding=decimal.ROUND_CEILING))


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


def scaling_rules(behavior, direction, downscale_window):
    """One direction of a set behavior, with the API's and the controller's
    defaults for what it leaves out."""
    if direction == "scaleUp":
        d = {"stabilizationWindowSeconds": 0, "selectPolicy": "Max",
             "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15},
                          {"type": "Pods", "value": 4, "periodSeconds": 15}]}
    else:
        d = {"stabilizationWindowSeconds": downscale_window, "selectPolicy": "Max",
             "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}]}
    for k, v in ((behavior or {}).get(direction) or {}).items():
        if v is not None and not (k == "policies" and not v):
            d[k] = v
    return d


class Emulator:
    def __init__(self, a):
        self.a = a
        self.kube = Client(a.kube_url, a.kube_ca, a.kube_cert, a.kube_key)
        self.adapter = Client(a.adapter_url, a.adapter_ca, a.adapter_cert, a.adapter_key)
        self.recommendations = None  # [(t, replicas)], None until the HPA is first seen
        self.up_events = []          # [(t, pods added)]
        self.down_events = []        # [(t, pods removed)]

    # ---- metrics ----------------------------------------------------------

    def metric_milli(self, ns, ext):
        name = ext["metric"]["name"]
        q = urllib.parse.urlencode({"labelSelector": selector_string(ext["metric"].get("selector"))})
        doc = self.adapter.call("GET", "/apis/external.metrics.k8s.io/v1beta1/namespaces/%s/%s?%s"
                                % (urllib.parse.quote(ns), urllib.parse.quote(name), q))
        items = doc.get("items") or []
        if not items:
            raise LookupError("no metrics returned from external metrics API for %s" % name)
        return sum(milli(i["value"]) for i in items)

    def ready_pods(self, ns, selector):
        if not selector:
            raise LookupError("the scale subresource has no selector")
        doc = self.kube.call("GET", "/api/v1/namespaces/%s/pods?%s"
                             % (ns, urllib.parse.urlencode({"labelSelector": selector})))
        pods = doc.get("items") or []
        if not pods:
            raise LookupError("no pods returned by selector while calculating replica count")
        return sum(1 for p in pods if (p.get("status") or {}).get("phase") == "Running" and any(
            c.get("type") == "Ready" and c.get("status") == "True"
            for c in (p.get("status") or {}).get("conditions") or []))

    @staticmethod
    def within(ratio, tol):
        up, down = tol
        return (1.0 - down) <= ratio <= (1.0 + up)

    def proposal(self, ns, spec, spec_n, status_n, selector, tol):
        """(replicas the metrics ask for or None, usage summed or None,
        metrics that failed)."""
        best, usage_sum, failed = None, None, 0
        for m in spec.get("metrics") or []:
            try:
                if m.get("type") != "External":
                    raise ValueError("only External metrics are emulated, not %s" % m.get("type"))
                ext = m["external"]
                usage = self.metric_milli(ns, ext)
                target = ext["target"]
                if target.get("type") == "AverageValue":
                    per_pod = milli(target["averageValue"])
                    want = status_n
                    if status_n == 0 or not self.within(usage / (per_pod * status_n), tol):
                        want = math.ceil(usage / per_pod)
                elif target.get("type") == "Value":
                    ratio = usage / milli(target["value"])
                    if spec_n == 0:
                        want = math.ceil(ratio)
                    elif self.within(ratio, tol):
                        want = spec_n
                    else:
                        want = math.ceil(ratio * self.ready_pods(ns, selector))
                else:
                    raise ValueError("target type %s" % target.get("type"))
            except (LookupError, OSError, ValueError, KeyError, TypeError, ArithmeticError) as e:
                print(json.dumps({"metric_error": str(e)}), file=sys.stderr, flush=True)
                failed += 1
                continue
            usage_sum = usage if usage_sum is None else usage_sum + usage
            best = want if best is None else max(best, want)
        return best, (None if usage_sum is None else usage_sum / 1000.0), failed

    # ---- behavior -----------------------------------------------------------

    def record(self, now, desired, old):
        """Record this sync's recommendation in the slot of one that is old
        for every window (old(t) true), else as a new one, as the controller
        does."""
        slot = None
        for i, (t, _) in enumerate(self.recommendations):
            if old(t):
                slot = i
        if slot is None:
            self.recommendations.append((now, desired))
        else:
            self.recommendations[slot] = (now, desired)

    def stabilize(self, now, desired, current, up, down):
        up_cut = now - up["stabilizationWindowSeconds"]
        down_cut = now - down["stabilizationWindowSeconds"]
        up_rec = down_rec = desired
        for t, r in self.recommendations:
            if t > up_cut:
                up_rec = min(up_rec, r)
            if t > down_cut:
                down_rec = max(down_rec, r)
        self.record(now, desired, lambda t: t < up_cut and t < down_cut)
        rec = current
        if rec < up_rec:
            rec = up_rec
        if rec > down_rec:
            rec = down_rec
        return rec

    @staticmethod
    def changed(events, now, period):
        return sum(n for t, n in events if t > now - period)

    def period_start(self, now, current, period):
        return (current - self.changed(self.up_events, now, period)
                + self.changed(self.down_events, now, period))

    def up_limit(self, now, current, rules):
        if rules.get("selectPolicy") == "Disabled":
            return current
        pick = min if rules.get("selectPolicy") == "Min" else max
        limits = []
        for p in rules["policies"]:
            start = self.period_start(now, current, p["periodSeconds"])
            limits.append(start + p["value"] if p["type"] == "Pods"
                          else math.ceil(start * (1 + p["value"] / 100.0)))
        return pick(limits)

    def down_limit(self, now, current, rules):
        if rules.get("selectPolicy") == "Disabled":
            return current
        pick = max if rules.get("selectPolicy") == "Min" else min
        limits = []
        for p in rules["policies"]:
            start = self.period_start(now, current, p["periodSeconds"])
            limits.append(start - p["value"] if p["type"] == "Pods"
                          else int(start * (1 - p["value"] / 100.0)))
        return pick(limits)

    def with_behavior(self, now, proposal, current, lo, hi, up, down):
        desired = self.stabilize(now, proposal, current, up, down)
        if desired > current:
            return min(desired, hi, max(self.up_limit(now, current, up), current))
        if desired < current:
            return max(desired, lo, min(self.down_limit(now, current, down), current))
        return desired

    def without_behavior(self, now, proposal, current, lo, hi):
        cut = now - self.a.downscale_stabilization
        desired = max([proposal] + [r for t, r in self.recommendations if t >= cut])
        self.record(now, proposal, lambda t: t < cut)
        top = min(hi, max(2 * current, 4))
        return lo if desired < lo else top if desired > top else desired

    def remember_scale(self, now, before, after):
        if after > before:
            self.up_events.append((now, after - before))
        elif after < before:
            self.down_events.append((now, before - after))
        longest = 1800  # periodSeconds is at most 1800
        self.up_events = [(t, n) for t, n in self.up_events if t > now - longest]
        self.down_events = [(t, n) for t, n in self.down_events if t > now - longest]

    # ---- one sync ---------------------------------------------------------

    def step(self):
        now = time.time()
        ns, a = self.a.namespace, self.a
        hpa = self.kube.call("GET", "/apis/autoscaling/v2/namespaces/%s/horizontalpodautoscalers/%s"
                             % (ns, a.hpa))
        spec = hpa["spec"]
        behavior = spec.get("behavior")
        up = scaling_rules(behavior, "scaleUp", a.downscale_stabilization)
        down = scaling_rules(behavior, "scaleDown", a.downscale_stabilization)
        tol = (float(quantity(up["tolerance"])) if "tolerance" in up else a.default_tolerance,
               float(quantity(down["tolerance"])) if "tolerance" in down else a.default_tolerance)
        path = scale_path(ns, spec["scaleTargetRef"])
        scale = self.kube.call("GET", path)
        current = int((scale.get("spec") or {}).get("replicas") or 0)
        status_n = int((scale.get("status") or {}).get("replicas") or 0)
        selector = (scale.get("status") or {}).get("selector", "")
        if self.recommendations is None:
            self.recommendations = [(now, current)]
        lo, hi = int(spec.get("minReplicas", 1)), int(spec["maxReplicas"])
        line = {"t": round(now, 3), "current": current, "status_replicas": status_n,
                "min": lo, "max": hi, "tolerance": tol, "metric": None, "proposal": None,
                "desired": current, "scaled": False, "direction": None}
        if current == 0 and lo != 0:
            print(json.dumps(line), flush=True)   # scaling is disabled at 0 replicas
            return
        if current > hi or current < lo:
            desired = hi if current > hi else lo
        else:
            proposal, usage, failed = self.proposal(ns, spec, current, status_n, selector, tol)
            line["metric"], line["proposal"] = usage, proposal
            n_metrics = len(spec.get("metrics") or [])
            if proposal is None or failed >= n_metrics or (failed and proposal < current):
                line["error"] = "%d of %d metrics invalid: no scaling" % (failed, n_metrics)
                print(json.dumps(line), flush=True)
                return
            if behavior is None:
                desired = self.without_behavior(now, proposal, current, lo, hi)
            else:
                desired = self.with_behavior(now, proposal, current, lo, hi, up, down)
        line["desired"] = desired
        if desired != current:
            scale["spec"]["replicas"] = desired
            self.kube.call("PUT", path, scale)
            if behavior is not None:
                self.remember_scale(now, current, desired)
            line["scaled"] = True
            line["direction"] = "up" if desired > current else "down"
        print(json.dumps(line), flush=True)
        return line


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
    p.add_argument("--steps", type=int, default=0, help="stop after this many syncs (0: never)")
    p.add_argument("--until-up-and-down", action="store_true",
                   help="stop after the sync that completes, after the first sync, at least "
                        "one scale-up and one scale-down (still at most --steps syncs)")
    p.add_argument("--default-tolerance", type=float, default=0.1,
                   help="the controller's --horizontal-pod-autoscaler-tolerance (0.1)")
    p.add_argument("--downscale-stabilization", type=float, default=300.0,
                   help="the controller's --horizontal-pod-autoscaler-downscale-"
                        "stabilization, seconds (300)")
    a = p.parse_args(argv)
    emu = Emulator(a)
    n, next_t, seen = 0, time.monotonic(), set()
    while a.steps == 0 or n < a.steps:
        try:
            line = emu.step()
        except (OSError, ValueError, KeyError, TypeError, ArithmeticError) as e:  # next sync
            print(json.dumps({"t": round(time.time(), 3), "error": str(e)}), flush=True)
            line = None
        if n > 0 and line and line.get("direction"):
            seen.add(line["direction"])
        n += 1
        if a.until_up_and_down and seen >= {"up", "down"}:
            break
        next_t += a.period
        time.sleep(max(0.0, next_t - time.monotonic()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
