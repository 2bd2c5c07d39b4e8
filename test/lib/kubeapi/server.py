"""HTTP side of the test apiserver: TLS, authentication, routing, discovery,
the REST verbs, watch streams, Table output and the /-/test/ admin endpoints."""

import collections
import hashlib
import http.server
import json
import socket
import ssl
import threading
import time
import traceback
import urllib.parse

from . import patch as patches
from . import resources, selection
from .store import ApiError

VERSION = {"major": "1", "minor": "32", "gitVersion": "v1.32.0-testdouble",
           "gitCommit": "0000000000000000000000000000000000000000", "gitTreeState": "clean",
           "buildDate": "2026-01-01T00:00:00Z", "goVersion": "n/a", "compiler": "n/a",
           "platform": "linux/amd64"}
AGG_TYPE = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
MAX_BODY = 8 << 20


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr, store, auth, tls_context, options):
        self.store = store
        self.auth = auth
        self.tls_context = tls_context
        self.options = options                  # argparse namespace
        self.stats_lock = threading.Lock()
        self.counts = collections.Counter()     # "verb path" -> n
        self.counts_by_user = collections.defaultdict(collections.Counter)
        self.partitioned = {}                   # user name ("*": everyone) -> "close"|"hang"
        self.injections = []                    # canned answers from /-/test/inject
        self.log_file = open(options.request_log, "a") if options.request_log else None
        super().__init__(addr, Handler)

    def finish_request(self, request, client_address):
        # The TLS handshake runs here, in the connection's own thread.
        request.settimeout(10)
        try:
            tls = self.tls_context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            request.close()
            return
        tls.settimeout(None)
        self.RequestHandlerClass(tls, client_address, self)

    def partition_mode(self, user):
        """None, "close" or "hang" for a user's requests."""
        with self.stats_lock:
            return self.partitioned.get(user) or self.partitioned.get("*")

    def count(self, verb, path, user):
        with self.stats_lock:
            self.counts["%s %s" % (verb, path)] += 1
            self.counts_by_user[user]["%s %s" % (verb, path)] += 1

    def log(self, entry):
        if self.log_file:
            with self.stats_lock:
                self.log_file.write(json.dumps(entry, sort_keys=True) + "\n")
                self.log_file.flush()


def tls_context(cert, key, client_cas):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    ctx.set_alpn_protocols(["http/1.1"])
    if client_cas:
        ctx.verify_mode = ssl.CERT_OPTIONAL
        for ca in client_cas:
            ctx.load_verify_locations(ca)
    return ctx


