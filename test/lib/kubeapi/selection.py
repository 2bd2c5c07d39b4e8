"""Label selectors, field selectors and the JSONPath subset of the test apiserver.

Label selector syntax (as kubectl and client-go write it):
    key=value  key==value  key!=value  key in (a,b)  key notin (a,b)  key  !key
joined by commas. Field selectors: metadata.name and metadata.namespace with
=, == and != (other fields are refused with 400, as the real server refuses
field labels it does not index).
"""

import re


class SelectorError(ValueError):
    pass


_SET_RE = re.compile(r"^\s*([A-Za-z0-9_./-]+)\s+(in|notin)\s+\(([^)]*)\)\s*$")


def _split_top(expr):
    """Splits on commas outside parentheses."""
    parts, depth, cur = [], 0, []
    for ch in expr:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return [p.strip() for p in parts if p.strip()]


def parse_label_selector(expr):
    """Returns a list of (key, op, values) requirements; raises SelectorError."""
    reqs = []
    if not expr:
        return reqs
    for part in _split_top(expr):
        m = _SET_RE.match(part)
        if m:
            values = [v.strip() for v in m.group(3).split(",") if v.strip()]
            reqs.append((m.group(1), m.group(2), values))
            continue
        for op in ("!=", "==", "="):
            if op in part:
                key, value = part.split(op, 1)
                key, value = key.strip(), value.strip()
                if not key:
                    raise SelectorError("invalid label selector: %r" % part)
                reqs.append((key, "!=" if op == "!=" else "=", [value]))
                break
        else:
            if part.startswith("!"):
                reqs.append((part[1:].strip(), "!exists", []))
            elif re.match(r"^[A-Za-z0-9_./-]+$", part):
                reqs.append((part, "exists", []))
            else:
                raise SelectorError("unable to parse requirement: %r" % part)
    return reqs


def label_matches(reqs, labels):
    labels = labels or {}
    for key, op, values in reqs:
        present = key in labels
        value = labels.get(key)
        if op == "=" and (not present or value != values[0]):
            return False
        if op == "!=" and present and value == values[0]:
            return False
        if op == "in" and (not present or value not in values):
            return False
        if op == "notin" and present and value in values:
            return False
        if op == "exists" and not present:
            return False
        if op == "!exists" and present:
            return False
    return True


FIELDS = ("metadata.name", "metadata.namespace")
# The extra field labels the real server indexes for some kinds (group, plural).
EXTRA_FIELDS = {
    ("", "pods"): ("spec.nodeName", "spec.serviceAccountName", "status.phase", "status.podIP"),
    ("", "events"): ("involvedObject.kind", "involvedObject.namespace", "involvedObject.name",
                     "involvedObject.uid", "involvedObject.apiVersion",
                     "involvedObject.resourceVersion", "involvedObject.fieldPath", "reason",
                     "reportingComponent", "source", "type"),
    ("events.k8s.io", "events"): ("regarding.kind", "regarding.namespace", "regarding.name",
                                  "regarding.uid", "regarding.apiVersion", "reason", "type",
                                  "reportingController"),
    ("", "secrets"): ("type",),
    ("", "namespaces"): ("status.phase",),
}


def parse_field_selector(expr, resource_key=None):
    allowed = FIELDS + EXTRA_FIELDS.get(resource_key, ())
    reqs = []
    if not expr:
        return reqs
    for part in _split_top(expr):
        for op in ("!=", "==", "="):
            if op in part:
                key, value = part.split(op, 1)
                key = key.strip()
                if key not in allowed:
                    raise SelectorError('field label not supported: %s' % key)
                reqs.append((key, "!=" if op == "!=" else "=", value.strip()))
                break
        else:
            raise SelectorError("invalid field selector: %r" % part)
    return reqs


def field_matches(reqs, obj):
    for key, op, value in reqs:
        got = obj
        for step in key.split("."):
            got = got.get(step) if isinstance(got, dict) else None
        if key == "source" and isinstance(got, dict):       # events: source.component
            got = got.get("component")
        got = "" if got is None else str(got)
        if (got == value) != (op == "="):
            return False
    return True


def selector_string(selector):
    """A metav1.LabelSelector as the string form (Scale's status.selector)."""
    if not isinstance(selector, dict):
        return ""
    parts = ["%s=%s" % (k, v) for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for e in selector.get("matchExpressions") or []:
        op = e.get("operator")
        vals = ",".join(e.get("values") or [])
        if op == "In":
            parts.append("%s in (%s)" % (e.get("key"), vals))
        elif op == "NotIn":
            parts.append("%s notin (%s)" % (e.get("key"), vals))
        elif op == "Exists":
            parts.append(e.get("key"))
        elif op == "DoesNotExist":
            parts.append("!" + e.get("key"))
    return ",".join(parts)


_PATH_TOKEN = re.compile(r"\.([A-Za-z0-9_$-]+)|\[(\d+)\]|\['([^']*)'\]")


def parse_json_path(path):
    """The JSONPath subset of additionalPrinterColumns and scale paths:
    .a.b, [N] indices and ['key'] fields. Raises SelectorError otherwise."""
    path = path.strip()
    if path.startswith("{") and path.endswith("}"):
        path = path[1:-1]
    if path.startswith("$"):
        path = path[1:]
    steps, pos = [], 0
    while pos < len(path):
        m = _PATH_TOKEN.match(path, pos)
        if not m:
            raise SelectorError("unsupported JSONPath: %r" % path)
        if m.group(1) is not None:
            steps.append(m.group(1))
        elif m.group(2) is not None:
            steps.append(int(m.group(2)))
        else:
            steps.append(m.group(3))
        pos = m.end()
    return steps


def json_path_get(obj, path):
    """The value at path, or None when any step is missing."""
    cur = obj
    for step in parse_json_path(path):
        if isinstance(step, int):
            if not isinstance(cur, list) or step >= len(cur):
                return None
            cur = cur[step]
        else:
            if not isinstance(cur, dict) or step not in cur:
                return None
            cur = cur[step]
    return cur


def json_path_set(obj, path, value):
    """Sets a field path (no indices), creating objects on the way."""
    steps = parse_json_path(path)
    cur = obj
    for step in steps[:-1]:
        if isinstance(step, int):
            raise SelectorError("cannot set through an index: %r" % path)
        nxt = cur.get(step)
        if not isinstance(nxt, dict):
            nxt = {}
            cur[step] = nxt
        cur = nxt
    cur[steps[-1]] = value
