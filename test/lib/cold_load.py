#!/usr/bin/env python3
"""Keeps N cold metric requests in flight against the adapter and measures
how fast other paths are answered meanwhile.

usage: cold_load.py --url https://127.0.0.1:PORT --ca CA_FILE
                    --cold-path '/apis/custom.metrics.k8s.io/v1beta2/...?metricLabelSelector=x!%3Dc{n}'
                    [--cold 64] [--seconds 10] [--warmup 1]
                    [--probe /readyz --probe /apis/custom.metrics.k8s.io/v1beta2]
                    [--probe-interval-ms 5]

Each of --cold threads sends --cold-path with {n} replaced by a number
nobody used before (so no cache can answer), one after the other, on its
own keep-alive connection. After --warmup seconds each --probe path is
asked in a loop on its own keep-alive connection for --seconds. Prints one
JSON object: per probe path n, p50/p99/max latency in ms and the number of
non-2xx answers (errors count as non-2xx); for the cold requests n, answers
by status code and p50/max latency. Standard library only; loopback only;
every loop is bounded by --seconds and socket timeouts."""
import argparse
import http.client
import itertools
import json
import ssl
import threading
import time
import urllib.parse


def percentile(xs, q):
    if not xs:
        return None
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


class Client:
    def __init__(self, host, port, ctx, timeout):
        self.args = (host, port, ctx, timeout)
        self.conn = None

    def get(self, path):
        """(status or 0 on error, seconds)"""
        host, port, ctx, timeout = self.args
        t0 = time.perf_counter()
        try:
            if self.conn is None:
                self.conn = http.client.HTTPSConnection(host, port, context=ctx, timeout=timeout)
            self.conn.request("GET", path, headers={"Accept": "application/json"})
            r = self.conn.getresponse()
            r.read()
            status = r.status
            if r.getheader("Connection", "").lower() == "close":
                self.close()
        except (OSError, http.client.HTTPException):
            status = 0
            self.close()
        return status, time.perf_counter() - t0

    def close(self):
        if self.conn is not None:
            self.conn.close()
        self.conn = None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--ca", required=True)
    ap.add_argument("--cold-path", required=True)
    ap.add_argument("--cold", type=int, default=64)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--warmup", type=float, default=1)
    ap.add_argument("--probe", action="append", default=[])
    ap.add_argument("--probe-interval-ms", type=float, default=5)
    a = ap.parse_args()
    u = urllib.parse.urlsplit(a.url)
    if u.hostname not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit("loopback only")
    ctx = ssl.create_default_context(cafile=a.ca)
    ctx.check_hostname = False
    counter = itertools.count(int(time.time() * 1000) % 1000000 * 1000)
    lock = threading.Lock()
    cold = {"codes": {}, "lat": []}
    probes = {p: {"lat": [], "non2xx": 0} for p in a.probe}
    start = time.monotonic()
    probe_start = start + a.warmup
    deadline = probe_start + a.seconds

    def cold_main():
        c = Client(u.hostname, u.port, ctx, 60)
        while time.monotonic() < deadline:
            with lock:
                n = next(counter)
            status, secs = c.get(a.cold_path.replace("{n}", str(n)))
            with lock:
                cold["codes"][str(status)] = cold["codes"].get(str(status), 0) + 1
                cold["lat"].append(secs)
        c.close()

    def probe_main(path):
        c = Client(u.hostname, u.port, ctx, 10)
        while time.monotonic() < probe_start:
            time.sleep(0.01)
        while time.monotonic() < deadline:
            status, secs = c.get(path)
            probes[path]["lat"].append(secs)
            if not 200 <= status < 300:
                probes[path]["non2xx"] += 1
            time.sleep(a.probe_interval_ms / 1000)
        c.close()

    threads = [threading.Thread(target=cold_main, daemon=True) for _ in range(a.cold)]
    threads += [threading.Thread(target=probe_main, args=(p,), daemon=True) for p in a.probe]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=max(0.0, deadline - time.monotonic()) + 90)

    def ms(x):
        return None if x is None else round(x * 1000, 2)

    out = {"cold": {"n": len(cold["lat"]), "codes": cold["codes"],
                    "p50_ms": ms(percentile(cold["lat"], 0.5)), "max_ms": ms(max(cold["lat"], default=None))},
           "probes": {}}
    for p, d in probes.items():
        out["probes"][p] = {"n": len(d["lat"]), "non2xx": d["non2xx"],
                            "p50_ms": ms(percentile(d["lat"], 0.5)),
                            "p99_ms": ms(percentile(d["lat"], 0.99)),
                            "max_ms": ms(max(d["lat"], default=None))}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
