#!/usr/bin/python3
"""Real per-pod GPU utilisation as OpenMetrics text for promtool backfill.

Input: pod_gpu_duty_cycle_anon.tar.gz (one CSV: value,timestamp_anon,
container_ip): GPU duty cycle in percent of 143 anonymised containers over
one day. The anonymised timestamps advance 57 s per sample and 1441 samples
cover the trace; we read the sample index as the minute of the day (1441
samples at 60 s span exactly 24 h), so the output keeps the daily cycle and
repeats it cleanly when tiled to several days.

Output: OpenMetrics with integer-second timestamps ending at --end (aligned
down to the step), for the pods of one Deployment:

  DCGM_FI_DEV_GPU_UTIL{Hostname,UUID,container,device,gpu,modelName,namespace,pod}
                                          the trace value (percent)
  DCGM_FI_DEV_FB_USED / DCGM_FI_DEV_FB_FREE (MiB)
                                          synthetic: 4200 + 60 * util of a
                                          22731 MiB card (not in the trace)
  kube_pod_labels{namespace,pod,label_app,label_pod_template_hash} 1
  kube_pod_info{namespace,pod,node,created_by_kind,created_by_name,...} 1
  kube_deployment_spec_replicas / kube_deployment_status_replicas
                                          {namespace,deployment} = --pods

Time compressed (--step-s S): one trace minute every S seconds instead of
60 (backfill and live exporter alike), so a day passes in 1440 x S s.

Live continuation (--serve PORT): an exporter on 127.0.0.1:PORT/metrics
whose values go on from the backfill (same --end and options): at wall
time t it serves trace minute (1439 + (t - end) // 60) mod 1440. Scraped
with job/instance dropped (test/lib/prometheus.sh does), the live samples
extend the backfilled series, so instant queries keep working and the
daily cycle continues.

Which trace containers become which pods (deterministic, no randomness):
  --mode busiest   (default) the K containers with the highest mean among
                   those present in >= 95% of the trace; a missing sample
                   stays missing (a gap, as in the source).
  --mode aggregate every container, dealt round-robin (busiest first) into K
                   groups; a pod's value is its group's sum, clipped to 100.
                   The containers are bursty: samples clipped (measured)
                   K=25: 6.7 %, K=40: 2.1 %, K=50: 1.4 %.

Size and time (2-core machine, promtool 2.42; measured with `time`):
1 day x 3 pods: 24 k lines, 5 MB, generation 1.6 s (mostly reading the CSV), backfill < 1 s;
14 days x 4 pods: 0.44 M lines, 97 MB, generation ~4 s, backfill 20-26 s
(see test/lib/prometheus.sh). With AHPA_TEST_CACHE_DIR set (CTest: the build tree's
test-cache) the parsed trace is read from a JSON cache: 2 days x 4 pods then takes
0.5 s of CPU instead of 1.7 s.

Standard library only; run with /usr/bin/python3.
"""

import argparse
import csv
import hashlib
import io
import json
import os
import sys
import tarfile
import time

STEP_S = 60
SAMPLES_PER_DAY = 1440
TRACE_SAMPLE_S = 57
FB_TOTAL_MIB = 22731
ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # Kubernetes' name suffix alphabet


def default_input():
    here = os.path.dirname(os.path.realpath(__file__))
    for base in (os.environ.get("AHPA_TEST_DATA"),
                 os.path.join(here, "..", "..", "..", "shared", "data")):
        if base:
            path = os.path.join(base, "gentd26", "pod_gpu_duty_cycle_anon.tar.gz")
            if os.path.exists(path):
                return path
    return None


def load_trace(path):
    """container -> {sample index: value}; through the cache when
    AHPA_TEST_CACHE_DIR names a directory (see cached_trace)."""
    cache = os.environ.get("AHPA_TEST_CACHE_DIR")
    return cached_trace(path, cache) if cache else read_trace(path)


def cached_trace(path, cache_dir):
    """Reading the CSV out of the tarball is most of a run's time (1-3 s of
    1.3-3 s for 2 days x 4 pods; the JSON loads in 0.1 s), and every
    integration test reads the same trace: the parsed trace is kept as
    JSON in cache_dir (the build tree's test-cache), keyed by the
    tarball's size and mtime, written atomically (tests run in parallel)."""
    st = os.stat(path)
    key = "%s:%d:%d" % (os.path.basename(path), st.st_size, int(st.st_mtime))
    file = os.path.join(cache_dir, "gpu-trace.json")
    try:
        with open(file) as f:
            doc = json.load(f)
        if doc.get("key") == key:
            return {c: {int(i): v for i, v in s} for c, s in doc["trace"].items()}
    except (OSError, ValueError, KeyError, TypeError):
        pass
    trace = read_trace(path)
    os.makedirs(cache_dir, exist_ok=True)
    tmp = "%s.%d.tmp" % (file, os.getpid())
    with open(tmp, "w") as f:
        json.dump({"key": key, "trace": {c: sorted(s.items()) for c, s in trace.items()}}, f)
    os.replace(tmp, file)
    return trace


