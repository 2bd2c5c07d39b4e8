"""The object store of the test apiserver: objects in memory, one global
resourceVersion counter, a bounded event history for watches, paging
snapshots for continue tokens, and the API semantics on top (create, get,
list, update, patch, delete, status and scale subresources, generation,
owner-reference garbage collection, CRDs that become served resources).

Objects are never mutated once stored: every write stores a new dict, so
events, snapshots and readers share them safely. One lock orders every write
and every event; a watcher registered under it misses nothing.
"""

import base64
import collections
import copy
import datetime
import json
import os
import queue
import random
import string
import threading
import uuid

from . import resources, selection


class ApiError(Exception):
    """Becomes a metav1.Status with this code and reason."""

    def __init__(self, code, reason, message, details=None):
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details

    def status(self):
        s = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
             "message": self.message, "reason": self.reason, "code": self.code}
        if self.details:
            s["details"] = self.details
        return s


def qualified(res):
    return res.plural + ("." + res.group if res.group else "")


def not_found(res, name):
    return ApiError(404, "NotFound", '%s "%s" not found' % (qualified(res), name),
                    {"name": name, "group": res.group, "kind": res.plural})


def conflict(res, name):
    return ApiError(409, "Conflict",
                    'Operation cannot be fulfilled on %s "%s": the object has been modified; '
                    'please apply your changes to the latest version and try again'
                    % (qualified(res), name),
                    {"name": name, "group": res.group, "kind": res.plural})


def gone(message):
    return ApiError(410, "Expired", message)


def now_rfc3339():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class Watcher:
    """One open watch stream: its filter and its bounded event queue."""

    def __init__(self, res, namespace, label_reqs, field_reqs, user, capacity=10000):
        self.res = res
        self.namespace = namespace
        self.label_reqs = label_reqs
        self.field_reqs = field_reqs
        self.user = user
        self.events = queue.Queue(maxsize=capacity)
        self.closed = None       # None, "gone" (send 410) or "drop" (cut the stream)

    def matches(self, obj):
        meta = obj.get("metadata") or {}
        if self.namespace is not None and meta.get("namespace") != self.namespace:
            return False
        return (selection.label_matches(self.label_reqs, meta.get("labels"))
                and selection.field_matches(self.field_reqs, obj))

    def push(self, etype, obj):
        try:
            self.events.put_nowait((etype, obj))
        except queue.Full:
            self.close("gone")

    def close(self, how):
        if self.closed is None:
            self.closed = how
        try:
            self.events.put_nowait(None)
        except queue.Full:
            pass


WORKLOADS = {("apps", "deployments"), ("apps", "statefulsets"), ("apps", "replicasets")}
UNCHANGEABLE = ("uid", "creationTimestamp", "namespace", "name", "generation", "resourceVersion",
                "deletionTimestamp", "selfLink")


