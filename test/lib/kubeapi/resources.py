"""What the test apiserver serves: resource definitions, CRD-backed ones,
discovery documents and server-side Table output."""

import copy
import datetime
import json

from . import selection


class Resource:
    """One served resource (group, version, plural)."""

    def __init__(self, group, version, plural, kind, namespaced=True, short_names=(),
                 status=False, scale=None, create_only=False, columns=None, crd=None,
                 schema=None, categories=()):
        self.group = group
        self.version = version
        self.plural = plural
        self.kind = kind
        self.singular = kind.lower()
        self.namespaced = namespaced
        self.short_names = list(short_names)
        self.status = status          # has a status subresource
        self.scale = scale            # dict(spec=, status=, selector=) paths, or None
        self.create_only = create_only
        self.columns = columns        # additionalPrinterColumns, or None for NAME/AGE
        self.crd = crd                # name of the CRD that serves it
        self.schema = schema          # openAPIV3Schema (CRDs; used for defaults)
        self.categories = list(categories)

    @property
    def api_version(self):
        return "%s/%s" % (self.group, self.version) if self.group else self.version

    @property
    def key(self):
        return (self.group, self.plural)

    def verbs(self):
        if self.create_only:
            return ["create"]
        return ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]

    def api_resources(self):
        """APIResource entries of /apis/<g>/<v> for this resource."""
        out = [{
            "name": self.plural, "singularName": self.singular, "namespaced": self.namespaced,
            "kind": self.kind, "verbs": self.verbs(),
        }]
        if self.short_names:
            out[0]["shortNames"] = self.short_names
        if self.categories:
            out[0]["categories"] = self.categories
        if self.status:
            out.append({"name": self.plural + "/status", "singularName": "",
                        "namespaced": self.namespaced, "kind": self.kind,
                        "verbs": ["get", "patch", "update"]})
        if self.scale:
            out.append({"name": self.plural + "/scale", "singularName": "",
                        "namespaced": self.namespaced, "group": "autoscaling", "version": "v1",
                        "kind": "Scale", "verbs": ["get", "patch", "update"]})
        return out

    def discovery_v2(self):
        """An APIResourceDiscovery (apidiscovery.k8s.io/v2) entry."""
        d = {
            "resource": self.plural, "singularResource": self.singular,
            "scope": "Namespaced" if self.namespaced else "Cluster",
            "responseKind": {"group": self.group, "version": self.version, "kind": self.kind},
            "verbs": self.verbs(),
        }
        if self.short_names:
            d["shortNames"] = self.short_names
        if self.categories:
            d["categories"] = self.categories
        subs = []
        if self.status:
            subs.append({"subresource": "status", "verbs": ["get", "patch", "update"],
                         "responseKind": {"group": self.group, "version": self.version,
                                          "kind": self.kind}})
        if self.scale:
            subs.append({"subresource": "scale", "verbs": ["get", "patch", "update"],
                         "responseKind": {"group": "autoscaling", "version": "v1",
                                          "kind": "Scale"}})
        if subs:
            d["subresources"] = subs
        return d


SCALE_PATHS = {"spec": ".spec.replicas", "status": ".status.replicas", "selector": None}


def builtin_resources():
    R = Resource
    return [
        R("", "v1", "namespaces", "Namespace", namespaced=False, short_names=["ns"], status=True),
        R("", "v1", "pods", "Pod", short_names=["po"], status=True, categories=["all"]),
        R("", "v1", "configmaps", "ConfigMap", short_names=["cm"]),
        R("", "v1", "secrets", "Secret"),
        R("", "v1", "events", "Event", short_names=["ev"]),
        R("", "v1", "serviceaccounts", "ServiceAccount", short_names=["sa"]),
        R("", "v1", "services", "Service", short_names=["svc"], status=True, categories=["all"]),
        R("", "v1", "endpoints", "Endpoints", short_names=["ep"]),
        R("", "v1", "nodes", "Node", namespaced=False, short_names=["no"], status=True),
        R("apps", "v1", "deployments", "Deployment", short_names=["deploy"], status=True,
          scale=dict(SCALE_PATHS), categories=["all"]),
        R("apps", "v1", "statefulsets", "StatefulSet", short_names=["sts"], status=True,
          scale=dict(SCALE_PATHS), categories=["all"]),
        R("apps", "v1", "replicasets", "ReplicaSet", short_names=["rs"], status=True,
          scale=dict(SCALE_PATHS), categories=["all"]),
        R("autoscaling", "v2", "horizontalpodautoscalers", "HorizontalPodAutoscaler",
          short_names=["hpa"], status=True, categories=["all"]),
        R("coordination.k8s.io", "v1", "leases", "Lease"),
        R("events.k8s.io", "v1", "events", "Event", short_names=["ev"]),
        R("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", short_names=["pdb"],
          status=True),
        R("apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition",
          namespaced=False, short_names=["crd", "crds"], status=True),
        R("apiregistration.k8s.io", "v1", "apiservices", "APIService", namespaced=False,
          status=True),
        R("authentication.k8s.io", "v1", "tokenreviews", "TokenReview", namespaced=False,
          create_only=True),
        R("authorization.k8s.io", "v1", "subjectaccessreviews", "SubjectAccessReview",
          namespaced=False, create_only=True),
        R("authorization.k8s.io", "v1", "selfsubjectaccessreviews", "SelfSubjectAccessReview",
          namespaced=False, create_only=True),
        R("rbac.authorization.k8s.io", "v1", "roles", "Role"),
        R("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding"),
        R("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", namespaced=False),
        R("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding",
          namespaced=False),
    ]


