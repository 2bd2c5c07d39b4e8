"""Patches: JSON merge patch (RFC 7386), a subset of strategic merge patch,
and JSON patch (RFC 6902).

Strategic merge patch here: maps merge like merge patch; a list of objects
merges item by item on a merge key when the field is one of the known keyed
lists (containers, env, ports, volumes, ... see MERGE_KEYS) and every item
has that key; every other list is replaced. Directives: `$patch: delete` on
a list item, `$patch: replace` on a map, and `$setElementOrder/<field>` /
`$retainKeys` (accepted, order taken from the patch list) are understood;
`$deleteFromPrimitiveList/<field>` removes values. That covers what
`kubectl apply` and `kubectl patch` send for the kinds this server stores.
"""

import copy


class PatchError(ValueError):
    pass


def merge_patch(target, patch):
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


MERGE_KEYS = {
    "containers": "name", "initContainers": "name", "ephemeralContainers": "name",
    "env": "name", "volumes": "name", "volumeMounts": "mountPath",
    "imagePullSecrets": "name", "conditions": "type", "ownerReferences": "uid",
    "ports": ("containerPort", "port"), "hostAliases": "ip", "volumeDevices": "devicePath",
}


def _merge_key(field, items):
    keys = MERGE_KEYS.get(field)
    if keys is None:
        return None
    for key in (keys if isinstance(keys, tuple) else (keys,)):
        if all(isinstance(i, dict) and key in i for i in items):
            return key
    return None


def strategic_merge_patch(target, patch):
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if patch.get("$patch") == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    if patch.get("$patch") == "delete":
        return None
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if key in ("$patch", "$retainKeys") or key.startswith("$setElementOrder/"):
            continue
        if key.startswith("$deleteFromPrimitiveList/"):
            field = key.split("/", 1)[1]
            if isinstance(result.get(field), list):
                result[field] = [v for v in result[field] if v not in (value or [])]
            continue
        if value is None:
            result.pop(key, None)
        elif isinstance(value, list) and isinstance(result.get(key), list):
            result[key] = _merge_list(key, result[key], value)
        elif isinstance(value, dict):
            merged = strategic_merge_patch(result.get(key), value)
            if merged is None:
                result.pop(key, None)
            else:
                result[key] = merged
        else:
            result[key] = copy.deepcopy(value)
    return result


def _merge_list(field, current, patch):
    mkey = _merge_key(field, current + [p for p in patch if not _is_delete(p)])
    if mkey is None:
        return [copy.deepcopy(p) for p in patch if not _is_delete(p)]
    out = [copy.deepcopy(c) for c in current]
    for item in patch:
        idx = next((i for i, c in enumerate(out) if c.get(mkey) == item.get(mkey)), None)
        if _is_delete(item):
            if idx is not None:
                out.pop(idx)
        elif idx is None:
            out.append(strategic_merge_patch({}, item))
        else:
            out[idx] = strategic_merge_patch(out[idx], item)
    return out


def _is_delete(item):
    return isinstance(item, dict) and item.get("$patch") == "delete"


def _pointer(path):
    if path == "":
        return []
    if not path.startswith("/"):
        raise PatchError("JSON pointer must start with '/': %r" % path)
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _walk(doc, steps):
    cur = doc
    for s in steps:
        if isinstance(cur, list):
            cur = cur[int(s)]
        elif isinstance(cur, dict):
            cur = cur[s]
        else:
            raise KeyError(s)
    return cur


def json_patch(doc, ops):
    """RFC 6902; raises PatchError on a failed test or a missing path."""
    doc = copy.deepcopy(doc)
    if not isinstance(ops, list):
        raise PatchError("a JSON patch is a list of operations")
    for op in ops:
        try:
            kind, steps = op["op"], _pointer(op["path"])
            if kind in ("move", "copy"):
                src = _pointer(op["from"])
                value = copy.deepcopy(_walk(doc, src))
                if kind == "move":
                    doc = _remove(doc, src)
                doc = _add(doc, steps, value)
            elif kind == "add":
                doc = _add(doc, steps, copy.deepcopy(op["value"]))
            elif kind == "remove":
                doc = _remove(doc, steps)
            elif kind == "replace":
                _walk(doc, steps)
                doc = _add(_remove(doc, steps), steps, copy.deepcopy(op["value"]))
            elif kind == "test":
                if _walk(doc, steps) != op["value"]:
                    raise PatchError("test operation failed at %s" % op["path"])
            else:
                raise PatchError("unknown JSON patch operation %r" % kind)
        except (KeyError, IndexError, ValueError, TypeError) as e:
            if isinstance(e, PatchError):
                raise
            raise PatchError("cannot apply %r: %s" % (op, e))
    return doc


def _add(doc, steps, value):
    if not steps:
        return value
    parent = _walk(doc, steps[:-1])
    last = steps[-1]
    if isinstance(parent, list):
        parent.insert(len(parent) if last == "-" else int(last), value)
    else:
        parent[last] = value
    return doc


def _remove(doc, steps):
    parent = _walk(doc, steps[:-1])
    last = steps[-1]
    if isinstance(parent, list):
        parent.pop(int(last))
    else:
        del parent[last]
    return doc
