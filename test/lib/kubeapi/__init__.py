"""kubeapi: the pieces of the test apiserver (test/lib/kube_apiserver.py)."""
