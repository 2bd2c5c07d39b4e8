#!/usr/bin/python3
"""Synthetic cAdvisor, kube-state-metrics and external series of one
Deployment as OpenMetrics text for promtool backfill (test/lib/prometheus.sh).

Output: integer-second timestamps every --step seconds over --hours, ending
at --end (aligned down to the step), for the Deployment --name in
--namespace with --pods pods named <name>-6d5f8c7b9-<i>:

  container_cpu_usage_seconds_total{namespace,pod,container}  counter
      container "app": grows at the per-pod rate of the hour segment
      container "POD" (the sandbox) and "" (the pod's cgroup): grow much
      faster, so a query that does not leave them out is visibly wrong
  container_memory_working_set_bytes{namespace,pod,container}  gauge, same
      three containers
  kube_pod_container_resource_requests{namespace,pod,container,resource,unit}
      cpu --cpu-request cores, memory --memory-request bytes (container "app")
  kube_deployment_status_replicas{namespace,deployment}  --pods
  queue_depth{namespace,queue}  gauge: queue "jobs" the segment's value,
      queue "other" 1000 (an External selector must leave it out)

Values are constant within each hour segment counted back from --end, so
the newest segment (the last hour) is flat: rate(...[5m]) of a counter that
grows linearly is exactly its slope, and a test can compute the HPA's
answer by hand. The segment k hours before the end uses factor
1 + 0.25 * sin(k) on the base values, so the history is not flat.

--summary FILE writes the newest segment's values as JSON:
  {"pods", "cpu_per_pod", "memory_per_pod", "cpu_request", "memory_request",
   "queue_jobs"}

Size: 3 hours x 4 pods at 60 s: about 8 k lines, backfill well under 1 s.
Standard library only; run with /usr/bin/python3.
"""

import argparse
import json
import math
import sys
import time


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--hours", type=int, default=3)
    ap.add_argument("--step", type=int, default=60)
    ap.add_argument("--end", type=int, default=None, help="unix seconds (default: now)")
    ap.add_argument("--namespace", default="default")
    ap.add_argument("--name", default="web")
    ap.add_argument("--pods", type=int, default=4)
    ap.add_argument("--cpu", type=float, default=0.6, help="cores per pod, newest hour")
    ap.add_argument("--memory", type=float, default=700 * 2**20, help="bytes per pod, newest hour")
    ap.add_argument("--cpu-request", type=float, default=0.5)
    ap.add_argument("--memory-request", type=float, default=512 * 2**20)
    ap.add_argument("--queue", type=float, default=57, help="queue_depth of queue jobs, newest hour")
    ap.add_argument("--output", required=True)
    ap.add_argument("--summary", default=None)
    a = ap.parse_args()
    end = int(a.end if a.end is not None else time.time())
    end -= end % a.step
    start = end - a.hours * 3600
    times = list(range(start + a.step, end + 1, a.step))

    def factor(t):
        k = (end - t) // 3600  # 0 for the newest hour
        return 1 + 0.25 * math.sin(k)

    pods = ["%s-6d5f8c7b9-%d" % (a.name, i) for i in range(a.pods)]
    ns = a.namespace
    out = []
    out.append("# TYPE container_cpu_usage_seconds counter")
    for pod in pods:
        for container, mult in (("app", 1.0), ("POD", 20.0), ("", 40.0)):
            total = 0.0
            prev = start
            for t in times:
                total += a.cpu * factor(t) * mult * (t - prev)
                prev = t
                out.append('container_cpu_usage_seconds_total{namespace="%s",pod="%s",'
                           'container="%s"} %.6f %d' % (ns, pod, container, total, t))
    out.append("# TYPE container_memory_working_set_bytes gauge")
    for pod in pods:
        for container, mult in (("app", 1.0), ("POD", 5.0), ("", 10.0)):
            for t in times:
                out.append('container_memory_working_set_bytes{namespace="%s",pod="%s",'
                           'container="%s"} %.0f %d' % (ns, pod, container,
                                                        a.memory * factor(t) * mult, t))
    out.append("# TYPE kube_pod_container_resource_requests gauge")
    for pod in pods:
        for res, unit, v in (("cpu", "core", a.cpu_request), ("memory", "byte", a.memory_request)):
            for t in times:
                out.append('kube_pod_container_resource_requests{namespace="%s",pod="%s",'
                           'container="app",resource="%s",unit="%s"} %.6f %d'
                           % (ns, pod, res, unit, v, t))
    out.append("# TYPE kube_deployment_status_replicas gauge")
    for t in times:
        out.append('kube_deployment_status_replicas{namespace="%s",deployment="%s"} %d %d'
                   % (ns, a.name, a.pods, t))
    out.append("# TYPE queue_depth gauge")
    for queue, base, flat in (("jobs", a.queue, False), ("other", 1000.0, True)):
        for t in times:
            out.append('queue_depth{namespace="%s",queue="%s"} %.3f %d'
                       % (ns, queue, base if flat else base * factor(t), t))
    out.append("# EOF")
    with open(a.output, "w") as f:
        f.write("\n".join(out) + "\n")
    if a.summary:
        with open(a.summary, "w") as f:
            json.dump({"pods": a.pods, "cpu_per_pod": a.cpu, "memory_per_pod": a.memory,
                       "cpu_request": a.cpu_request, "memory_request": a.memory_request,
                       "queue_jobs": a.queue}, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
