#!/usr/bin/env python3
"""kube_apiserver.py: a TEST DOUBLE of kube-apiserver, for the project's tests.

Not Kubernetes. A small, honest, in-memory imitation of the parts of the
Kubernetes API that the adapter, its tests and kubectl use, written from the
Kubernetes API reference. Python 3 standard library (plus python3-yaml for
YAML --preload files) and the openssl command.

What it implements
  - HTTPS on 127.0.0.1 only; bearer tokens (--token), client certificates
    signed by the serving CA or --client-ca (CN = user, O = groups).
    Authenticated users may do everything: there is no RBAC enforcement.
  - Discovery: /api, /api/v1, /apis, /apis/<g>, /apis/<g>/<v>, aggregated
    discovery (apidiscovery.k8s.io/v2) when the Accept header asks for it,
    /version, /healthz, /livez, /readyz, and an OpenAPI v3 index whose
    documents hold paths and parameters but no schemas (/openapi/v2 is 404).
  - Built-in kinds: namespaces, pods, configmaps, secrets, events,
    serviceaccounts, services, endpoints, nodes; apps/v1 deployments,
    statefulsets, replicasets (scale subresource); autoscaling/v2
    horizontalpodautoscalers; coordination.k8s.io/v1 leases; events.k8s.io/v1
    events (stored apart from core events); policy/v1 poddisruptionbudgets;
    apiregistration.k8s.io/v1 apiservices (stored, nothing is proxied);
    rbac.authorization.k8s.io/v1 roles, rolebindings, clusterroles,
    clusterrolebindings (stored, not enforced); apiextensions.k8s.io/v1
    customresourcedefinitions: creating one serves its resources at once
    (group, versions, plural, kind, scope, status and scale subresources,
    additionalPrinterColumns, schema defaults).
  - authentication.k8s.io/v1 tokenreviews (answered from --token) and
    authorization.k8s.io/v1 subjectaccessreviews / selfsubjectaccessreviews
    (answered from --policy, see kubeapi/auth.py): create only, not stored.
  - One global resourceVersion counter; uid, creationTimestamp, generation
    (bumped when anything but metadata and status changes, for kinds with a
    status subresource and for custom resources); a write that changes
    nothing is a no-op (no new resourceVersion, no event).
  - get, list (labelSelector =, ==, !=, in, notin, exists, !exists;
    fieldSelector metadata.name, metadata.namespace and the per-kind fields
    of kubeapi/selection.py (events' involvedObject.*); limit/continue paging
    over a snapshot, 410 Expired when the snapshot is forgotten), watch
    (resourceVersion, allowWatchBookmarks, timeoutSeconds, sendInitialEvents;
    410 Gone when the resourceVersion is older than the bounded history),
    create (409 AlreadyExists), update (409 Conflict on a stale
    metadata.resourceVersion), patch (merge, JSON, and a strategic merge
    subset; no server-side apply: 415), delete (preconditions; background
    garbage collection of objects whose ownerReferences all point to deleted
    objects; Orphan), deletecollection, status and scale subresources.
  - Errors are metav1.Status objects with code and reason.
  - Table output (Accept: application/json;as=Table;v=v1;g=meta.k8s.io):
    custom resources from additionalPrinterColumns; pods, deployments,
    statefulsets and HPAs with their usual columns; other built-ins NAME, AGE.
  - Deployments, StatefulSets and ReplicaSets get a status that follows
    spec.replicas at once, as if their controllers converged instantly
    (--no-workload-status turns it off). No pods are created.

What it does not do: no etcd, no persistence (except --state-file), no admission,
no schema validation or pruning of custom resources, no RBAC enforcement, no
server-side apply or dryRun, no protobuf, no CRD version conversion (every
version shares the same stored object), no finalizers or graceful deletion,
no controllers besides the instant workload status, no HTTP/2.

Admin endpoints for tests (no authentication; the server only listens on
127.0.0.1). ?user=NAME narrows expire-watches, drop-watches, partition and
heal to one user's requests:
  POST   /-/test/expire-watches  open watches get an ERROR event with a 410 Status
  POST   /-/test/drop-watches    open watches are cut (no closing chunk)
  POST   /-/test/compact         forget the event history and paging snapshots:
                                 older resourceVersions and continue tokens get 410
  POST   /-/test/partition[?mode=close|hang]
                                 from now on the user's (or everyone's) requests get no
                                 answer: the connection closes at once (close, default) or
                                 stays silent until healed, at most 120 s (hang); their
                                 open watches are cut
  POST   /-/test/heal            undo partition
  GET    /-/test/requests        {"counts": {"<verb> <path>": n}, "byUser": {...}}
  DELETE /-/test/requests        reset the counts
  PUT    /-/test/policy          replace the SubjectAccessReview policy (JSON body)
  PUT    /-/test/tokens          add {"token": T, "user": U, "groups": [...]}
  DELETE /-/test/tokens          remove {"token": T}
  POST   /-/test/inject?path=P&code=N[&times=N][&method=M]
                                 the next N requests for path P get this code and the
                                 request's body and Content-Type, verbatim
  POST   /-/test/watch-inject    the body is written, as it is, as one chunk into every
                                 open watch stream (garbage, huge lines, wrong kinds)

--state-file keeps the objects and the resourceVersion counter across a
restart (saved at SIGTERM): a restarted server goes on from the same
resourceVersion, with an empty event history (older watches get 410).
"""

