#!/usr/bin/env python3
"""Cold requests as fast as a few keep-alive clients can send them.

usage: coldload.py PORT CAFILE PATH SECONDS [CONNECTIONS]

Each of CONNECTIONS threads (default 4) holds one TLS keep-alive
connection and sends GET PATH&metricLabelSelector=gpu!=<unique> until
SECONDS have passed, so no request can be answered from a cache. Prints
"requests N" and "status CODE COUNT" lines. Reconnects after an error, at
most 1000 times per thread."""
import http.client
import ssl
import sys
import threading
import time

port, cafile, path, seconds = int(sys.argv[1]), sys.argv[2], sys.argv[3], float(sys.argv[4])
conns = int(sys.argv[5]) if len(sys.argv) > 5 else 4
ctx = ssl.create_default_context(cafile=cafile)
lock = threading.Lock()
statuses = {}
deadline = time.monotonic() + seconds


def worker(w):
    conn, n, reconnects = None, 0, 0
    sep = "&" if "?" in path else "?"
    while time.monotonic() < deadline and reconnects < 1000:
        if conn is None:
            conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=10)
        n += 1
        try:
            conn.request("GET", "%s%smetricLabelSelector=gpu!%%3Dw%d-%d" % (path, sep, w, n))
            r = conn.getresponse()
            r.read()
            code = str(r.status)
        except (OSError, http.client.HTTPException):
            code = "error"
            conn.close()
            conn, reconnects = None, reconnects + 1
        with lock:
            statuses[code] = statuses.get(code, 0) + 1
    if conn is not None:
        conn.close()


threads = [threading.Thread(target=worker, args=(i,)) for i in range(conns)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print("requests", sum(statuses.values()))
for code, count in sorted(statuses.items()):
    print("status", code, count)
