#!/usr/bin/python3
"""Part of real_prometheus.sh: the GPU exporter's scraped samples extend
the same series as the backfill (3 series, not 6), are newer than it, and
carry the trace's value for their minute of the day.

Usage: check_live_continuation.py PROM_URL OM_FILE END_S"""
import json
import re
import sys
import time
import urllib.parse
import urllib.request

url, om, end = sys.argv[1], sys.argv[2], int(sys.argv[3])
SEL = 'DCGM_FI_DEV_GPU_UTIL{namespace="default"}'


def query(q):
    u = url + "/api/v1/query?" + urllib.parse.urlencode({"query": q})
    return json.load(urllib.request.urlopen(u, timeout=5))["data"]["result"]


def minute_of(t):
    """The trace minute the backfill and the exporter use at time t."""
    return (1439 + (t - end) // 60) % 1440


by_minute = {}  # (pod, minute of day) -> value
for line in open(om):
    m = re.match(r'^DCGM_FI_DEV_GPU_UTIL\{.*pod="([^"]+)"\} (\S+) (\d+)$', line)
    if m:
        by_minute[(m.group(1), minute_of(int(m.group(3))))] = float(m.group(2))

for _ in range(100):  # the first scrape of the new target
    if any(float(r["value"][1]) > end for r in query("timestamp(%s)" % SEL)):
        break
    time.sleep(0.1)

errors = []
n = int(float(query("count(%s)" % SEL)[0]["value"][1]))
if n != 3:
    errors.append("%d series, want 3: the live samples did not join the backfill" % n)
live = 0
for r in query(SEL):
    pod = r["metric"]["pod"]
    samples = query('DCGM_FI_DEV_GPU_UTIL{namespace="default",pod="%s"}[1m]' % pod)[0]["values"]
    t, v = float(samples[-1][0]), float(samples[-1][1])
    if t <= end:
        continue
    live += 1
    # The exporter read its own clock at scrape time: allow 2 s of skew.
    want = {by_minute.get((pod, minute_of(int(t) + d))) for d in (-2, 0, 2)}
    if v not in want:
        errors.append("%s at %d: live %r, trace says %s" % (pod, t, v, sorted(map(str, want))))
if live == 0:
    errors.append("no live sample newer than the backfill")
if errors:
    print("\n".join(errors))
    sys.exit(1)
print("gpu exporter: %d live series continue the backfill" % live)