def crd_resources(crd):
    """The Resources a CustomResourceDefinition serves (one per served version)."""
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    out = []
    for v in spec.get("versions") or []:
        if not v.get("served", True):
            continue
        subs = v.get("subresources") or {}
        scale = None
        if "scale" in subs:
            s = subs["scale"] or {}
            scale = {"spec": s.get("specReplicasPath", ".spec.replicas"),
                     "status": s.get("statusReplicasPath", ".status.replicas"),
                     "selector": s.get("labelSelectorPath")}
        r = Resource(spec.get("group", ""), v.get("name", ""), names.get("plural", ""),
                     names.get("kind", ""), namespaced=spec.get("scope") != "Cluster",
                     short_names=names.get("shortNames") or [], status="status" in subs,
                     scale=scale, columns=v.get("additionalPrinterColumns"),
                     crd=(crd.get("metadata") or {}).get("name"),
                     schema=(v.get("schema") or {}).get("openAPIV3Schema"),
                     categories=names.get("categories") or [])
        if names.get("singular"):
            r.singular = names["singular"]
        out.append(r)
    return out


def validate_crd(crd):
    """A reason string when the CRD cannot be served, else None."""
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    for field in ("group",):
        if not spec.get(field):
            return "spec.%s: Required value" % field
    if not names.get("plural") or not names.get("kind"):
        return "spec.names.plural and spec.names.kind: Required value"
    expected = "%s.%s" % (names["plural"], spec["group"])
    if (crd.get("metadata") or {}).get("name") != expected:
        return 'metadata.name: Invalid value: must be spec.names.plural+"."+spec.group (%s)' % expected
    if not spec.get("versions"):
        return "spec.versions: Required value"
    if spec.get("scope") not in ("Namespaced", "Cluster"):
        return "spec.scope: Unsupported value: must be Namespaced or Cluster"
    for v in spec["versions"]:
        for c in v.get("additionalPrinterColumns") or []:
            try:
                selection.parse_json_path(c.get("jsonPath", ""))
            except selection.SelectorError as e:
                return "additionalPrinterColumns %s: %s" % (c.get("name"), e)
    return None


def apply_defaults(obj, schema):
    """Structural-schema defaulting: a missing property with a default gets
    it, wherever its parent object exists (as the apiextensions server does)."""
    if not isinstance(schema, dict):
        return
    if isinstance(obj, dict):
        for name, prop in (schema.get("properties") or {}).items():
            if name not in obj and isinstance(prop, dict) and "default" in prop:
                obj[name] = copy.deepcopy(prop["default"])
            if name in obj:
                apply_defaults(obj[name], prop)
    elif isinstance(obj, list) and isinstance(schema.get("items"), dict):
        for item in obj:
            apply_defaults(item, schema["items"])


# --- Table (meta.k8s.io/v1) -------------------------------------------------

def parse_time(text):
    try:
        return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(
            tzinfo=datetime.timezone.utc)
    except (TypeError, ValueError):
        return None


