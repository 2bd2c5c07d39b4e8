#!/usr/bin/env python3
"""Hostile input against a running adapter.

usage: hostile.py PORT CAFILE [SEED]

Sends random and overlong paths, query strings and headers, odd methods
and Accept values, oversized and chunked bodies, malformed HTTP and idle
half-open connections. Checks that every request that parses as HTTP gets
a Kubernetes Status (or a 200 document), that framing errors get a 4xx and
a closed connection, and that the server stays up and answers /readyz fast
throughout. Prints "N passed, N failed"; exits 1 on any failure."""
import json
import random
import socket
import ssl
import sys
import time

PORT, CAFILE = int(sys.argv[1]), sys.argv[2]
rng = random.Random(int(sys.argv[3]) if len(sys.argv) > 3 and sys.argv[3] != "-v" else 20261128)
CTX = ssl.create_default_context(cafile=CAFILE)
passed = failed = 0


def check(ok, what):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print("FAIL:", what, flush=True)


def connect(timeout=10):
    s = socket.create_connection(("127.0.0.1", PORT), timeout=timeout)
    return CTX.wrap_socket(s, server_hostname="localhost")


def exchange(raw, timeout=10):
    """Sends raw bytes, reads until the server closes (Connection: close)."""
    with connect(timeout) as s:
        try:
            s.sendall(raw)
        except (ssl.SSLError, OSError):
            # The server answered early (413) and closed while we were
            # still sending; read what it said before closing.
            pass
        chunks = []
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                b = s.recv(65536)
            except (ConnectionResetError, ssl.SSLError, socket.timeout, OSError):
                break
            if not b:
                break
            chunks.append(b)
    return b"".join(chunks)


def parse(resp):
    head, _, body = resp.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    try:
        status = int(lines[0].split()[1])
    except (IndexError, ValueError):
        return None, {}, body
    headers = {}
    for ln in lines[1:]:
        k, _, v = ln.partition(b":")
        headers[k.strip().lower().decode("latin-1")] = v.strip().decode("latin-1")
    if headers.get("transfer-encoding", "").lower() == "chunked":
        out, rest = b"", body
        while rest:
            size_line, _, rest = rest.partition(b"\r\n")
            size = int(size_line.split(b";")[0] or b"0", 16)
            if size == 0:
                break
            out, rest = out + rest[:size], rest[size + 2:]
        body = out
    return status, headers, body


def is_status(body, code):
    try:
        d = json.loads(body)
    except ValueError:
        return False
    return d.get("kind") == "Status" and d.get("code") == code and d.get("status") == "Failure"


def request(method, target, headers=(), body=b""):
    lines = [f"{method} {target} HTTP/1.1", "Host: localhost", "Connection: close"]
    lines += list(headers)
    if body:
        lines.append(f"Content-Length: {len(body)}")
    raw = ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8", "surrogateescape") + body
    return parse(exchange(raw))


def expect_status_or_doc(what, method, target, headers=(), body=b""):
    status, hdrs, payload = request(method, target, headers, body)
    if status is None:
        check(False, f"{what}: no HTTP response")
        return None
    if 200 <= status < 300 or status == 304:
        check(True, what)
    else:
        check(is_status(payload, status), f"{what}: {status} body {payload[:200]!r}")
    return status


def log(msg):
    if VERBOSE:
        print(msg, flush=True)


VERBOSE = "-v" in sys.argv


