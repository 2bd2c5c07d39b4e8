"""Unit tests of the test apiserver's pieces (run by test_kubeapi.sh):
python3 -m unittest discover -s test/lib/kubeapi -t test/lib"""

import datetime
import unittest

from kubeapi import patch, resources, selection, store


class Selectors(unittest.TestCase):
    def test_label_operators(self):
        reqs = selection.parse_label_selector("a=b,c!=d,e in (x, y),f notin (z),g,!h")
        self.assertTrue(selection.label_matches(reqs, {"a": "b", "e": "y", "g": ""}))
        for labels in ({"a": "c", "e": "y", "g": ""}, {"a": "b", "c": "d", "e": "y", "g": ""},
                       {"a": "b", "e": "w", "g": ""}, {"a": "b", "e": "y", "g": "", "f": "z"},
                       {"a": "b", "e": "y"}, {"a": "b", "e": "y", "g": "", "h": "1"}):
            self.assertFalse(selection.label_matches(reqs, labels), labels)

    def test_bad_selectors(self):
        for bad in ("a in (", "=b", "a b"):
            with self.assertRaises(selection.SelectorError):
                selection.parse_label_selector(bad)
        with self.assertRaises(selection.SelectorError):
            selection.parse_field_selector("spec.nodeName=x")

    def test_field_selectors_per_kind(self):
        ev = {"metadata": {"name": "e1", "namespace": "default"},
              "involvedObject": {"kind": "Pod", "name": "p"}, "source": {"component": "x"}}
        reqs = selection.parse_field_selector("involvedObject.name=p,source=x,metadata.name!=e2",
                                              ("", "events"))
        self.assertTrue(selection.field_matches(reqs, ev))
        reqs = selection.parse_field_selector("involvedObject.kind==Node", ("", "events"))
        self.assertFalse(selection.field_matches(reqs, ev))
        with self.assertRaises(selection.SelectorError):
            selection.parse_field_selector("involvedObject.name=p", ("", "configmaps"))

    def test_selector_string_and_paths(self):
        sel = {"matchLabels": {"b": "2", "a": "1"},
               "matchExpressions": [{"key": "t", "operator": "In", "values": ["x", "y"]},
                                    {"key": "u", "operator": "DoesNotExist"}]}
        self.assertEqual(selection.selector_string(sel), "a=1,b=2,t in (x,y),!u")
        obj = {"spec": {"m": [{"r": {"n": 5}}]}}
        self.assertEqual(selection.json_path_get(obj, ".spec.m[0].r.n"), 5)
        self.assertIsNone(selection.json_path_get(obj, ".spec.m[1].r.n"))
        selection.json_path_set(obj, ".spec.replicas", 3)
        self.assertEqual(obj["spec"]["replicas"], 3)


class Patches(unittest.TestCase):
    def test_merge_patch_removes_nulls(self):
        self.assertEqual(patch.merge_patch({"a": {"b": 1, "c": 2}, "l": [1]},
                                           {"a": {"b": None}, "l": [2]}),
                         {"a": {"c": 2}, "l": [2]})

    def test_strategic_merge_keyed_lists(self):
        cur = {"containers": [{"name": "a", "image": "1", "x": 1}, {"name": "b", "image": "1"}]}
        got = patch.strategic_merge_patch(cur, {
            "$setElementOrder/containers": [{"name": "a"}],
            "containers": [{"name": "a", "image": "2"}, {"name": "b", "$patch": "delete"}]})
        self.assertEqual(got, {"containers": [{"name": "a", "image": "2", "x": 1}]})
        self.assertEqual(patch.strategic_merge_patch({"args": [1, 2]}, {"args": [3]}), {"args": [3]})

    def test_json_patch(self):
        self.assertEqual(patch.json_patch({"a": [1]}, [{"op": "add", "path": "/a/-", "value": 2}]),
                         {"a": [1, 2]})
        with self.assertRaises(patch.PatchError):
            patch.json_patch({"a": 1}, [{"op": "test", "path": "/a", "value": 2}])
        with self.assertRaises(patch.PatchError):
            patch.json_patch({"a": 1}, [{"op": "remove", "path": "/b"}])


