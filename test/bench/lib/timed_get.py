#!/usr/bin/python3
"""Timed HTTP(S) GETs over one keep-alive connection per server, for the
benchmarks in test/bench/. Standard library only.

  timed_get.py cold --adapter https://127.0.0.1:P --ca CA --prom http://127.0.0.1:Q
               --namespace NS --pod POD -n N
      Interleaves N custom-metric requests through the adapter, each with a
      different metricLabelSelector (gpu!=xI, so every one misses the value
      cache) and the same PromQL sent straight to Prometheus
      (avg(DCGM_FI_DEV_GPU_UTIL{gpu!="xI",namespace=NS,pod=POD}) by (pod)).
      Checks that both give the same value. Prints one line per side:
      "<side> n=N median_ms=.. p90_ms=.. p99_ms=.. max_ms=.."

  timed_get.py get URL [--ca CA] -n N [--seconds S] [--content] [--accept TYPE]
      N GETs of URL over one connection (or fewer, when S seconds pass first); prints the same summary line and
      "bytes=..." (with --content: the JSON's base64 .content decoded, its
      size and a check that it is an HTML page).

Times are wall-clock per request (request sent to body read), in ms.
"""

import argparse
import base64
import http.client
import json
import ssl
import sys
import time
import urllib.parse


def connect(url, ca):
    u = urllib.parse.urlsplit(url)
    if u.scheme == "https":
        ctx = ssl.create_default_context(cafile=ca)
        return http.client.HTTPSConnection(u.hostname, u.port, context=ctx, timeout=60), u.path
    return http.client.HTTPConnection(u.hostname, u.port, timeout=60), u.path


def get(conn, path, accept="application/json"):
    t0 = time.perf_counter()
    conn.request("GET", path, headers={"Accept": accept})
    r = conn.getresponse()
    body = r.read()
    dt = (time.perf_counter() - t0) * 1000.0
    if r.status != 200:
        sys.exit("GET %s: %d %s" % (path, r.status, body[:300]))
    return dt, body


def pct(xs, q):
    s = sorted(xs)
    i = min(len(s) - 1, max(0, int(round(q / 100.0 * (len(s) - 1)))))
    return s[i]


def summary(side, xs):
    return "%s n=%d median_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f" % (
        side, len(xs), pct(xs, 50), pct(xs, 90), pct(xs, 99), max(xs))


def cold(a):
    ac, base = connect(a.adapter, a.ca)
    pc, pbase = connect(a.prom, None)
    adapter_ms, prom_ms = [], []
    for i in range(a.n):
        sel = urllib.parse.quote('gpu!=x%d' % i, safe="")
        path = "%s/apis/custom.metrics.k8s.io/v1beta2/namespaces/%s/pods/%s/gpu_utilization" \
               "?metricLabelSelector=%s" % (base, a.namespace, a.pod, sel)
        q = 'avg(DCGM_FI_DEV_GPU_UTIL{gpu!="x%d",namespace="%s",pod="%s"}) by (pod)' % (
            i, a.namespace, a.pod)
        ppath = "%s/api/v1/query?%s" % (pbase, urllib.parse.urlencode({"query": q}))
        # Alternate which side goes first so neither always runs second.
        order = ((0, path), (1, ppath)) if i % 2 == 0 else ((1, ppath), (0, path))
        got = {}
        for side, p in order:
            dt, body = get(ac if side == 0 else pc, p)
            (adapter_ms if side == 0 else prom_ms).append(dt)
            got[side] = json.loads(body)
        check(got[0], got[1], i)
    print(summary("adapter", adapter_ms))
    print(summary("prometheus", prom_ms))


def check(adapter, prom, i):
    """The adapter's Quantity against Prometheus' value (3 significant digits)."""
    items = adapter.get("items", [])
    res = prom["data"]["result"]
    if len(items) != 1 or len(res) != 1:
        sys.exit("request %d: %d items from the adapter, %d from Prometheus" % (i, len(items), len(res)))
    want = float(res[0]["value"][1])
    q = items[0]["value"]
    got = float(q[:-1]) / 1000.0 if q.endswith("m") else float(q)
    if abs(got - want) > 0.01 * max(1.0, abs(want)):
        sys.exit("request %d: adapter %s vs Prometheus %s" % (i, q, want))


def plain(a):
    conn, base = connect(a.url, a.ca)
    u = urllib.parse.urlsplit(a.url)
    path = base + ("?" + u.query if u.query else "")
    xs, body = [], b""
    stop = time.monotonic() + a.seconds if a.seconds else None
    for _ in range(a.n):
        dt, body = get(conn, path, a.accept)
        xs.append(dt)
        if stop is not None and time.monotonic() >= stop:
            break
    extra = "bytes=%d" % len(body)
    if a.content:
        doc = json.loads(body)
        html = base64.b64decode(doc["content"])
        if b"<svg" not in html or b"</html>" not in html.lower():
            sys.exit("content is not an HTML page with SVG")
        extra += " content_bytes=%d" % len(html)
        if a.save:
            with open(a.save, "wb") as f:
                f.write(html)
    print(summary("get", xs) + " " + extra)


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("cold")
    c.add_argument("--adapter", required=True)
    c.add_argument("--ca", required=True)
    c.add_argument("--prom", required=True)
    c.add_argument("--namespace", default="default")
    c.add_argument("--pod", required=True)
    c.add_argument("-n", type=int, default=200)
    g = sub.add_parser("get")
    g.add_argument("url")
    g.add_argument("--ca")
    g.add_argument("-n", type=int, default=20)
    g.add_argument("--accept", default="application/json")
    g.add_argument("--seconds", type=float, default=0, help="stop after this long (0: after -n)")
    g.add_argument("--content", action="store_true")
    g.add_argument("--save")
    a = p.parse_args(argv)
    cold(a) if a.cmd == "cold" else plain(a)


if __name__ == "__main__":
    main(sys.argv[1:])
