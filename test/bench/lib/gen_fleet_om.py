#!/usr/bin/python3
"""Synthetic GPU series of a fleet of Deployments, as OpenMetrics text for
promtool backfill (the benchmarks' data; the integration tests use the real
trace through test/lib/gen_gpu_openmetrics.py).

  gen_fleet_om.py --deployments D --pods P --gpus G --minutes M [--step S]
                  [--end now] [--namespace default] [--prefix wl]
                  [--extra] [--output FILE]

Deployment i is "<prefix>-<i, 4 digits>"; its pods are
"<deployment>-<9 chars>-<5 chars>" (lower-case letters and digits, as a
ReplicaSet names them), so the controller's default usage query
(pod=~"<name>-[a-z0-9]+-[a-z0-9]+") finds them. Series, one sample every
--step seconds over the last --minutes ending at --end (aligned down):

  DCGM_FI_DEV_GPU_UTIL{Hostname,UUID,container,device,gpu,modelName,namespace,pod}
      per GPU: a daily sine (phase per Deployment) plus deterministic noise,
      clipped to [0, 100], one decimal
  kube_pod_labels{namespace,pod,label_app,label_pod_template_hash} 1   per pod
  kube_deployment_status_replicas / kube_deployment_spec_replicas = P
                                                               per Deployment
  with --extra, per GPU: DCGM_FI_DEV_FB_USED, DCGM_FI_DEV_FB_FREE (MiB) and
      DCGM_FI_DEV_POWER_USAGE (W), derived from the utilisation

Deterministic (no randomness between runs). Standard library only.
"""

import argparse
import hashlib
import math
import sys
import time

ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
FB_TOTAL_MIB = 22731


def suffix(seed, n):
    d = hashlib.sha256(seed.encode()).digest()
    return "".join(ALPHABET[b % len(ALPHABET)] for b in d[:n])