class Store:
    def __init__(self, history=1000, snapshots=64, workload_status=True):
        self.lock = threading.RLock()
        self.rv = 0
        self.compacted_rv = 0             # events after this RV are all in history
        self.history = collections.deque()
        self.history_max = history
        self.objects = {}                 # (group, plural) -> {(ns, name): obj}
        self.uids = set()
        self.watchers = set()
        self.snapshots = collections.OrderedDict()
        self.snapshots_max = snapshots
        self.workload_status = workload_status
        self.resources = {}               # (group, version, plural) -> Resource
        for r in resources.builtin_resources():
            self.resources[(r.group, r.version, r.plural)] = r

    # --- served resources ---------------------------------------------------

    def resource(self, group, version, plural):
        with self.lock:
            return self.resources.get((group, version, plural))

    def group_versions(self):
        """{group: [versions]} in a stable order, the legacy group first."""
        with self.lock:
            out = collections.OrderedDict()
            for (g, v, _p) in sorted(self.resources, key=lambda k: (k[0] != "", k[0], k[1])):
                out.setdefault(g, [])
                if v not in out[g]:
                    out[g].append(v)
            return out

    def resources_of(self, group, version):
        with self.lock:
            return [r for (g, v, _p), r in sorted(self.resources.items())
                    if g == group and v == version]

    def _serve_crd(self, crd):
        name = (crd.get("metadata") or {}).get("name")
        for k in [k for k, r in self.resources.items() if r.crd == name]:
            del self.resources[k]
        for r in resources.crd_resources(crd):
            self.resources[(r.group, r.version, r.plural)] = r

    def _unserve_crd(self, crd):
        name = (crd.get("metadata") or {}).get("name")
        gone_res = [r for r in self.resources.values() if r.crd == name]
        for r in gone_res:
            del self.resources[(r.group, r.version, r.plural)]
        if gone_res:
            r = gone_res[0]
            for obj in list(self.objects.get(r.key, {}).values()):
                self._remove(r, obj)

    # --- events ---------------------------------------------------------------

    def _bump(self):
        self.rv += 1
        return self.rv

    def _emit(self, res, etype, old, new):
        self.history.append((self.rv, res.key, etype, old, new))
        while len(self.history) > self.history_max:
            self.compacted_rv = self.history.popleft()[0]
        for w in list(self.watchers):
            if w.res.key != res.key:
                continue
            self._deliver(w, etype, old, new)

    @staticmethod
    def _deliver(w, etype, old, new):
        if etype == "MODIFIED":
            was, now = w.matches(old), w.matches(new)
            if was and now:
                w.push("MODIFIED", new)
            elif was:
                w.push("DELETED", new)
            elif now:
                w.push("ADDED", new)
        elif w.matches(new):
            w.push(etype, new)

    def watch(self, res, namespace, label_reqs, field_reqs, rv, user, initial_events=False):
        """Registers a watcher and queues what it must see first. rv "" or
        "0" (or initial_events) starts with ADDED for every current object;
        otherwise the history after rv is replayed, or 410 when rv is older
        than the retained history."""
        with self.lock:
            # Room for every initial event plus a backlog of 10,000; a watcher
            # that falls further behind is ended with 410, as a slow one is.
            w = Watcher(res, namespace, label_reqs, field_reqs, user,
                        capacity=len(self.objects.get(res.key, {})) + len(self.history) + 10000)
            if rv in ("", "0") or initial_events:
                for obj in sorted(self.objects.get(res.key, {}).values(), key=_sort_key):
                    if w.matches(obj):
                        w.push("ADDED", obj)
                if initial_events:
                    w.push("BOOKMARK-END", None)
            else:
                want = _parse_rv(rv)
                if want < self.compacted_rv:
                    raise gone("too old resource version: %d (%d)" % (want, self.compacted_rv + 1))
                for (erv, key, etype, old, new) in self.history:
                    if erv > want and key == res.key:
                        self._deliver(w, etype, old, new)
            self.watchers.add(w)
        return w

    def unwatch(self, w):
        with self.lock:
            self.watchers.discard(w)

    def bookmark_rv(self, w):
        """The RV a bookmark may carry: the current one when nothing is queued."""
        with self.lock:
            return self.rv if w.events.empty() else None

    def close_watches(self, how, user=None):
        with self.lock:
            n = 0
            for w in list(self.watchers):
                if user is None or w.user == user:
                    w.close(how)
                    n += 1
            return n

    def inject_watch(self, raw, user=None):
        """Queues raw bytes for every open watch (or one user's): the stream
        writes them as one chunk, as they are (garbage, huge lines...)."""
        with self.lock:
            n = 0
            for w in list(self.watchers):
                if user is None or w.user == user:
                    w.push("RAW", raw)
                    n += 1
            return n

    def save(self, path):
        """Writes every object and the resourceVersion counter to path."""
        with self.lock:
            state = {"resourceVersion": self.rv,
                     "objects": [o for _k, o in self.all_objects()]}
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(state, f)
        os.replace(tmp, path)

    def load(self, path):
        """Restores what save wrote: the objects as they were (uid,
        resourceVersion, ...), CRDs first so that their resources are
        served. The event history starts empty, so older watches get 410."""
        with open(path) as f:
            state = json.load(f)
        objs = sorted(state.get("objects") or [],
                      key=lambda o: o.get("kind") != "CustomResourceDefinition")
        with self.lock:
            for obj in objs:
                group, _, version = obj.get("apiVersion", "").rpartition("/")
                res = next((r for (g, v, _p), r in self.resources.items()
                            if g == group and v == version and r.kind == obj.get("kind")), None)
                if res is None:
                    continue
                meta = obj["metadata"]
                self.objects.setdefault(res.key, {})[(meta.get("namespace"), meta["name"])] = obj
                self.uids.add(meta.get("uid"))
                if res.key == ("apiextensions.k8s.io", "customresourcedefinitions"):
                    self._serve_crd(obj)
            self.rv = max(self.rv, int(state.get("resourceVersion") or 0))
            self.compacted_rv = self.rv

    def compact(self):
        """Forgets the event history and paging snapshots: every older
        resourceVersion and continue token is now 410 Expired."""
        with self.lock:
            self.history.clear()
            self.compacted_rv = self.rv
            self.snapshots.clear()
            return self.rv

    # --- reads ------------------------------------------------------------------

    def get(self, res, ns, name):
        with self.lock:
            obj = self.objects.get(res.key, {}).get((ns, name))
            if obj is None:
                raise not_found(res, name)
            return obj

    def list(self, res, ns, label_reqs, field_reqs, limit=0, cont=""):
        """(items, resourceVersion, continue token, remaining count)."""
        with self.lock:
            if cont:
                snap_id, offset, list_rv = _decode_continue(cont)
                snap = self.snapshots.get(snap_id)
                if snap is not None and snap[0] != (res.key, ns):
                    raise ApiError(400, "BadRequest", "the continue token is for another list")
                if snap is None or list_rv < self.compacted_rv:
                    raise gone("The provided continue parameter is too old to display a consistent "
                               "list result. You can start a new list without the continue "
                               "parameter.")
                self.snapshots.move_to_end(snap_id)
                items = snap[1]
            else:
                list_rv = self.rv
                items = [o for o in sorted(self.objects.get(res.key, {}).values(), key=_sort_key)
                         if (ns is None or o["metadata"].get("namespace") == ns)
                         and selection.label_matches(label_reqs, o["metadata"].get("labels"))
                         and selection.field_matches(field_reqs, o)]
                offset = 0
                snap_id = None
            if not limit or offset + limit >= len(items):
                return items[offset:], list_rv, "", None
            if snap_id is None:
                snap_id = uuid.uuid4().hex
                self.snapshots[snap_id] = ((res.key, ns), items)
                while len(self.snapshots) > self.snapshots_max:
                    self.snapshots.popitem(last=False)
            token = _encode_continue(snap_id, offset + limit, list_rv)
            return items[offset:offset + limit], list_rv, token, len(items) - offset - limit

    def all_objects(self):
        with self.lock:
            return [(k, o) for k, objs in self.objects.items() for o in objs.values()]

    # --- writes ---------------------------------------------------------------

    def create(self, res, ns, body):
        with self.lock:
            obj = copy.deepcopy(body)
            meta = obj.setdefault("metadata", {})
            if not isinstance(meta, dict):
                raise ApiError(400, "BadRequest", "metadata must be an object")
            if res.namespaced:
                if meta.get("namespace") not in (None, "", ns):
                    raise ApiError(400, "BadRequest",
                                   "the namespace of the provided object does not match the "
                                   "namespace sent on the request")
                meta["namespace"] = ns
                if (None, ns) not in self.objects.get(("", "namespaces"), {}):
                    raise ApiError(404, "NotFound", 'namespaces "%s" not found' % ns,
                                   {"name": ns, "kind": "namespaces"})
            else:
                meta.pop("namespace", None)
            if not meta.get("name"):
                if meta.get("generateName"):
                    meta["name"] = meta["generateName"] + "".join(
                        random.choice(string.ascii_lowercase + string.digits) for _ in range(5))
                else:
                    raise ApiError(422, "Invalid", "%s.%s \"\" is invalid: metadata.name: Required "
                                   "value: name or generateName is required"
                                   % (res.kind, res.group), {"kind": res.kind, "group": res.group})
            name = meta["name"]
            key = (meta.get("namespace"), name)
            if key in self.objects.get(res.key, {}):
                raise ApiError(409, "AlreadyExists", '%s "%s" already exists' % (qualified(res), name),
                               {"name": name, "group": res.group, "kind": res.plural})
            if res.key == ("apiextensions.k8s.io", "customresourcedefinitions"):
                reason = resources.validate_crd(obj)
                if reason:
                    raise ApiError(422, "Invalid", 'CustomResourceDefinition.apiextensions.k8s.io '
                                   '"%s" is invalid: %s' % (name, reason))
                _crd_status(obj)
            if res.schema:
                resources.apply_defaults(obj, res.schema)
            obj["apiVersion"], obj["kind"] = res.api_version, res.kind
            for f in ("resourceVersion", "deletionTimestamp", "selfLink"):
                meta.pop(f, None)
            meta["uid"] = str(uuid.uuid4())
            meta["creationTimestamp"] = now_rfc3339()
            if _tracks_generation(res):
                meta["generation"] = 1
            if res.key == ("", "namespaces"):
                obj.setdefault("status", {})["phase"] = "Active"
            self._workload_status(res, obj)
            meta["resourceVersion"] = str(self._bump())
            self.objects.setdefault(res.key, {})[key] = obj
            self.uids.add(meta["uid"])
            if res.key == ("apiextensions.k8s.io", "customresourcedefinitions"):
                self._serve_crd(obj)
            self._emit(res, "ADDED", None, obj)
            return obj

    def update(self, res, ns, name, body, subresource=""):
        """PUT semantics: a stale metadata.resourceVersion is 409 Conflict.
        The main resource keeps the stored status when the kind has a status
        subresource; /status changes the status only."""
        with self.lock:
            old = self.get(res, ns, name)
            meta = body.get("metadata") if isinstance(body.get("metadata"), dict) else {}
            if meta.get("name") not in (None, name):
                raise ApiError(400, "BadRequest", "the name of the object (%s) does not match the "
                               "name on the URL (%s)" % (meta.get("name"), name))
            want_rv = meta.get("resourceVersion")
            if want_rv not in (None, "") and want_rv != old["metadata"]["resourceVersion"]:
                raise conflict(res, name)
            if subresource == "status":
                new = copy.deepcopy(old)
                if "status" in body:
                    new["status"] = copy.deepcopy(body["status"])
                else:
                    new.pop("status", None)
            else:
                new = copy.deepcopy(body)
                new_meta = new.setdefault("metadata", {})
                for f in UNCHANGEABLE:
                    if f in old["metadata"]:
                        new_meta[f] = old["metadata"][f]
                    else:
                        new_meta.pop(f, None)
                if res.status:
                    if "status" in old:
                        new["status"] = copy.deepcopy(old["status"])
                    else:
                        new.pop("status", None)
                if res.schema:
                    resources.apply_defaults(new, res.schema)
            return self._replace(res, old, new)

    def _replace(self, res, old, new):
        new["apiVersion"], new["kind"] = res.api_version, res.kind
        meta = new["metadata"]
        if res.key == ("apiextensions.k8s.io", "customresourcedefinitions"):
            reason = resources.validate_crd(new)
            if reason:
                raise ApiError(422, "Invalid", 'CustomResourceDefinition.apiextensions.k8s.io '
                               '"%s" is invalid: %s' % (meta["name"], reason))
            _crd_status(new)
        if _tracks_generation(res) and _spec_part(old) != _spec_part(new):
            meta["generation"] = old["metadata"].get("generation", 1) + 1
        self._workload_status(res, new)
        meta["resourceVersion"] = old["metadata"]["resourceVersion"]
        if new == old:
            return old                       # no-op: no new resourceVersion, no event
        meta["resourceVersion"] = str(self._bump())
        self.objects[res.key][(meta.get("namespace"), meta["name"])] = new
        if res.key == ("apiextensions.k8s.io", "customresourcedefinitions"):
            self._serve_crd(new)
        self._emit(res, "MODIFIED", old, new)
        return new

    def delete(self, res, ns, name, preconditions=None, propagation="Background"):
        with self.lock:
            old = self.get(res, ns, name)
            pre = preconditions or {}
            if pre.get("uid") and pre["uid"] != old["metadata"]["uid"]:
                raise ApiError(409, "Conflict", "Precondition failed: UID in precondition: %s, "
                               "UID in object meta: %s" % (pre["uid"], old["metadata"]["uid"]))
            if pre.get("resourceVersion") and pre["resourceVersion"] != old["metadata"]["resourceVersion"]:
                raise conflict(res, name)
            gone_obj = self._remove(res, old)
            if propagation == "Orphan":
                self._orphan(old["metadata"]["uid"])
            else:
                self._collect_garbage()
            return gone_obj

    def _remove(self, res, obj):
        meta = obj["metadata"]
        if res.key == ("", "namespaces"):
            for rk, objs in list(self.objects.items()):
                for (ons, oname), o in list(objs.items()):
                    if ons == meta["name"]:
                        self._remove(self._res_for_key(rk), o)
        if res.key == ("apiextensions.k8s.io", "customresourcedefinitions"):
            self._unserve_crd(obj)
        del self.objects[res.key][(meta.get("namespace"), meta["name"])]
        self.uids.discard(meta["uid"])
        gone_obj = copy.deepcopy(obj)
        gone_obj["metadata"]["resourceVersion"] = str(self._bump())
        self._emit(res, "DELETED", obj, gone_obj)
        return gone_obj

    def _res_for_key(self, key):
        for r in self.resources.values():
            if r.key == key:
                return r
        return resources.Resource(key[0], "v1", key[1], key[1])

    def _collect_garbage(self):
        """Deletes every object whose owners are all gone (background
        propagation), until nothing more goes."""
        for _ in range(100):
            victims = []
            for rk, objs in self.objects.items():
                for o in objs.values():
                    refs = o["metadata"].get("ownerReferences") or []
                    if refs and not any(r.get("uid") in self.uids for r in refs):
                        victims.append((rk, o))
            if not victims:
                return
            for rk, o in victims:
                if (o["metadata"].get("namespace"), o["metadata"]["name"]) in self.objects.get(rk, {}):
                    self._remove(self._res_for_key(rk), o)

    def _orphan(self, uid):
        for rk, objs in list(self.objects.items()):
            for o in list(objs.values()):
                refs = o["metadata"].get("ownerReferences") or []
                if any(r.get("uid") == uid for r in refs):
                    new = copy.deepcopy(o)
                    new["metadata"]["ownerReferences"] = [r for r in refs if r.get("uid") != uid]
                    if not new["metadata"]["ownerReferences"]:
                        del new["metadata"]["ownerReferences"]
                    self._replace(self._res_for_key(rk), o, new)

    # --- scale subresource ---------------------------------------------------

    def get_scale(self, res, ns, name):
        obj = self.get(res, ns, name)
        return scale_of(res, obj)

    def update_scale(self, res, ns, name, scale):
        with self.lock:
            old = self.get(res, ns, name)
            want_rv = (scale.get("metadata") or {}).get("resourceVersion")
            if want_rv not in (None, "") and want_rv != old["metadata"]["resourceVersion"]:
                raise conflict(res, name)
            replicas = (scale.get("spec") or {}).get("replicas", 0)
            if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
                raise ApiError(422, "Invalid", 'Scale.autoscaling "%s" is invalid: spec.replicas: '
                               'Invalid value: must be a non-negative integer' % name)
            new = copy.deepcopy(old)
            selection.json_path_set(new, res.scale["spec"], replicas)
            return scale_of(res, self._replace(res, old, new))

    def _workload_status(self, res, obj):
        """Deployments, StatefulSets and ReplicaSets: status follows spec at
        once, as if their controller converged instantly (no pods are made)."""
        if not self.workload_status or res.key not in WORKLOADS:
            return
        spec = obj.get("spec") or {}
        n = spec.get("replicas", 1)
        st = obj.setdefault("status", {})
        st.update({"replicas": n, "readyReplicas": n, "availableReplicas": n,
                   "updatedReplicas": n,
                   "observedGeneration": obj["metadata"].get("generation", 1)})
        if res.plural == "statefulsets":
            st["currentReplicas"] = n