def _truthy(v):
    return v not in (None, "", "0", "false", "False")


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "kube-apiserver-testdouble"
    timeout = 300

    def log_message(self, fmt, *args):       # the request log is --request-log
        pass

    def do_GET(self):
        self.serve("GET")

    def do_POST(self):
        self.serve("POST")

    def do_PUT(self):
        self.serve("PUT")

    def do_PATCH(self):
        self.serve("PATCH")

    def do_DELETE(self):
        self.serve("DELETE")

    # --- plumbing -------------------------------------------------------------

    def serve(self, method):
        self.t0 = time.monotonic()
        self.code = 0
        self.verb = method.lower()
        url = urllib.parse.urlsplit(self.path)
        self.url_path = url.path
        self.query = {k: v[-1] for k, v in urllib.parse.parse_qs(url.query,
                                                                 keep_blank_values=True).items()}
        self.user = None
        try:
            body = self.read_body()
            if url.path.startswith("/-/test/"):
                self.admin(method, url.path, body)
                return
            self.user = self.authenticate()
            mode = self.server.partition_mode(self.user["username"])
            if mode:
                # "hang": no answer until healed (at most 120 s), as a lost
                # network looks; "close": the connection closes at once.
                deadline = time.monotonic() + 120
                while mode == "hang" and time.monotonic() < deadline:
                    time.sleep(0.1)
                    mode = self.server.partition_mode(self.user["username"])
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                self.verb, self.code = "refused", 0
                return
            if self.injected(method, url.path):
                return
            self.route(method, url.path, body)
        except ApiError as e:
            self.send_json(e.code, e.status())
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            self.close_connection = True
        except Exception as e:                   # a bug here: say so, keep serving
            traceback.print_exc()
            self.close_connection = True
            if not self.code:
                self.send_json(500, ApiError(500, "InternalError",
                                             "test apiserver error: %r" % e).status())
        finally:
            user = self.user["username"] if self.user else ""
            if not url.path.startswith("/-/test/"):
                self.server.count(self.verb, url.path, user)
            self.server.log({"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                             "user": user, "verb": self.verb, "method": method,
                             "path": url.path, "query": url.query, "code": self.code,
                             "ms": round((time.monotonic() - self.t0) * 1000, 1)})

    def injected(self, method, path):
        """Answers with a response a test queued through /-/test/inject."""
        srv = self.server
        with srv.stats_lock:
            inj = next((i for i in srv.injections if i["path"] == path
                        and i["method"] in ("", method)), None)
            if inj is None:
                return False
            inj["times"] -= 1
            if inj["times"] == 0:
                srv.injections.remove(inj)
        self.verb, self.code = "injected", inj["code"]
        self.send_response(inj["code"])
        self.send_header("Content-Type", inj["type"])
        self.send_header("Content-Length", str(len(inj["body"])))
        self.end_headers()
        self.wfile.write(inj["body"])
        return True

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                size = int(self.rfile.readline().strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    break
                if len(data) + size > MAX_BODY:
                    raise ApiError(413, "RequestEntityTooLarge", "request body too large")
                data += self.rfile.read(size)
                self.rfile.readline()
            return data
        try:
            n = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            n = -1
        if n < 0:
            self.close_connection = True
            raise ApiError(400, "BadRequest", "invalid Content-Length")
        if n > MAX_BODY:
            self.close_connection = True
            raise ApiError(413, "RequestEntityTooLarge", "request body too large")
        return self.rfile.read(n) if n else b""

    def send_json(self, code, obj, ctype="application/json"):
        data = json.dumps(obj, separators=(",", ":")).encode()
        self.code = code
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-cache, private")
        self.end_headers()
        self.wfile.write(data)

    def send_text(self, code, text):
        data = text.encode()
        self.code = code
        self.send_response(code)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def json_body(self, body):
        ctype = self.headers.get("Content-Type", "").split(";")[0].strip()
        if body and ctype and (not ctype.startswith("application/") or
                               any(t in ctype for t in ("protobuf", "cbor", "yaml"))):
            raise ApiError(415, "UnsupportedMediaType", "the body of the request was in an unknown "
                           "format - accepted media types include: application/json "
                           "(this test apiserver speaks JSON only)")
        try:
            obj = json.loads(body or b"null")
        except ValueError as e:
            raise ApiError(400, "BadRequest", "the body of the request is not valid JSON: %s" % e)
        return obj

    def object_body(self, body):
        obj = self.json_body(body)
        if not isinstance(obj, dict):
            raise ApiError(400, "BadRequest", "the body of the request must be a JSON object")
        return obj

    # --- authentication -------------------------------------------------------

    def authenticate(self):
        authz = self.headers.get("Authorization", "")
        if authz:
            scheme, _, token = authz.partition(" ")
            user = self.server.auth.lookup_token(token.strip()) if scheme.lower() == "bearer" else None
            if user is None:
                raise ApiError(401, "Unauthorized", "Unauthorized")
            return user
        cert = self.connection.getpeercert() if hasattr(self.connection, "getpeercert") else None
        if cert:
            cn, groups = "", []
            for rdn in cert.get("subject", ()):
                for k, v in rdn:
                    if k == "commonName":
                        cn = v
                    elif k == "organizationName":
                        groups.append(v)
            return {"username": cn, "groups": groups + ["system:authenticated"]}
        if self.server.auth.open_mode:
            return {"username": "admin", "groups": ["system:masters", "system:authenticated"]}
        raise ApiError(401, "Unauthorized", "Unauthorized")

    # --- routing ----------------------------------------------------------------

    def route(self, method, path, body):
        segs = [urllib.parse.unquote(s) for s in path.strip("/").split("/")] if path.strip("/") else []
        if path in ("/healthz", "/livez", "/readyz") and method == "GET":
            return self.send_text(200, "ok")
        if path == "/version" and method == "GET":
            return self.send_json(200, VERSION)
        if segs[:1] == ["openapi"] and method == "GET":
            return self.openapi(segs[1:])
        if segs[:1] == ["api"]:
            if len(segs) == 1 and method == "GET":
                return self.discovery_api()
            if len(segs) >= 2 and segs[1] == "v1":
                return self.resource_request(method, "", "v1", segs[2:], body)
        if segs[:1] == ["apis"]:
            if len(segs) == 1 and method == "GET":
                return self.discovery_apis()
            if len(segs) == 2 and method == "GET":
                return self.discovery_group(segs[1])
            if len(segs) >= 3:
                return self.resource_request(method, segs[1], segs[2], segs[3:], body)
        raise ApiError(404, "NotFound", "the server could not find the requested resource")

    # --- discovery ----------------------------------------------------------------

    def wants_aggregated(self):
        return (not self.server.options.no_aggregated_discovery
                and "g=apidiscovery.k8s.io;v=v2" in self.headers.get("Accept", "").replace(" ", ""))

    def discovery_api(self):
        store = self.server.store
        if self.wants_aggregated():
            return self.send_json(200, {
                "kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2",
                "metadata": {}, "items": [{"metadata": {"creationTimestamp": None}, "versions": [
                    {"version": "v1", "freshness": "Current",
                     "resources": [r.discovery_v2() for r in store.resources_of("", "v1")]}]}]},
                AGG_TYPE)
        host = "127.0.0.1:%d" % self.server.server_address[1]
        self.send_json(200, {"kind": "APIVersions", "versions": ["v1"],
                             "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0",
                                                             "serverAddress": host}]})

    def group_doc(self, group, versions):
        vs = [{"groupVersion": "%s/%s" % (group, v), "version": v} for v in versions]
        return {"name": group, "versions": vs, "preferredVersion": vs[0]}

    def discovery_apis(self):
        store = self.server.store
        gvs = [(g, vs) for g, vs in store.group_versions().items() if g]
        if self.wants_aggregated():
            items = []
            for g, vs in gvs:
                items.append({"metadata": {"name": g, "creationTimestamp": None}, "versions": [
                    {"version": v, "freshness": "Current",
                     "resources": [r.discovery_v2() for r in store.resources_of(g, v)]}
                    for v in vs]})
            return self.send_json(200, {"kind": "APIGroupDiscoveryList",
                                        "apiVersion": "apidiscovery.k8s.io/v2", "metadata": {},
                                        "items": items}, AGG_TYPE)
        self.send_json(200, {"kind": "APIGroupList", "apiVersion": "v1",
                             "groups": [self.group_doc(g, vs) for g, vs in gvs]})

    def discovery_group(self, group):
        vs = self.server.store.group_versions().get(group)
        if not vs or not group:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        doc = self.group_doc(group, vs)
        doc.update({"kind": "APIGroup", "apiVersion": "v1"})
        self.send_json(200, doc)

    def resource_list(self, group, version):
        rs = self.server.store.resources_of(group, version)
        if not rs:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        out = []
        for r in rs:
            out.extend(r.api_resources())
        gv = "%s/%s" % (group, version) if group else version
        self.send_json(200, {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv,
                             "resources": out})

    def openapi(self, segs):
        """OpenAPI v3 index and per-group-version documents: paths with the
        group-version-kind of each resource and its query parameters, no
        schemas (enough for kubectl to see fieldValidation support). v2 is 404."""
        store = self.server.store
        if segs == ["v3"]:
            paths = {}
            for g, vs in store.group_versions().items():
                for v in vs:
                    p = "api/%s" % v if not g else "apis/%s/%s" % (g, v)
                    h = hashlib.sha256(json.dumps(self.openapi_doc(g, v), sort_keys=True)
                                       .encode()).hexdigest()[:32].upper()
                    paths[p] = {"serverRelativeURL": "/openapi/v3/%s?hash=%s" % (p, h)}
            return self.send_json(200, {"paths": paths})
        if segs[:1] == ["v3"] and len(segs) >= 3:
            if segs[1] == "api" and len(segs) == 3:
                return self.send_json(200, self.openapi_doc("", segs[2]))
            if segs[1] == "apis" and len(segs) == 4:
                return self.send_json(200, self.openapi_doc(segs[2], segs[3]))
        raise ApiError(404, "NotFound", "the server could not find the requested resource")

    def openapi_doc(self, group, version):
        rs = self.server.store.resources_of(group, version)
        if not rs:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        params = [{"name": n, "in": "query", "schema": {"type": "string"}}
                  for n in ("dryRun", "fieldManager", "fieldValidation")]
        paths = {}
        for r in rs:
            base = "/api/%s" % version if not group else "/apis/%s/%s" % (group, version)
            base += "/namespaces/{namespace}" if r.namespaced else ""
            gvk = {"group": group, "version": version, "kind": r.kind}
            ops = {"x-kubernetes-action": "create", "x-kubernetes-group-version-kind": gvk,
                   "parameters": params, "responses": {}}
            paths["%s/%s" % (base, r.plural)] = {"post": ops}
            if not r.create_only:
                item = {m: {"x-kubernetes-group-version-kind": gvk, "parameters": params,
                            "responses": {}} for m in ("put", "patch")}
                paths["%s/%s/{name}" % (base, r.plural)] = item
        return {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": VERSION["gitVersion"]},
                "paths": paths, "components": {"schemas": {}}}

    # --- resources ------------------------------------------------------------------

    def resource_request(self, method, group, version, segs, body):
        store = self.server.store
        if not segs:
            if method == "GET":
                return self.resource_list(group, version)
            raise ApiError(405, "MethodNotAllowed", "the server does not allow this method")
        ns = None
        if segs[0] == "namespaces" and len(segs) >= 3 and not (group == "" and len(segs) == 3
                                                               and segs[2] in ("status", "finalize")):
            ns, segs = segs[1], segs[2:]
        res = store.resource(group, version, segs[0])
        if res is None or len(segs) > 3:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        if ns is not None and not res.namespaced:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        if res.namespaced and ns is None and len(segs) > 1:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        name = segs[1] if len(segs) > 1 else None
        sub = segs[2] if len(segs) > 2 else ""
        if sub and not ((sub == "status" and res.status) or (sub == "scale" and res.scale)):
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        if self.query.get("dryRun"):
            raise ApiError(400, "BadRequest", "dryRun is not supported by this test apiserver")
        if not res.namespaced:
            ns = None
        if res.create_only:
            if method != "POST" or name:
                raise ApiError(405, "MethodNotAllowed",
                               "%s only supports create" % res.plural)
            return self.review(res, self.object_body(body))
        if name is None:
            if method == "GET":
                if _truthy(self.query.get("watch")):
                    self.verb = "watch"
                    return self.watch(res, ns)
                self.verb = "list"
                return self.list(res, ns)
            if method == "POST":
                self.verb = "create"
                if ns is None and res.namespaced:
                    raise ApiError(404, "NotFound", "the server could not find the requested resource")
                obj = store.create(res, ns, self.object_body(body))
                return self.send_json(201, self.render(res, obj))
            if method == "DELETE":
                self.verb = "deletecollection"
                return self.delete_collection(res, ns)
            raise ApiError(405, "MethodNotAllowed", "the server does not allow this method")
        self.verb = {"GET": "get", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}.get(method)
        if self.verb is None or (sub and method == "DELETE"):
            raise ApiError(405, "MethodNotAllowed", "the server does not allow this method")
        if method == "GET":
            obj = store.get_scale(res, ns, name) if sub == "scale" else store.get(res, ns, name)
            return self.send_json(200, obj if sub == "scale" else self.render(res, obj))
        if method == "PUT":
            new = self.object_body(body)
            if sub == "scale":
                return self.send_json(200, store.update_scale(res, ns, name, new))
            return self.send_json(200, self.render(res, store.update(res, ns, name, new, sub)))
        if method == "PATCH":
            return self.patch(res, ns, name, sub, body)
        opts = self.json_body(body) if body else {}
        opts = opts if isinstance(opts, dict) else {}
        propagation = opts.get("propagationPolicy") or self.query.get("propagationPolicy") or "Background"
        obj = store.delete(res, ns, name, opts.get("preconditions"), propagation)
        self.send_json(200, self.render(res, obj))

    def view(self):
        """"Table", "PartialObjectMetadata" or None: the first JSON form the
        Accept header asks for that this server can give."""
        for part in self.headers.get("Accept", "").split(","):
            params = dict(p.strip().split("=", 1) for p in part.split(";")[1:] if "=" in p)
            mtype = part.split(";")[0].strip()
            if mtype not in ("application/json", "*/*", "application/*", ""):
                continue
            kind = params.get("as", "")
            if kind in ("Table", "PartialObjectMetadata", "PartialObjectMetadataList") and \
                    params.get("g") == "meta.k8s.io":
                return "Table" if kind == "Table" else "PartialObjectMetadata"
            if not kind:
                return None
        return None

    @staticmethod
    def partial(obj):
        return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                "metadata": obj.get("metadata") or {}}

    def render(self, res, obj):
        view = self.view()
        if view == "Table":
            return resources.table(res, [obj], self.query.get("includeObject", ""))
        if view == "PartialObjectMetadata":
            return self.partial(obj)
        return obj

    def patch(self, res, ns, name, sub, body):
        store = self.server.store
        ctype = self.headers.get("Content-Type", "").split(";")[0].strip()
        doc = self.json_body(body)
        if ctype == "application/merge-patch+json":
            fn = patches.merge_patch
        elif ctype == "application/strategic-merge-patch+json":
            if res.crd is not None:
                raise ApiError(415, "UnsupportedMediaType", "the body of the request was in an "
                               "unknown format - accepted media types include: "
                               "application/json-patch+json, application/merge-patch+json")
            fn = patches.strategic_merge_patch
        elif ctype == "application/json-patch+json":
            fn = patches.json_patch
        else:
            raise ApiError(415, "UnsupportedMediaType", "the body of the request was in an unknown "
                           "format - accepted media types include: application/json-patch+json, "
                           "application/merge-patch+json, application/strategic-merge-patch+json "
                           "(this test apiserver does not implement server-side apply)")
        if ctype != "application/json-patch+json" and not isinstance(doc, dict):
            raise ApiError(400, "BadRequest", "a merge patch must be a JSON object")
        with store.lock:
            try:
                if sub == "scale":
                    scale = fn(store.get_scale(res, ns, name), doc)
                    return self.send_json(200, store.update_scale(res, ns, name, scale))
                new = fn(store.get(res, ns, name), doc)
            except patches.PatchError as e:
                raise ApiError(422, "Invalid", str(e))
            if not isinstance(new, dict):
                raise ApiError(422, "Invalid", "the patch does not leave an object")
            obj = store.update(res, ns, name, new, sub)
        self.send_json(200, self.render(res, obj))

    def selectors(self, res):
        try:
            return (selection.parse_label_selector(self.query.get("labelSelector", "")),
                    selection.parse_field_selector(self.query.get("fieldSelector", ""), res.key))
        except selection.SelectorError as e:
            raise ApiError(400, "BadRequest", str(e))

    def list(self, res, ns):
        labels, fields = self.selectors(res)
        try:
            limit = int(self.query.get("limit") or 0)
        except ValueError:
            raise ApiError(400, "BadRequest", "limit must be an integer")
        items, rv, cont, remaining = self.server.store.list(res, ns, labels, fields, max(0, limit),
                                                           self.query.get("continue", ""))
        meta = {"resourceVersion": str(rv)}
        if cont:
            meta["continue"] = cont
            meta["remainingItemCount"] = remaining
        view = self.view()
        if view == "Table":
            return self.send_json(200, resources.table(res, items, self.query.get("includeObject", ""),
                                                       meta))
        if view == "PartialObjectMetadata":
            return self.send_json(200, {"kind": "PartialObjectMetadataList",
                                        "apiVersion": "meta.k8s.io/v1", "metadata": meta,
                                        "items": [self.partial(o) for o in items]})
        self.send_json(200, {"kind": res.kind + "List", "apiVersion": res.api_version,
                             "metadata": meta, "items": items})

    def delete_collection(self, res, ns):
        store = self.server.store
        labels, fields = self.selectors(res)
        with store.lock:
            items, rv, _c, _r = store.list(res, ns, labels, fields)
            gone = [store.delete(res, o["metadata"].get("namespace"), o["metadata"]["name"])
                    for o in items]
        self.send_json(200, {"kind": res.kind + "List", "apiVersion": res.api_version,
                             "metadata": {"resourceVersion": str(store.rv)}, "items": gone})

    def review(self, res, obj):
        auth = self.server.auth
        self.verb = "create"
        if res.plural == "tokenreviews":
            out = auth.token_review(obj)
        elif res.plural == "subjectaccessreviews":
            out = auth.subject_access_review(obj)
        else:
            out = auth.subject_access_review(obj, "SelfSubjectAccessReview", self.user)
        self.send_json(201, out)

    # --- watch --------------------------------------------------------------------

    def watch(self, res, ns):
        store = self.server.store
        labels, fields = self.selectors(res)
        try:
            timeout = float(self.query.get("timeoutSeconds") or 1800)
        except ValueError:
            raise ApiError(400, "BadRequest", "timeoutSeconds must be a number")
        bookmarks = _truthy(self.query.get("allowWatchBookmarks"))
        initial = _truthy(self.query.get("sendInitialEvents"))
        view = self.view()
        try:
            w = store.watch(res, ns, labels, fields, self.query.get("resourceVersion", ""),
                            self.user["username"], initial)
        except ApiError as e:
            if e.code != 410:
                raise
            # Too old: the stream starts and carries one ERROR event, as an
            # etcd-backed watch of a compacted revision does.
            self.start_stream()
            self.chunk({"type": "ERROR", "object": e.status()})
            self.wfile.write(b"0\r\n\r\n")
            return
        try:
            self.start_stream()
            self.stream(w, res, time.monotonic() + max(0.0, timeout), bookmarks, view)
        finally:
            store.unwatch(w)

    def start_stream(self):
        self.code = 200
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache, private")
        self.end_headers()

    def chunk(self, obj):
        data = (json.dumps(obj, separators=(",", ":")) + "\n").encode()
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def stream(self, w, res, deadline, bookmarks, view):
        store = self.server.store
        interval = self.server.options.bookmark_interval
        first = True
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                ev = w.events.get(timeout=min(left, interval) if bookmarks else left)
            except Exception:                          # queue.Empty
                ev = "idle"
            if w.closed == "drop":
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            if w.closed == "gone" or ev is None:
                self.chunk({"type": "ERROR", "object": ApiError(
                    410, "Expired", "too old resource version: the test forced 410 Gone").status()})
                break
            if ev == "idle":
                rv = store.bookmark_rv(w)
                if bookmarks and rv is not None:
                    self.chunk({"type": "BOOKMARK", "object": {
                        "kind": res.kind, "apiVersion": res.api_version,
                        "metadata": {"resourceVersion": str(rv)}}})
                continue
            etype, obj = ev
            if etype == "RAW":
                self.wfile.write(b"%x\r\n%s\r\n" % (len(obj), obj))
                self.wfile.flush()
                continue
            if etype == "BOOKMARK-END":
                rv = store.rv
                self.chunk({"type": "BOOKMARK", "object": {
                    "kind": res.kind, "apiVersion": res.api_version,
                    "metadata": {"resourceVersion": str(rv),
                                 "annotations": {"k8s.io/initial-events-end": "true"}}}})
                continue
            if view == "Table":
                obj = resources.table(res, [obj], self.query.get("includeObject", ""),
                                      with_columns=first)
                first = False
            elif view == "PartialObjectMetadata":
                obj = self.partial(obj)
            self.chunk({"type": etype, "object": obj})
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    # --- /-/test/ admin endpoints --------------------------------------------------

    def admin(self, method, path, body):
        srv, store = self.server, self.server.store
        what = path[len("/-/test/"):]
        user = self.query.get("user")
        if what == "requests" and method == "GET":
            with srv.stats_lock:
                return self.send_json(200, {"counts": dict(srv.counts),
                                            "byUser": {u: dict(c) for u, c in
                                                       srv.counts_by_user.items()}})
        if what == "requests" and method == "DELETE":
            with srv.stats_lock:
                srv.counts.clear()
                srv.counts_by_user.clear()
            return self.send_json(200, {"reset": True})
        if method != "POST" and not (what in ("policy", "tokens") and method in ("PUT", "DELETE")):
            raise ApiError(405, "MethodNotAllowed", "admin endpoints take POST")
        if what == "expire-watches":
            return self.send_json(200, {"closed": store.close_watches("gone", user)})
        if what == "drop-watches":
            return self.send_json(200, {"closed": store.close_watches("drop", user)})
        if what == "watch-inject":
            if not body:
                raise ApiError(400, "BadRequest", "watch-inject wants the bytes to write as the body")
            return self.send_json(200, {"streams": store.inject_watch(body, user)})
        if what == "inject":
            path_q = self.query.get("path", "")
            try:
                code, times = int(self.query.get("code", "200")), int(self.query.get("times", "1"))
            except ValueError:
                raise ApiError(400, "BadRequest", "code and times are integers")
            if not path_q.startswith("/") or not 100 <= code <= 599 or times < 1:
                raise ApiError(400, "BadRequest", "want ?path=/...&code=N&times=N[&method=M]")
            with srv.stats_lock:
                srv.injections.append({"path": path_q, "method": self.query.get("method", ""),
                                       "code": code, "times": times, "body": body,
                                       "type": self.headers.get("Content-Type") or "application/json"})
            return self.send_json(200, {"injections": len(srv.injections)})
        if what == "compact":
            return self.send_json(200, {"compactedResourceVersion": str(store.compact())})
        if what == "partition":
            with srv.stats_lock:
                mode = self.query.get("mode", "close")
                if mode not in ("close", "hang"):
                    raise ApiError(400, "BadRequest", "mode is close or hang")
                srv.partitioned[user or "*"] = mode
            store.close_watches("drop", user)
            return self.send_json(200, {"partitioned": sorted(srv.partitioned)})
        if what == "heal":
            with srv.stats_lock:
                if user:
                    srv.partitioned.pop(user, None)
                else:
                    srv.partitioned.clear()
            return self.send_json(200, {"partitioned": sorted(srv.partitioned)})
        if what == "policy":
            try:
                srv.auth.set_policy(self.json_body(body))
            except ValueError as e:
                raise ApiError(400, "BadRequest", str(e))
            return self.send_json(200, {"rules": len(srv.auth.policy["rules"])})
        if what == "tokens":
            doc = self.object_body(body)
            if method == "DELETE":
                return self.send_json(200, {"removed": srv.auth.remove_token(doc.get("token", ""))})
            if not doc.get("token") or not doc.get("user"):
                raise ApiError(400, "BadRequest", 'want {"token": T, "user": U, "groups": [...]}')
            srv.auth.set_token(doc["token"], doc["user"], doc.get("groups") or [])
            return self.send_json(200, {"token": doc["token"]})
        raise ApiError(404, "NotFound", "unknown admin endpoint %s" % path)
