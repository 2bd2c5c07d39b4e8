#!/usr/bin/python3
"""AdvancedHorizontalPodAutoscaler YAML for the benchmarks: N objects, one
per Deployment "<prefix>-<i, 4 digits>" (the names gen_fleet_om.py gives),
written as multi-document files of --per-file objects each into DIR.
Shaped like manifests/examples/fib-gpu.yaml (gpu Utilization target 20,
quantile 95, scaleUpForward 180, observer), with time-of-day bounds that are
in force now, so the cron path runs too.

  gen_ahpas.py DIR -n N [--per-file K] [--prefix wl] [--namespace default]
"""

import argparse
import os
import sys

DOC = """apiVersion: autoscaling.alibabacloud.com/v1beta1
kind: AdvancedHorizontalPodAutoscaler
metadata:
  name: {name}
  namespace: {ns}
spec:
  metrics:
  - type: Resource
    resource:
      name: gpu
      target:
        type: Utilization
        averageUtilization: 20
  minReplicas: 0
  maxReplicas: 100
  prediction:
    quantile: 95
    scaleUpForward: 180
  scaleStrategy: observer
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {name}
  instanceBounds:
  - startTime: "2024-01-01 00:00:00"
    endTime: "2035-01-01 00:00:00"
    bounds:
    - cron: "* 0-8 ? * *"
      minReplicas: 1
      maxReplicas: 50
    - cron: "* 9-23 ? * *"
      minReplicas: 2
      maxReplicas: 50
"""


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("dir")
    p.add_argument("-n", type=int, default=1000)
    p.add_argument("--per-file", type=int, default=100)
    p.add_argument("--prefix", default="wl")
    p.add_argument("--namespace", default="default")
    a = p.parse_args(argv)
    os.makedirs(a.dir, exist_ok=True)
    for start in range(0, a.n, a.per_file):
        docs = [DOC.format(name="%s-%04d" % (a.prefix, i), ns=a.namespace)
                for i in range(start, min(a.n, start + a.per_file))]
        with open(os.path.join(a.dir, "ahpa-%04d.yaml" % start), "w") as f:
            f.write("---\n".join(docs))


if __name__ == "__main__":
    main(sys.argv[1:])