def scale_of(res, obj):
    meta = obj["metadata"]
    if res.scale.get("selector") is None:
        sel = selection.selector_string((obj.get("spec") or {}).get("selector"))
    else:
        sel = selection.json_path_get(obj, res.scale["selector"]) or ""
    spec_n = selection.json_path_get(obj, res.scale["spec"])
    status_n = selection.json_path_get(obj, res.scale["status"])
    scale = {"kind": "Scale", "apiVersion": "autoscaling/v1",
             "metadata": {k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion",
                                                  "creationTimestamp") if k in meta},
             "spec": {"replicas": spec_n if isinstance(spec_n, int) else 0},
             "status": {"replicas": status_n if isinstance(status_n, int) else 0}}
    if sel:
        scale["status"]["selector"] = sel
    return scale


def _tracks_generation(res):
    return res.status or res.crd is not None


def _spec_part(obj):
    return {k: v for k, v in obj.items() if k not in ("metadata", "status", "apiVersion", "kind")}


def _crd_status(crd):
    names = (crd.get("spec") or {}).get("names") or {}
    t = now_rfc3339()
    crd["status"] = {
        "acceptedNames": copy.deepcopy(names),
        "storedVersions": [v.get("name") for v in crd["spec"].get("versions") or []
                           if v.get("storage")],
        "conditions": [
            {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts",
             "message": "no conflicts found", "lastTransitionTime": t},
            {"type": "Established", "status": "True", "reason": "InitialNamesAccepted",
             "message": "the initial names have been accepted", "lastTransitionTime": t}]}


def _sort_key(obj):
    meta = obj["metadata"]
    return (meta.get("namespace") or "", meta["name"])


def _parse_rv(rv):
    try:
        n = int(rv)
        if n < 0:
            raise ValueError
        return n
    except ValueError:
        raise ApiError(400, "BadRequest", "invalid resource version: %r" % rv)


def _encode_continue(snap_id, offset, rv):
    raw = json.dumps({"v": "meta.k8s.io/v1", "rv": rv, "id": snap_id, "start": offset})
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_continue(token):
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        d = json.loads(raw)
        return d["id"], int(d["start"]), int(d["rv"])
    except (ValueError, KeyError, TypeError):
        raise ApiError(400, "BadRequest", "continue key is not valid")