def parse(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--deployments", type=int, default=1)
    p.add_argument("--pods", type=int, default=1, help="pods per Deployment")
    p.add_argument("--gpus", type=int, default=1, help="GPUs per pod")
    p.add_argument("--minutes", type=int, default=60, help="history length")
    p.add_argument("--step", type=int, default=60, help="seconds between samples")
    p.add_argument("--end", default="now")
    p.add_argument("--namespace", default="default")
    p.add_argument("--prefix", default="wl")
    p.add_argument("--extra", action="store_true", help="FB_USED, FB_FREE, POWER_USAGE too")
    p.add_argument("--meta-minutes", type=int, default=0,
                   help="kube_pod_labels and kube_deployment_spec_replicas only over the last "
                        "N minutes (0: the whole history); status_replicas always covers it all")
    p.add_argument("--output", default="-")
    a = p.parse_args(argv)
    if min(a.deployments, a.pods, a.gpus, a.minutes, a.step) < 1:
        p.error("all counts must be >= 1")
    return a


def fleet(a):
    """[(deployment, [(pod, rs_hash, [gpu label text])])]"""
    out = []
    for i in range(a.deployments):
        dep = "%s-%04d" % (a.prefix, i)
        rs = suffix(a.namespace + "/" + dep, 9)
        pods = []
        for j in range(a.pods):
            pod = "%s-%s-%s" % (dep, rs, suffix("%s/%d" % (dep, j), 5))
            node = "gpu-node-%d" % ((i * a.pods + j) // 2)
            gpus = []
            for g in range(a.gpus):
                uuid = "GPU-" + hashlib.sha256(("%s/%d" % (pod, g)).encode()).hexdigest()[:24]
                gpus.append('{Hostname="%s",UUID="%s",container="%s",device="nvidia%d",gpu="%d",'
                            'modelName="NVIDIA A10",namespace="%s",pod="%s"}'
                            % (node, uuid, dep, g, g, a.namespace, pod))
            pods.append((pod, rs, gpus))
        out.append((dep, pods))
    return out


def util_values(times, phase, seed):
    """Daily sine plus a cheap deterministic noise (an LCG per series)."""
    x = seed & 0x7FFFFFFF
    vals = []
    for t in times:
        x = (1103515245 * x + 12345) & 0x7FFFFFFF
        noise = (x / 0x7FFFFFFF - 0.5) * 16.0
        v = 35.0 + 25.0 * math.sin(2.0 * math.pi * (t % 86400) / 86400.0 + phase) + noise
        vals.append(round(min(100.0, max(0.0, v)), 1))
    return vals


def write(out, a):
    end = int(time.time()) if a.end == "now" else int(float(a.end))
    end -= end % a.step
    n = max(1, a.minutes * 60 // a.step)
    times = [end - (n - 1 - k) * a.step for k in range(n)]
    ts = [" %d\n" % t for t in times]
    fl = fleet(a)
    utils = {}
    out.write("# TYPE DCGM_FI_DEV_GPU_UTIL gauge\n# HELP DCGM_FI_DEV_GPU_UTIL GPU utilization (in %).\n")
    for i, (dep, pods) in enumerate(fl):
        phase = 2.0 * math.pi * (i % 24) / 24.0
        for pod, _, gpus in pods:
            for g, lab in enumerate(gpus):
                vals = util_values(times, phase, hash_seed(pod, g))
                if a.extra:
                    utils[lab] = vals
                head = "DCGM_FI_DEV_GPU_UTIL" + lab + " "
                out.write("".join(head + repr(v) + s for v, s in zip(vals, ts)))
    if a.extra:
        derived = (("DCGM_FI_DEV_FB_USED", "Framebuffer memory used (in MiB).",
                    lambda v: 4200 + int(60 * v)),
                   ("DCGM_FI_DEV_FB_FREE", "Framebuffer memory free (in MiB).",
                    lambda v: FB_TOTAL_MIB - 4200 - int(60 * v)),
                   ("DCGM_FI_DEV_POWER_USAGE", "Power draw (in W).",
                    lambda v: round(40.0 + 1.1 * v, 1)))
        for name, help_text, f in derived:
            out.write("# TYPE %s gauge\n# HELP %s %s\n" % (name, name, help_text))
            for lab, vals in utils.items():
                head = name + lab + " "
                out.write("".join(head + repr(f(v)) + s for v, s in zip(vals, ts)))
    meta_ts = ts[-(a.meta_minutes * 60 // a.step or 1):] if a.meta_minutes else ts
    const_family(out, "kube_pod_labels", "Kubernetes labels converted to Prometheus labels.",
                 ['{namespace="%s",pod="%s",label_app="%s",label_pod_template_hash="%s"}'
                  % (a.namespace, pod, dep, rs) for dep, pods in fl for pod, rs, _ in pods],
                 "1", meta_ts)
    deps = ['{namespace="%s",deployment="%s"}' % (a.namespace, dep) for dep, _ in fl]
    const_family(out, "kube_deployment_status_replicas", "Replicas of a Deployment.", deps,
                 str(a.pods), ts)
    const_family(out, "kube_deployment_spec_replicas", "Desired replicas of a Deployment.", deps,
                 str(a.pods), meta_ts)
    out.write("# EOF\n")


def hash_seed(pod, g):
    return int.from_bytes(hashlib.sha256(("%s#%d" % (pod, g)).encode()).digest()[:4], "big")


def const_family(out, name, help_text, label_sets, value, ts):
    out.write("# TYPE %s gauge\n# HELP %s %s\n" % (name, name, help_text))
    for lab in label_sets:
        head = name + lab + " " + value
        out.write("".join(head + s for s in ts))


def main(argv):
    a = parse(argv)
    if a.output == "-":
        write(sys.stdout, a)
    else:
        with open(a.output, "w", buffering=1 << 20) as f:
            write(f, a)


if __name__ == "__main__":
    main(sys.argv[1:])