def ready_quickly(what):
    t0 = time.time()
    status, _, body = request("GET", "/readyz")
    dt = time.time() - t0
    check(status == 200 and body == b"ok" and dt < 2.0, f"{what}: readyz {status} in {dt:.2f}s")


ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789-_./*%?&=!:;,~'\"(){}[]<>\\|+ \t"
BASES = ["/apis", "/apis/custom.metrics.k8s.io/v1beta2", "/apis/custom.metrics.k8s.io/v1beta1",
         "/apis/external.metrics.k8s.io/v1beta1", "/apis/metrics.alibabacloud.com/v1beta1",
         "/healthz", "/readyz", "/openapi/v3/apis", "/metrics", "/version", "/api", ""]


def random_path():
    base = rng.choice(BASES)
    segs = []
    for _ in range(rng.randint(0, 8)):
        n = rng.choice([0, 1, 3, 8, 30, 300])
        segs.append("".join(rng.choice(ALPHABET) for _ in range(n)))
    path = base + "/" + "/".join(segs)
    path = path.replace(" ", "%20").replace("\t", "%09").replace("?", "%3F")
    return path if path.startswith("/") else "/" + path


def main():
    # 1. Random paths (percent-encoded junk included).
    for i in range(150):
        expect_status_or_doc(f"random path #{i}", "GET", random_path())
    for p in ["/%00", "/apis/%zz", "/apis/%", "/apis/..%2F..%2Fetc", "/apis//custom.metrics.k8s.io",
              "/apis/custom.metrics.k8s.io/v1beta2/namespaces/default/pods/%2A/gpu_utilization",
              "/apis/custom.metrics.k8s.io/v1beta2/" + "x/" * 200, "/\u00e9\u4e2d",
              "/apis/" + "a" * 5000, "/" + "b" * 20000]:
        expect_status_or_doc(f"odd path {p[:40]!r}", "GET", p)
    # 2. Query strings.
    for i in range(60):
        q = "&".join(
            "".join(rng.choice(ALPHABET.replace(" ", "").replace("\t", "")) for _ in range(rng.randint(0, 40)))
            for _ in range(rng.randint(1, 10)))
        expect_status_or_doc(f"random query #{i}", "GET", rng.choice(BASES[:5]) + "?" + q.replace("#", ""))
    expect_status_or_doc("long query", "GET", "/apis?labelSelector=" + "a%3D" * 4000)
    expect_status_or_doc("many parameters", "GET", "/readyz?" + "&".join(f"exclude=x{i}" for i in range(200)))
    # Past the connection's budget (--max-request-head-bytes, 32 KiB)
    # libmicrohttpd runs out of memory while parsing the parameters and
    # drops that request without an answer; the connection closes at the
    # idle timeout. Others must not notice.
    with connect(10) as hog:
        hog.sendall(("GET /readyz?" + "&".join(f"e=x{i}" for i in range(6000)) +
                     " HTTP/1.1\r\nHost: x\r\n\r\n").encode())
        ready_quickly("while a request with 6,000 parameters is dropped")
    # 3. Methods.
    for m in ["POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT", "FOO", "get", "G" * 300]:
        status = expect_status_or_doc(f"method {m[:20]}", m, "/apis/custom.metrics.k8s.io/v1beta2")
        if m in ("POST", "PUT", "DELETE", "PATCH", "FOO"):
            check(status == 405, f"method {m} is 405 (got {status})")
    # 4. Headers and Accept values.
    for a in ["application/vnd.kubernetes.protobuf", "text/html", "application/json;as=Table;g=meta.k8s.io;v=v1",
              ";;;", "," * 500, "application/json;g=apidiscovery.k8s.io;v=v9;as=APIGroupDiscoveryList",
              "*/*;q=0.1", "\u00ff\u00fe", "a" * 4000]:
        for base in ["/apis", "/apis/custom.metrics.k8s.io/v1beta2"]:
            status = expect_status_or_doc(f"Accept {a[:30]!r} on {base}", "GET", base, [f"Accept: {a}"])
            if a in ("application/vnd.kubernetes.protobuf", "text/html"):
                check(status == 406, f"Accept {a} is 406 (got {status})")
    for i in range(30):
        hdrs = [f"X-{rng.randint(0, 10**6)}: " + "".join(rng.choice(ALPHABET.strip()) for _ in range(rng.randint(0, 500)))
                for _ in range(rng.randint(1, 40))]
        expect_status_or_doc(f"random headers #{i}", "GET", "/apis", hdrs)
    # 5. Bodies.
    status, _, body = request("POST", "/apis", ["Content-Length: 1073741824"])
    check(status == 413 and is_status(body, 413), f"announced huge body is 413 (got {status})")
    status, _, body = request("POST", "/apis", [], b"x" * (2 * 1024 * 1024))
    # The 413 is sent as soon as the headers announce the size; a client
    # still sending may then see the reset before the answer (TCP drops
    # unread data on reset), so "no answer" is accepted here.
    check(status is None or (status == 413 and is_status(body, 413)),
          f"2 MiB body is 413 (got {status})")
    chunk = b"%x\r\n%s\r\n" % (1 << 16, b"y" * (1 << 16))
    raw = (b"POST /apis HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
           b"Transfer-Encoding: chunked\r\n\r\n" + chunk * 40 + b"0\r\n\r\n")
    status, _, body = parse(exchange(raw))
    check(status == 413 and is_status(body, 413), f"2.5 MiB chunked body is 413 (got {status})")
    status, _, body = request("GET", "/apis", [], b"{}")
    check(status == 200, f"small body on GET is ignored (got {status})")
    ready_quickly("after bodies")
    # 6. Framing errors and oversized header sections: libmicrohttpd answers
    # these itself, before any handler: a 4xx and a closed connection.
    for what, raw, *code in [
        ("garbage request line", b"\x00\x01\x02garbage\r\n\r\n"),
        ("no version", b"GET /apis\r\n\r\n"),
        ("bad version", b"GET /apis HTTP/9.9\r\nHost: x\r\n\r\n", 505),
        ("header without colon", b"GET /apis HTTP/1.1\r\nHost: x\r\nnocolon\r\n\r\n"),
        ("header section past the memory cap", b"GET /apis HTTP/1.1\r\nHost: x\r\nX-Big: " + b"z" * 600000 + b"\r\n\r\n"),
        ("URI past the memory cap", b"GET /" + b"u" * 600000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"),
        ("negative content length", b"POST /apis HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n"),
        ("bad chunk size", b"POST /apis HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"),
    ]:
        t0 = time.time()
        status, _, _ = parse(exchange(raw, timeout=5))
        ok = status is None or 400 <= status < 500 or (code and status == code[0])
        check(ok, f"{what}: got {status}")
        log(f"{what}: {status} in {time.time() - t0:.2f}s")
    ready_quickly("after framing errors")
    # 7. Idle and half-sent connections do not stall others.
    idle = []
    for i in range(60):
        try:
            s = connect(5)
            if i % 2:
                s.sendall(b"GET /apis HTTP/1.1\r\nHost: x\r\n")  # never finished
            idle.append(s)
        except OSError:
            pass
    raw_idle = [socket.create_connection(("127.0.0.1", PORT), timeout=5) for _ in range(20)]  # no TLS hello
    for i in range(5):
        ready_quickly(f"with 80 idle connections #{i}")
    for s in idle + raw_idle:
        s.close()
    ready_quickly("at the end")
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


main()
