"""Who a client is, what a SubjectAccessReview answers, and the TLS files.

Authentication: a bearer token given with --token TOKEN=user:group1,group2,
or a client certificate signed by the serving CA (or --client-ca): user is
the CN, groups the O values. With neither --token nor --client-ca and no
credentials, every client is "admin" in system:masters (open mode).

Policy (--policy FILE, JSON): {"rules": [RULE, ...]}, first match decides.
A RULE matches a SubjectAccessReview spec when every field it has matches
("*" matches anything; absent means any):
    "user": "alice"          spec.user
    "group": "ops"           one of spec.groups
    "verbs": ["get","list"]  resourceAttributes.verb or nonResourceAttributes.verb
    "apiGroups": ["custom.metrics.k8s.io"]
    "resources": ["pods", "pods/gpu_utilization", "pods/*"]   (resource[/subresource])
    "namespaces": ["default"]
    "names": ["fib-gpu"]
    "nonResourceURLs": ["/metrics", "/openapi/*"]  (a trailing * is a prefix)
    "allow": true            false denies (status.denied true); default true
    "reason": "text"         status.reason
A rule with nonResourceURLs matches only non-resource reviews, and one
without matches only resource reviews. No match: allowed false, no opinion.
"""

import json
import os
import subprocess
import threading


class Auth:
    def __init__(self, tokens=(), policy=None):
        self.lock = threading.Lock()
        self.tokens = {}
        for spec in tokens:
            self.add_token_spec(spec)
        self.policy = policy or {"rules": []}
        self.open_mode = False

    def add_token_spec(self, spec):
        """TOKEN=user[:group1,group2]"""
        token, _, ident = spec.partition("=")
        if not token or not ident:
            raise ValueError("--token wants TOKEN=user:group1,group2, got %r" % spec)
        user, _, groups = ident.partition(":")
        self.set_token(token, user, [g for g in groups.split(",") if g])

    def set_token(self, token, user, groups):
        with self.lock:
            self.tokens[token] = {"username": user, "uid": "uid-" + user,
                                  "groups": list(groups) + ["system:authenticated"]}

    def remove_token(self, token):
        with self.lock:
            return self.tokens.pop(token, None) is not None

    def lookup_token(self, token):
        with self.lock:
            return self.tokens.get(token)

    def token_review(self, review):
        spec = review.get("spec") or {}
        user = self.lookup_token(spec.get("token") or "")
        out = {"kind": "TokenReview", "apiVersion": "authentication.k8s.io/v1",
               "metadata": {"creationTimestamp": None}, "spec": spec}
        if user:
            out["status"] = {"authenticated": True, "user": dict(user),
                             "audiences": spec.get("audiences") or []}
        else:
            out["status"] = {"authenticated": False, "error": "invalid bearer token",
                             "user": {}}
        return out

    def set_policy(self, policy):
        if not isinstance(policy, dict) or not isinstance(policy.get("rules"), list):
            raise ValueError('a policy is {"rules": [...]}')
        with self.lock:
            self.policy = policy

    def decide(self, spec):
        """(allowed, denied, reason) for a SubjectAccessReview spec."""
        with self.lock:
            rules = list(self.policy.get("rules") or [])
        for rule in rules:
            if _rule_matches(rule, spec):
                allow = rule.get("allow", True)
                return allow, not allow, rule.get("reason", "")
        return False, False, "no policy rule matched"

    def subject_access_review(self, review, kind="SubjectAccessReview", requester=None):
        spec = dict(review.get("spec") or {})
        if requester is not None:
            spec["user"], spec["groups"] = requester["username"], requester["groups"]
        allowed, denied, reason = self.decide(spec)
        status = {"allowed": allowed}
        if denied:
            status["denied"] = True
        if reason:
            status["reason"] = reason
        return {"kind": kind, "apiVersion": "authorization.k8s.io/v1",
                "metadata": {"creationTimestamp": None}, "spec": review.get("spec") or {},
                "status": status}


def _one(pattern, value):
    return pattern == "*" or pattern == value


def _any(patterns, value):
    return patterns is None or any(_one(p, value) for p in patterns)


def _rule_matches(rule, spec):
    if "user" in rule and not _one(rule["user"], spec.get("user", "")):
        return False
    if "group" in rule and not any(_one(rule["group"], g) for g in spec.get("groups") or []):
        return False
    ra, na = spec.get("resourceAttributes"), spec.get("nonResourceAttributes")
    if "nonResourceURLs" in rule:
        if not na:
            return False
        path = na.get("path", "")
        if not any(p == "*" or p == path or (p.endswith("*") and path.startswith(p[:-1]))
                   for p in rule["nonResourceURLs"]):
            return False
        return _any(rule.get("verbs"), na.get("verb", ""))
    if not ra:
        return False
    res = ra.get("resource", "")
    sub = ra.get("subresource", "")
    if rule.get("resources") is not None:
        wanted = [res + "/" + sub, res + "/*", "*"] if sub else [res, "*"]
        if not any(p in wanted for p in rule["resources"]):
            return False
    return (_any(rule.get("verbs"), ra.get("verb", ""))
            and _any(rule.get("apiGroups"), ra.get("group", ""))
            and _any(rule.get("namespaces"), ra.get("namespace", ""))
            and _any(rule.get("names"), ra.get("name", "")))


def load_policy(path):
    with open(path) as f:
        policy = json.load(f)
    if not isinstance(policy, dict) or not isinstance(policy.get("rules"), list):
        raise ValueError('%s: a policy is {"rules": [...]}' % path)
    return policy


def _openssl(*args):
    subprocess.run(("openssl",) + args, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.PIPE)


def ensure_tls(d):
    """Creates in directory d, when absent: ca.crt/ca.key (the CA), server.crt/
    server.key (127.0.0.1 and localhost) and admin.crt/admin.key (a client
    certificate for CN=admin, O=system:masters). Returns the paths."""
    os.makedirs(d, exist_ok=True)
    p = {n: os.path.join(d, n) for n in ("ca.crt", "ca.key", "server.crt", "server.key",
                                          "admin.crt", "admin.key")}
    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes")
    if not (os.path.exists(p["ca.crt"]) and os.path.exists(p["ca.key"])):
        _openssl("req", "-x509", *ec, "-days", "7", "-subj", "/CN=kube-apiserver-test-ca",
                 "-keyout", p["ca.key"], "-out", p["ca.crt"])
    for leaf, subj, ext in (
            ("server", "/CN=kube-apiserver",
             "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth"),
            ("admin", "/O=system:masters/CN=admin", "extendedKeyUsage=clientAuth")):
        crt, key = p[leaf + ".crt"], p[leaf + ".key"]
        if os.path.exists(crt) and os.path.exists(key):
            continue
        csr, extfile = os.path.join(d, leaf + ".csr"), os.path.join(d, leaf + ".ext")
        with open(extfile, "w") as f:
            f.write(ext + "\n")
        _openssl("req", "-new", *ec, "-subj", subj, "-keyout", key, "-out", csr)
        _openssl("x509", "-req", "-in", csr, "-CA", p["ca.crt"], "-CAkey", p["ca.key"],
                 "-CAcreateserial", "-days", "7", "-extfile", extfile, "-out", crt)
        os.remove(csr)
        os.remove(extfile)
    return p