def human_age(text, now=None):
    """The age of an RFC 3339 timestamp as kubectl prints it (5s, 3m2s, 4h, 2d)."""
    t = parse_time(text)
    if t is None:
        return "<unknown>"
    now = now or datetime.datetime.now(datetime.timezone.utc)
    s = max(0, int((now - t).total_seconds()))
    if s < 120:
        return "%ds" % s
    m = s // 60
    if m < 10:
        return "%dm%ds" % (m, s % 60) if s % 60 else "%dm" % m
    if m < 180:
        return "%dm" % m
    h = m // 60
    if h < 8:
        return "%dh%dm" % (h, m % 60) if m % 60 else "%dh" % h
    if h < 48:
        return "%dh" % h
    d = h // 24
    if d < 8:
        return "%dd%dh" % (d, h % 24) if h % 24 else "%dd" % d
    return "%dd" % d if d < 365 * 2 else "%dy" % (d // 365)


def _get(obj, path, default=None):
    v = selection.json_path_get(obj, path)
    return default if v is None else v


def _ready(obj):
    return "%d/%d" % (_get(obj, ".status.readyReplicas", 0), _get(obj, ".spec.replicas", 1))


def _pod_ready(obj):
    statuses = _get(obj, ".status.containerStatuses", [])
    return "%d/%d" % (sum(1 for c in statuses if c.get("ready")),
                      len(_get(obj, ".spec.containers", [])))


def _hpa_targets(obj):
    out = []
    current = _get(obj, ".status.currentMetrics", [])
    for i, m in enumerate(_get(obj, ".spec.metrics", [])):
        kind = (m.get("type") or "").lower()
        target = (m.get(kind) or {}).get("target") or {}
        cur = ((current[i] if i < len(current) else {}).get(kind) or {}).get("current") or {}
        if target.get("type") == "Utilization":
            out.append("%s/%s%%" % ("%s%%" % cur["averageUtilization"]
                                    if "averageUtilization" in cur else "<unknown>",
                                    target.get("averageUtilization")))
        elif target.get("type") == "AverageValue":
            out.append("%s/%s (avg)" % (cur.get("averageValue", "<unknown>"),
                                        target.get("averageValue")))
        else:
            out.append("%s/%s" % (cur.get("value", "<unknown>"), target.get("value")))
    return ", ".join(out) or "<none>"


def _column(name, ctype, fn, description=""):
    return {"name": name, "type": ctype, "fn": fn, "description": description}


# Server-side columns of some built-ins, as kubectl users know them (the
# real server's printers compute more; these are the common columns).
BUILTIN_COLUMNS = {
    ("", "pods"): [
        _column("Ready", "string", _pod_ready),
        _column("Status", "string", lambda o: _get(o, ".status.phase", "Pending")),
        _column("Restarts", "integer", lambda o: sum(c.get("restartCount", 0) for c in
                                                     _get(o, ".status.containerStatuses", [])))],
    ("apps", "deployments"): [
        _column("Ready", "string", _ready),
        _column("Up-to-date", "integer", lambda o: _get(o, ".status.updatedReplicas", 0)),
        _column("Available", "integer", lambda o: _get(o, ".status.availableReplicas", 0))],
    ("apps", "statefulsets"): [_column("Ready", "string", _ready)],
    ("autoscaling", "horizontalpodautoscalers"): [
        _column("Reference", "string", lambda o: "%s/%s" % (_get(o, ".spec.scaleTargetRef.kind", ""),
                                                            _get(o, ".spec.scaleTargetRef.name", ""))),
        _column("Targets", "string", _hpa_targets),
        _column("MinPods", "integer", lambda o: _get(o, ".spec.minReplicas", 1)),
        _column("MaxPods", "integer", lambda o: _get(o, ".spec.maxReplicas")),
        _column("Replicas", "integer", lambda o: _get(o, ".status.currentReplicas", 0))],
}
AGE_COLUMN = {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp",
              "description": "CreationTimestamp of the object."}


def printer_columns(res):
    """The columns after Name: the CRD's, a built-in's, or Age alone."""
    if res.columns is not None:
        return res.columns
    return BUILTIN_COLUMNS.get(res.key, []) + [AGE_COLUMN]


def table_columns(res):
    cols = [{"name": "Name", "type": "string", "format": "name", "priority": 0,
             "description": "Name must be unique within a namespace."}]
    for c in printer_columns(res):
        cols.append({"name": c.get("name", ""), "type": c.get("type", "string"),
                     "format": c.get("format", ""), "priority": c.get("priority", 0),
                     "description": c.get("description", "")})
    return cols


def _cell(value, ctype):
    if value is None:
        return None
    if ctype == "date":
        return human_age(value)
    if ctype == "integer" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return int(value)
    if ctype in ("string",) and isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    return value


def table_row(res, obj, include):
    meta = obj.get("metadata") or {}
    cells = [meta.get("name", "")]
    for c in printer_columns(res):
        if "fn" in c:
            cells.append(c["fn"](obj))
        else:
            cells.append(_cell(selection.json_path_get(obj, c.get("jsonPath", "")),
                               c.get("type", "string")))
    row = {"cells": cells}
    if include == "Object":
        row["object"] = obj
    elif include != "None":
        row["object"] = {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                         "metadata": meta}
    return row


def table(res, objs, include, list_meta=None, with_columns=True):
    t = {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": list_meta or {},
         "columnDefinitions": table_columns(res) if with_columns else [],
         "rows": [table_row(res, o, include) for o in objs]}
    return t
