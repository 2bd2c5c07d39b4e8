#!/usr/bin/env python3
"""Holds one TLS keep-alive connection across a certificate reload.

usage: keepalive.py PORT CAFILE GO_FILE

Makes a request, prints the serving certificate's serial, waits (at most
30 s) until GO_FILE exists, then makes a second request on the same
connection and prints whether the socket was reused and both statuses."""
import http.client
import os
import ssl
import sys
import time

port, cafile, go = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ctx = ssl.create_default_context(cafile=cafile)
conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=10)
conn.request("GET", "/readyz")
r1 = conn.getresponse()
r1.read()
sock = conn.sock
der = sock.getpeercert(binary_form=True)
print("first", r1.status, len(der), flush=True)
deadline = time.time() + 30
while not os.path.exists(go) and time.time() < deadline:
    time.sleep(0.05)
conn.request("GET", "/readyz")
r2 = conn.getresponse()
r2.read()
print("second", r2.status, "reused" if conn.sock is sock else "reconnected",
      "same-cert" if conn.sock.getpeercert(binary_form=True) == der else "new-cert", flush=True)