def read_trace(path):
    """container -> {sample index: value}, from the tarball's CSV."""
    with tarfile.open(path, "r:gz") as tar:
        member = next(m for m in tar.getmembers() if m.name.endswith(".csv"))
        raw = tar.extractfile(member).read().decode("utf-8")
    rows = list(csv.DictReader(io.StringIO(raw)))
    t0 = min(float(r["timestamp_anon"]) for r in rows)
    trace = {}
    for r in rows:
        idx = int(round((float(r["timestamp_anon"]) - t0) / TRACE_SAMPLE_S))
        trace.setdefault(r["container_ip"], {})[idx] = float(r["value"])
    return trace


def mean(d):
    return sum(d.values()) / len(d) if d else 0.0


def busiest_order(trace):
    """Containers by mean utilisation, ties broken by id."""
    return sorted(trace, key=lambda k: (-mean(trace[k]), k))


def pods_busiest(trace, k):
    full = [c for c in busiest_order(trace) if len(trace[c]) >= 0.95 * (SAMPLES_PER_DAY + 1)]
    if len(full) < k:
        sys.exit("only %d containers cover the day; ask for fewer pods or --mode aggregate"
                 % len(full))
    return [(c, trace[c]) for c in full[:k]]


def pods_aggregate(trace, k):
    groups = [[] for _ in range(k)]
    for i, c in enumerate(busiest_order(trace)):
        groups[i % k].append(c)
    out = []
    for g in groups:
        series = {}
        for c in g:
            for idx, v in trace[c].items():
                series[idx] = series.get(idx, 0.0) + v
        out.append(("+".join(g)[:32], {i: min(100.0, v) for i, v in series.items()}))
    return out


def name_suffix(seed, n):
    digest = hashlib.sha256(seed.encode()).digest()
    return "".join(ALPHABET[b % len(ALPHABET)] for b in digest[:n])


def fmt(v):
    return repr(round(v, 6))


def labels(**kv):
    return "{" + ",".join('%s="%s"' % (k, v) for k, v in kv.items()) + "}"


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--input", default=default_input(), help="the trace tarball")
    p.add_argument("--output", default="-", help="file to write (default stdout)")
    p.add_argument("--end", default="now", help="unix seconds of the last sample (default now)")
    p.add_argument("--days", type=int, default=1, help="days of data (the day repeats)")
    p.add_argument("--deployment", default="bert-intent-detection")
    p.add_argument("--namespace", default="default")
    p.add_argument("--pods", type=int, default=4, help="pods of the Deployment")
    p.add_argument("--mode", choices=("busiest", "aggregate"), default="busiest")
    p.add_argument("--pod-names", choices=("deployment", "ordinal"), default="deployment",
                   help="pods named as a Deployment's (NAME-HASH-SUFFIX) or as a "
                        "StatefulSet's (NAME-0, NAME-1, ...); other labels stay")
    p.add_argument("--step-s", type=int, default=STEP_S,
                   help="seconds per trace minute (default 60; less compresses the day: "
                        "with 1, a day lasts 1440 s)")
    p.add_argument("--day-offset-min", type=int, default=0,
                   help="start the day this many trace minutes later (the backfill then ends "
                        "at minute offset-1 and the live exporter goes on from minute offset)")
    p.add_argument("--serve", type=int, metavar="PORT",
                   help="instead of writing, serve the live continuation on 127.0.0.1:PORT"
                        "/metrics (pass the backfill's --end)")
    a = p.parse_args(argv)
    if a.input is None:
        p.error("trace not found; pass --input")
    if a.days < 1 or a.pods < 1 or a.step_s < 1:
        p.error("--days, --pods and --step-s must be >= 1")
    return a


def end_time(a):
    end = int(time.time()) if a.end == "now" else int(float(a.end))
    return end - end % a.step_s