class Store(unittest.TestCase):
    def setUp(self):
        self.s = store.Store(history=5)
        self.ns = self.s.resource("", "v1", "namespaces")
        self.s.create(self.ns, None, {"metadata": {"name": "default"}})
        self.deploy = self.s.resource("apps", "v1", "deployments")
        self.pods = self.s.resource("", "v1", "pods")

    def mk(self, name, labels=None):
        return self.s.create(self.pods, "default", {"metadata": {"name": name,
                                                                 "labels": labels or {}}})

    def test_versions_conflicts_and_noops(self):
        p = self.mk("p")
        self.assertEqual(p["metadata"]["resourceVersion"], "2")
        with self.assertRaises(store.ApiError) as e:
            self.mk("p")
        self.assertEqual((e.exception.code, e.exception.reason), (409, "AlreadyExists"))
        same = self.s.update(self.pods, "default", "p", dict(p))
        self.assertIs(same, p)                       # nothing changed: no new version
        p2 = self.s.update(self.pods, "default", "p", {**p, "spec": {"x": 1}})
        self.assertEqual(p2["metadata"]["resourceVersion"], "3")
        with self.assertRaises(store.ApiError) as e:
            self.s.update(self.pods, "default", "p", {**p, "spec": {"x": 2}})
        self.assertEqual((e.exception.code, e.exception.reason), (409, "Conflict"))

    def test_generation_and_status(self):
        d = self.s.create(self.deploy, "default", {"metadata": {"name": "d"},
                                                   "spec": {"replicas": 2}})
        self.assertEqual((d["metadata"]["generation"], d["status"]["replicas"]), (1, 2))
        d = self.s.update(self.deploy, "default", "d", {**d, "status": {"replicas": 9}}, "status")
        self.assertEqual((d["metadata"]["generation"], d["status"]["replicas"]), (1, 2))
        scale = self.s.update_scale(self.deploy, "default", "d", {"spec": {"replicas": 4}})
        self.assertEqual(scale["spec"]["replicas"], 4)
        d = self.s.get(self.deploy, "default", "d")
        self.assertEqual((d["metadata"]["generation"], d["status"]["observedGeneration"]), (2, 2))

    def test_watch_history_and_selectors(self):
        self.mk("a", {"app": "x"})
        rv = self.s.rv
        self.mk("b", {"app": "x"})
        w = self.s.watch(self.pods, "default", selection.parse_label_selector("app=x"), [],
                         str(rv), "t")
        self.assertEqual(w.events.get_nowait()[0], "ADDED")
        a = self.s.get(self.pods, "default", "a")
        self.s.update(self.pods, "default", "a", {**a, "metadata": {**a["metadata"],
                                                                    "labels": {"app": "y"}}})
        etype, obj = w.events.get_nowait()
        self.assertEqual((etype, obj["metadata"]["name"]), ("DELETED", "a"))
        for i in range(6):
            self.mk("n%d" % i)
        with self.assertRaises(store.ApiError) as e:
            self.s.watch(self.pods, None, [], [], str(rv), "t")
        self.assertEqual(e.exception.code, 410)

    def test_concurrent_writers_ordered_events(self):
        import threading
        self.s.history_max = 10000
        w = self.s.watch(self.pods, None, [], [], str(self.s.rv), "t")
        late = []

        def writer(k):
            for i in range(50):
                self.mk("w%d-%d" % (k, i))
                if i == 25 and k == 0:
                    late.append(self.s.watch(self.pods, None, [], [], "0", "t"))
        threads = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        rvs = []
        while not w.events.empty():
            rvs.append(int(w.events.get_nowait()[1]["metadata"]["resourceVersion"]))
        self.assertEqual(len(rvs), 200)
        self.assertEqual(rvs, sorted(set(rvs)))
        names = set()                               # a watch started mid-way: nothing lost
        while not late[0].events.empty():
            names.add(late[0].events.get_nowait()[1]["metadata"]["name"])
        self.assertEqual(len(names), 200)

    def test_paging_is_a_snapshot(self):
        for n in "abc":
            self.mk(n)
        items, rv, token, left = self.s.list(self.pods, "default", [], [], limit=2)
        self.assertEqual(([o["metadata"]["name"] for o in items], left), (["a", "b"], 1))
        self.mk("aa")
        items, rv2, token2, left = self.s.list(self.pods, "default", [], [], 2, token)
        self.assertEqual(([o["metadata"]["name"] for o in items], rv2, token2), (["c"], rv, ""))
        self.s.compact()
        with self.assertRaises(store.ApiError) as e:
            self.s.list(self.pods, "default", [], [], 2, token)
        self.assertEqual(e.exception.code, 410)

    def test_garbage_collection(self):
        owner = self.mk("owner")
        ref = {"uid": owner["metadata"]["uid"], "controller": True, "kind": "Pod", "name": "owner"}
        self.s.create(self.pods, "default", {"metadata": {"name": "dep", "ownerReferences": [ref]}})
        other = self.mk("other")
        self.s.create(self.pods, "default", {"metadata": {"name": "kept", "ownerReferences": [
            ref, {"uid": other["metadata"]["uid"]}]}})
        self.s.delete(self.pods, "default", "owner")
        names = sorted(o["metadata"]["name"] for o in self.s.list(self.pods, None, [], [])[0])
        self.assertEqual(names, ["kept", "other"])   # an owner is still there

    def test_crd_serves_its_resource(self):
        crds = self.s.resource("apiextensions.k8s.io", "v1", "customresourcedefinitions")
        self.s.create(crds, None, {"metadata": {"name": "things.example.com"}, "spec": {
            "group": "example.com", "scope": "Namespaced",
            "names": {"plural": "things", "kind": "Thing"},
            "versions": [{"name": "v1", "served": True, "storage": True,
                          "subresources": {"status": {}, "scale": {
                              "specReplicasPath": ".spec.size", "statusReplicasPath": ".status.size",
                              "labelSelectorPath": ".status.selector"}},
                          "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                              "spec": {"type": "object", "properties": {
                                  "mode": {"type": "string", "default": "on"}}}}}}}]}})
        things = self.s.resource("example.com", "v1", "things")
        t = self.s.create(things, "default", {"metadata": {"name": "t"}, "spec": {}})
        self.assertEqual((t["kind"], t["spec"]["mode"]), ("Thing", "on"))
        self.s.update(things, "default", "t", {**t, "status": {"size": 1, "selector": "a=b"}},
                      "status")
        scale = self.s.update_scale(things, "default", "t", {"spec": {"replicas": 3}})
        self.assertEqual((scale["spec"], scale["status"]),
                         ({"replicas": 3}, {"replicas": 1, "selector": "a=b"}))
        self.assertEqual(self.s.get(things, "default", "t")["spec"]["size"], 3)
        self.s.delete(crds, None, "things.example.com")
        self.assertIsNone(self.s.resource("example.com", "v1", "things"))


class Tables(unittest.TestCase):
    def test_age(self):
        now = datetime.datetime(2026, 1, 2, 0, 0, 0, tzinfo=datetime.timezone.utc)
        for ts, want in (("2026-01-01T23:59:30Z", "30s"), ("2026-01-01T23:55:00Z", "5m"),
                         ("2026-01-01T21:00:00Z", "3h"), ("2025-12-30T00:00:00Z", "3d")):
            self.assertEqual(resources.human_age(ts, now), want)


if __name__ == "__main__":
    unittest.main()