import argparse
import json
import os
import signal
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from kubeapi import auth as kauth            # noqa: E402
from kubeapi import server as kserver        # noqa: E402
from kubeapi import store as kstore          # noqa: E402


def parse_args(argv):
    p = argparse.ArgumentParser(description="A test double of kube-apiserver (see the top of "
                                "this file for what it implements and what it does not).")
    p.add_argument("--port", type=int, default=0,
                   help="TCP port on 127.0.0.1; 0 picks a free one (default)")
    p.add_argument("--port-file", help="write the port here once listening")
    p.add_argument("--tls-dir", required=True,
                   help="ca.crt, server.crt/key, admin.crt/key; generated when absent")
    p.add_argument("--client-ca", action="append", default=[],
                   help="extra CA file for client certificates (repeatable)")
    p.add_argument("--token", action="append", default=[], metavar="TOKEN=user:g1,g2",
                   help="a bearer token and the user it authenticates (repeatable)")
    p.add_argument("--policy", help="JSON SubjectAccessReview policy (kubeapi/auth.py)")
    p.add_argument("--preload", action="append", default=[],
                   help="YAML or JSON file of objects to create at start (repeatable)")
    p.add_argument("--state-file",
                   help="load objects from here at start (when it exists), save them at SIGTERM")
    p.add_argument("--kubeconfig", help="write a kubeconfig for the admin certificate here")
    p.add_argument("--request-log", help="append one JSON line per request here")
    p.add_argument("--watch-history", type=int, default=1000,
                   help="events kept for watches that resume (default 1000)")
    p.add_argument("--bookmark-interval", type=float, default=1.0,
                   help="seconds between BOOKMARK events when asked for (default 1)")
    p.add_argument("--no-workload-status", action="store_true",
                   help="do not make workload status follow spec.replicas")
    p.add_argument("--no-aggregated-discovery", action="store_true",
                   help="answer /api and /apis in the legacy form only")
    return p.parse_args(argv)


def load_objects(path):
    with open(path) as f:
        text = f.read()
    if path.endswith(".json"):
        doc = json.loads(text)
        docs = doc.get("items", [doc]) if doc.get("kind", "").endswith("List") else [doc]
    else:
        try:
            import yaml
        except ImportError:
            sys.exit("%s: YAML needs python3-yaml (or give a .json file)" % path)
        docs = [d for d in yaml.safe_load_all(text) if d]
    return docs


def preload(store, path):
    for obj in load_objects(path):
        api_version = obj.get("apiVersion", "")
        group, _, version = api_version.rpartition("/")
        res = next((r for (g, v, _p), r in store.resources.items()
                    if g == group and v == version and r.kind == obj.get("kind")), None)
        if res is None:
            sys.exit("%s: %s %s is not served" % (path, api_version, obj.get("kind")))
        ns = (obj.get("metadata") or {}).get("namespace") or "default" if res.namespaced else None
        try:
            store.create(res, ns, obj)
        except kstore.ApiError as e:
            sys.exit("%s: %s %s: %s" % (path, obj.get("kind"),
                                        (obj.get("metadata") or {}).get("name"), e.message))


def write_kubeconfig(path, port, tls):
    cfg = {"apiVersion": "v1", "kind": "Config", "current-context": "test",
           "clusters": [{"name": "test", "cluster": {
               "server": "https://127.0.0.1:%d" % port, "certificate-authority": tls["ca.crt"]}}],
           "users": [{"name": "admin", "user": {"client-certificate": tls["admin.crt"],
                                                 "client-key": tls["admin.key"]}}],
           "contexts": [{"name": "test", "context": {"cluster": "test", "user": "admin",
                                                     "namespace": "default"}}]}
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(cfg, f, indent=1)
    os.replace(tmp, path)


def main(argv):
    opts = parse_args(argv)
    tls = kauth.ensure_tls(opts.tls_dir)
    auth = kauth.Auth(opts.token, kauth.load_policy(opts.policy) if opts.policy else None)
    auth.open_mode = not opts.token and not opts.client_ca
    store = kstore.Store(history=opts.watch_history, workload_status=not opts.no_workload_status)
    if opts.state_file and os.path.exists(opts.state_file):
        store.load(opts.state_file)
    else:
        ns_res = store.resource("", "v1", "namespaces")
        for ns in ("default", "kube-system", "kube-public", "kube-node-lease"):
            store.create(ns_res, None, {"metadata": {"name": ns}})
    for path in opts.preload:
        preload(store, path)
    ctx = kserver.tls_context(tls["server.crt"], tls["server.key"], [tls["ca.crt"]] + opts.client_ca)
    srv = kserver.Server(("127.0.0.1", opts.port), store, auth, ctx, opts)
    port = srv.server_address[1]
    if opts.kubeconfig:
        write_kubeconfig(opts.kubeconfig, port, tls)
    if opts.port_file:
        with open(opts.port_file + ".tmp", "w") as f:
            f.write("%d\n" % port)
        os.replace(opts.port_file + ".tmp", opts.port_file)
    print("kube-apiserver test double listening on https://127.0.0.1:%d" % port, flush=True)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=srv.shutdown).start())
    try:
        srv.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    srv.server_close()
    if opts.state_file:
        store.save(opts.state_file)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
