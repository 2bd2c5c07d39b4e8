#!/usr/bin/env python3
"""A fault-injecting HTTP proxy in front of Prometheus, on loopback.

usage: faultproxy.py LISTEN_PORT UPSTREAM_URL MODE_FILE

Each request reads MODE_FILE (one word) and then:
  pass     forwards to UPSTREAM_URL and relays the answer
  slow     sleeps 30 s (past any sane client timeout), then forwards
  error    answers 500 with Prometheus' error JSON
  garbage  answers 200 with a body that is not JSON
  huge     answers 200 with 80 MiB of JSON-looking bytes
  reset    closes the connection without answering
Runs until killed; every sleep is bounded."""
import http.server
import socketserver
import sys
import time
import urllib.error
import urllib.request

PORT, UPSTREAM, MODE_FILE = int(sys.argv[1]), sys.argv[2].rstrip("/"), sys.argv[3]


def mode():
    try:
        with open(MODE_FILE) as f:
            return f.read().strip() or "pass"
    except OSError:
        return "pass"


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, code, body, ctype="application/json"):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def forward(self, body=None):
        req = urllib.request.Request(UPSTREAM + self.path, data=body, method=self.command)
        for k in ("Content-Type", "Authorization", "X-Scope-OrgID"):
            if self.headers.get(k):
                req.add_header(k, self.headers[k])
        try:
            with urllib.request.urlopen(req, timeout=20) as r:
                self.reply(r.status, r.read(), r.headers.get("Content-Type", "application/json"))
        except urllib.error.HTTPError as e:
            self.reply(e.code, e.read())
        except OSError:
            self.reply(502, b"bad gateway", "text/plain")

    def handle_any(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else None
        m = mode()
        if m == "slow":
            time.sleep(30)
        if m == "error":
            self.reply(500, b'{"status":"error","errorType":"internal","error":"injected failure"}')
        elif m == "garbage":
            self.reply(200, b"<html>definitely not prometheus</html>", "text/html")
        elif m == "huge":
            chunk = b'{"status":"success","data":{"resultType":"vector","result":[' + b" " * (1 << 20)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(80 << 20))
            self.end_headers()
            try:
                for _ in range(80):
                    self.wfile.write(chunk[: 1 << 20])
            except OSError:
                pass
        elif m == "reset":
            self.close_connection = True
            self.connection.close()
        else:
            self.forward(body)

    do_GET = handle_any
    do_POST = handle_any


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


Server(("127.0.0.1", PORT), Handler).serve_forever()