def families(a, pods):
    """[(name, help, [(label text, value_at(minute of day) -> float or None)])]"""
    rs_hash = name_suffix(a.namespace + "/" + a.deployment, 9)
    meta = []
    for j, (source, _) in enumerate(pods):
        pod = "%s-%s-%s" % (a.deployment, rs_hash, name_suffix("%s/%d" % (a.deployment, j), 5))
        node = "gpu-node-%d" % (j // 2)
        uuid = "GPU-" + hashlib.sha256(pod.encode()).hexdigest()[:8] + "-0000-4000-8000-" + \
            hashlib.sha256(source.encode()).hexdigest()[:12]
        if a.pod_names == "ordinal":  # the rest (UUID) as for the Deployment's pod
            pod = "%s-%d" % (a.deployment, j)
        meta.append((pod, node, uuid))

    def gpu(name, help_text, value_of):
        series = []
        for (pod, node, uuid), (_, trace) in zip(meta, pods):
            lab = labels(Hostname=node, UUID=uuid, container=a.deployment, device="nvidia0",
                         gpu="0", modelName="NVIDIA A10", namespace=a.namespace, pod=pod)
            series.append((lab, lambda i, tr=trace: None if tr.get(i) is None
                           else value_of(tr.get(i))))
        return (name, help_text, series)

    def const(name, help_text, label_sets, value):
        return (name, help_text, [(labels(**l), lambda i: value) for l in label_sets])

    dep = [dict(namespace=a.namespace, deployment=a.deployment)]
    return [
        gpu("DCGM_FI_DEV_GPU_UTIL", "GPU utilization (in %).", lambda v: v),
        gpu("DCGM_FI_DEV_FB_USED", "Framebuffer memory used (in MiB).",
            lambda v: round(4200 + 60 * v)),
        gpu("DCGM_FI_DEV_FB_FREE", "Framebuffer memory free (in MiB).",
            lambda v: FB_TOTAL_MIB - round(4200 + 60 * v)),
        const("kube_pod_labels", "Kubernetes labels converted to Prometheus labels.",
              [dict(namespace=a.namespace, pod=pod, label_app=a.deployment,
                    label_pod_template_hash=rs_hash) for pod, _, _ in meta], 1),
        const("kube_pod_info", "Information about pod.",
              [dict(namespace=a.namespace, pod=pod, node=node, created_by_kind="ReplicaSet",
                    created_by_name="%s-%s" % (a.deployment, rs_hash),
                    uid=hashlib.sha256(("uid" + pod).encode()).hexdigest()[:32])
               for pod, node, _ in meta], 1),
        const("kube_deployment_spec_replicas", "Number of desired pods for a deployment.",
              dep, len(pods)),
        const("kube_deployment_status_replicas", "The number of replicas per deployment.",
              dep, len(pods)),
    ]


def write(out, a, fams):
    """The backfill: --days of samples ending at --end, minute i of the
    series reading the trace's minute i mod 1440."""
    end = end_time(a)
    n = a.days * SAMPLES_PER_DAY
    times = [end - (n - 1 - i) * a.step_s for i in range(n)]
    for name, help_text, series in fams:
        out.write("# TYPE %s gauge\n# HELP %s %s\n" % (name, name, help_text))
        for lab, value_at in series:
            for i, t in enumerate(times):
                v = value_at((i + a.day_offset_min) % SAMPLES_PER_DAY)
                if v is not None:
                    out.write("%s%s %s %d\n" % (name, lab, fmt(v), t))
    out.write("# EOF\n")


def exposition(fams, minute):
    """Prometheus text format of every series at one minute of the day."""
    lines = []
    for name, help_text, series in fams:
        lines.append("# HELP %s %s\n# TYPE %s gauge\n" % (name, help_text, name))
        for lab, value_at in series:
            v = value_at(minute)
            if v is not None:
                lines.append("%s%s %s\n" % (name, lab, fmt(v)))
    return "".join(lines).encode()


def serve(a, fams, port):
    """Live exporter continuing the backfill: the sample at --end read
    minute 1439 of the trace, so wall time t reads minute
    (1439 + (t - end) // 60) mod 1440 and the daily cycle goes on."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    end = end_time(a)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, fmt_, *args):
            pass

        def do_GET(self):
            if self.path != "/metrics":
                self.send_error(404)
                return
            minute = (SAMPLES_PER_DAY - 1 + a.day_offset_min +
                      (int(time.time()) - end) // a.step_s) % SAMPLES_PER_DAY
            body = exposition(fams, minute)
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


def main(argv):
    a = parse_args(argv)
    trace = load_trace(a.input)
    pods = pods_busiest(trace, a.pods) if a.mode == "busiest" else pods_aggregate(trace, a.pods)
    fams = families(a, pods)
    if a.serve:
        serve(a, fams, a.serve)
    elif a.output == "-":
        write(sys.stdout, a, fams)
    else:
        with open(a.output, "w", buffering=1 << 20) as f:
            write(f, a, fams)


if __name__ == "__main__":
    main(sys.argv[1:])
