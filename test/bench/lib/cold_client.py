#!/usr/bin/python3
"""Cold custom-metric requests for the soak benchmark: each request carries a
metricLabelSelector never used before (gpu!=c<N>), so it misses the adapter's
value cache. Standard library only; bounded in count and time.

  cold_client.py --adapter https://127.0.0.1:P --ca CA --pod POD
                 [--namespace NS] [--rate R | --count N] [--seconds S]
                 [--connections C]

With --rate, about R requests per second on one keep-alive connection until
S seconds pass. With --count, N requests spread over C connections (threads)
as fast as they go, stopping early when S seconds pass. Prints one summary:
"requests=N ok=N non2xx=N errors=N median_ms=.. p99_ms=.. seconds=.."
"""

import argparse
import http.client
import ssl
import threading
import time
import urllib.parse


def pct(xs, q):
    if not xs:
        return float("nan")
    s = sorted(xs)
    return s[min(len(s) - 1, int(round(q / 100.0 * (len(s) - 1))))]


class Tally:
    def __init__(self):
        self.lock = threading.Lock()
        self.ok = self.non2xx = self.errors = 0
        self.times = []

    def add(self, status, ms):
        with self.lock:
            if status is None:
                self.errors += 1
            elif 200 <= status < 300:
                self.ok += 1
                self.times.append(ms)
            else:
                self.non2xx += 1


def worker(args, ids, deadline, tally, pace):
    u = urllib.parse.urlsplit(args.adapter)
    ctx = ssl.create_default_context(cafile=args.ca)
    conn = None
    for i in ids:
        now = time.monotonic()
        if now >= deadline:
            break
        if conn is None:
            conn = http.client.HTTPSConnection(u.hostname, u.port, context=ctx, timeout=30)
        sel = urllib.parse.quote("gpu!=c%d" % i)
        path = ("/apis/custom.metrics.k8s.io/v1beta2/namespaces/%s/pods/%s/gpu_utilization"
                "?metricLabelSelector=%s" % (args.namespace, args.pod, sel))
        t0 = time.perf_counter()
        try:
            conn.request("GET", path, headers={"Accept": "application/json"})
            r = conn.getresponse()
            r.read()
            tally.add(r.status, (time.perf_counter() - t0) * 1000.0)
        except (OSError, http.client.HTTPException):
            tally.add(None, 0)
            conn.close()
            conn = None
        if pace:
            time.sleep(max(0.0, pace - (time.monotonic() - now)))
    if conn is not None:
        conn.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--adapter", required=True)
    ap.add_argument("--ca", required=True)
    ap.add_argument("--pod", required=True)
    ap.add_argument("--namespace", default="default")
    ap.add_argument("--rate", type=float, default=0)
    ap.add_argument("--count", type=int, default=0)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--connections", type=int, default=1)
    args = ap.parse_args()
    if (args.rate > 0) == (args.count > 0):
        ap.error("give exactly one of --rate and --count")
    start = time.monotonic()
    deadline = start + args.seconds
    tally = Tally()
    base = int(time.time() * 1000)  # unique across runs against one adapter
    if args.rate > 0:
        n = int(args.rate * args.seconds) + 1
        worker(args, range(base, base + n), deadline, tally, 1.0 / args.rate)
    else:
        c = max(1, args.connections)
        threads = [threading.Thread(target=worker,
                                    args=(args, range(base + k, base + args.count, c),
                                          deadline, tally, 0)) for k in range(c)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    total = tally.ok + tally.non2xx + tally.errors
    print("requests=%d ok=%d non2xx=%d errors=%d median_ms=%.3f p99_ms=%.3f seconds=%.1f" % (
        total, tally.ok, tally.non2xx, tally.errors, pct(tally.times, 50), pct(tally.times, 99),
        time.monotonic() - start))


if __name__ == "__main__":
    main()
