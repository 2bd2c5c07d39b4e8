#!/usr/bin/python3
"""A fault-injecting HTTP proxy in front of a real Prometheus, for tests.

    prom_chaos_proxy.py --listen-port PORT --upstream http://127.0.0.1:9090

Forwards every request (method, path, query, body, Content-Type,
Authorization, X-Scope-OrgID and other X- headers) to the upstream and
returns its answer, unless a fault is switched on through the control
endpoint on the same port:

    POST /-/chaos  mode=pass                 forward (default)
                   mode=slow&seconds=S       wait S seconds, then forward
                   mode=status&code=500      answer CODE with a text/plain body
                   mode=prom_error           answer 422 with Prometheus' error JSON
                   mode=garbage              answer 200 text/html junk
                   mode=huge&bytes=N         answer 200 application/json, N bytes
                   mode=close                close the connection without answering
    GET  /-/chaos                            the current mode, as JSON
    GET  /-/chaos/last                       the last forwarded-or-faulted
                                             request: method, path, headers, body
    GET  /-/chaos/count                      requests seen since start

The control endpoint is never faulted. Binds 127.0.0.1 only. Standard
library only; run with /usr/bin/python3.
"""

import argparse
import json
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

FORWARDED = ("content-type", "authorization", "accept", "accept-encoding", "user-agent")
PROM_ERROR = json.dumps({"status": "error", "errorType": "execution",
                         "error": "chaos: injected query failure"}).encode()
MAX_BODY = 16 * 1024 * 1024


class State:
    def __init__(self, upstream):
        self.upstream = upstream.rstrip("/")
        self.lock = threading.Lock()
        self.mode = {"mode": "pass"}
        self.last = {}
        self.count = 0


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "prom-chaos"

    def log_message(self, fmt, *args):  # quiet: tests read our answers, not logs
        pass

    def reply(self, code, body, ctype):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def reply_huge(self, n):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(n))
        self.end_headers()
        chunk = b" " * 65536
        try:
            while n > 0:
                self.wfile.write(chunk[:min(n, len(chunk))])
                n -= len(chunk)
        except OSError:  # the client gave up at its size cap
            self.close_connection = True

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(min(n, MAX_BODY)) if n > 0 else b""

    def control(self, body):
        st = self.server.state
        if self.path == "/-/chaos" and self.command == "POST":
            form = {k: v[0] for k, v in urllib.parse.parse_qs(body.decode()).items()}
            if form.get("mode") not in ("pass", "slow", "status", "prom_error", "garbage",
                                         "huge", "close"):
                return self.reply(400, b"unknown mode\n", "text/plain")
            with st.lock:
                st.mode = form
        with st.lock:
            answers = {"/-/chaos": st.mode, "/-/chaos/last": st.last,
                       "/-/chaos/count": {"count": st.count}}
        if self.path not in answers:
            return self.reply(404, b"unknown control path\n", "text/plain")
        self.reply(200, json.dumps(answers[self.path]).encode(), "application/json")

    def forward(self, body):
        st = self.server.state
        headers = {k: v for k, v in self.headers.items()
                   if k.lower() in FORWARDED or k.lower().startswith("x-")}
        req = urllib.request.Request(st.upstream + self.path, data=body or None,
                                     headers=headers, method=self.command)
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                data, code, ctype = r.read(), r.status, r.headers.get("Content-Type", "")
        except urllib.error.HTTPError as e:
            data, code, ctype = e.read(), e.code, e.headers.get("Content-Type", "")
        except (urllib.error.URLError, OSError) as e:
            data, code, ctype = ("chaos: upstream: %s\n" % e).encode(), 502, "text/plain"
        self.reply(code, data, ctype)

    def handle_any(self):
        body = self.read_body()
        if self.path.startswith("/-/chaos"):
            return self.control(body)
        st = self.server.state
        with st.lock:
            st.count += 1
            st.last = {"method": self.command, "path": self.path,
                       "headers": dict(self.headers.items()),
                       "body": body.decode("utf-8", "replace")}
            mode = dict(st.mode)
        m = mode.get("mode", "pass")
        if m == "slow":
            time.sleep(float(mode.get("seconds", "5")))
        if m in ("pass", "slow"):
            return self.forward(body)
        if m == "status":
            return self.reply(int(mode.get("code", "500")), b"chaos: injected failure\n",
                              "text/plain")
        if m == "prom_error":
            return self.reply(422, PROM_ERROR, "application/json")
        if m == "garbage":
            return self.reply(200, b"<html><body>chaos</body></html>\n", "text/html")
        if m == "huge":
            return self.reply_huge(int(mode.get("bytes", str(80 * 1024 * 1024))))
        self.close_connection = True  # mode "close": say nothing

    do_GET = do_POST = do_PUT = do_DELETE = handle_any


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--listen-port", type=int, required=True)
    p.add_argument("--upstream", required=True)
    a = p.parse_args(argv)
    srv = Server(("127.0.0.1", a.listen_port), Handler)
    srv.state = State(a.upstream)
    try:
        srv.serve_forever(poll_interval=0.1)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main(sys.argv[1:])
